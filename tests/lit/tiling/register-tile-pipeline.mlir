// Through the tiled phase: B is packed into a contiguous panel per column
// tile, and each 8x32 tile's accumulator is a loop-carried vector across
// the k loop that starts from zero in registers (the result's zero fill
// fused into the tile), not memory traffic.
// RUN: kiln-opt %s --kiln-to-tiled | FileCheck %s
// After lowering, the tile is broadcast loads and fused multiply-adds.
// RUN: kiln-opt %s --kiln-to-llvm | FileCheck %s --check-prefix=LLVM

// CHECK-LABEL: func.func @main
// CHECK-NOT: linalg.fill
// CHECK: %[[ZERO:.*]] = arith.constant dense<0.000000e+00> : vector<8x32xf32>
// CHECK-NOT: linalg.fill
// CHECK: scf.for %[[N:.*]] = %c0 to %c64 step %c32
// CHECK:   %[[PANEL:.*]] = linalg.copy ins(%{{.*}} : tensor<64x32xf32>)
// CHECK:   scf.for %{{.*}} = %c0 to %c32 step %c8
// CHECK-NOT:   vector.transfer_read {{.*}} : tensor<8x32xf32>, vector<8x32xf32>
// CHECK:     scf.for %{{.*}} = %c0 to %c64 step %c1 iter_args(%[[ACC:.*]] = %[[ZERO]]) -> (vector<8x32xf32>)
// CHECK:       tensor.extract_slice %[[PANEL]]
// CHECK:       arith.addf %[[ACC]], %{{.*}} : vector<8x32xf32>
// CHECK:       scf.yield
// CHECK:     vector.transfer_write {{.*}} : vector<8x32xf32>, tensor<8x32xf32>
// LLVM: llvm.intr.fmuladd
func.func @main(%a: tensor<32x64xf32>, %b: tensor<64x64xf32>) -> tensor<32x64xf32> {
  %0 = nn.matmul %a, %b : (tensor<32x64xf32>, tensor<64x64xf32>) -> tensor<32x64xf32>
  return %0 : tensor<32x64xf32>
}
