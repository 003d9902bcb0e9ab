// Through the tiled phase: B, which fits in half of L2 (64 x 64), is packed
// whole before the loops into contiguous panels of one column tile each
// ([2, 64, 32]); the rows go outside, so each row tile of A is read once
// for both column tiles. Each 8x32 tile's accumulator is a loop-carried
// vector across the k loop that starts from zero in registers (the
// result's zero fill fused into the tile), not memory traffic.
// RUN: kiln-opt %s --kiln-to-tiled | FileCheck %s
// After lowering, the tile is broadcast loads and fused multiply-adds.
// RUN: kiln-opt %s --kiln-to-llvm | FileCheck %s --check-prefix=LLVM

// CHECK-LABEL: func.func @main
// CHECK-NOT: linalg.fill
// CHECK: %[[ZERO:.*]] = arith.constant dense<0.000000e+00> : vector<8x32xf32>
// CHECK-NOT: linalg.fill
// CHECK: %[[PANELS:.*]] = linalg.transpose ins(%{{.*}} : tensor<64x2x32xf32>) outs(%{{.*}} : tensor<2x64x32xf32>) permutation = [1, 0, 2]
// CHECK: scf.for %{{.*}} = %c0 to %c32 step %c8
// CHECK:   scf.for %{{.*}} = %c0 to %c64 step %c32
// CHECK:     %[[PANEL:.*]] = tensor.extract_slice %[[PANELS]]
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

// A B bigger than that (K = 4100: 1 MiB) is packed one column tile at a
// time, the column loop outside, each panel then read by every row tile.
// (K is not a whole number of K blocks of 256, which tiling/k-blocks.mlir
// shows.)
// CHECK-LABEL: func.func @big_b
// CHECK: scf.for %{{.*}} = %c0 to %c64 step %c32
// CHECK:   linalg.copy ins(%{{.*}} : tensor<4100x32xf32>)
// CHECK:   scf.for %{{.*}} = %c0 to %c16 step %c8
func.func @big_b(%a: tensor<16x4100xf32>, %b: tensor<4100x64xf32>) -> tensor<16x64xf32> {
  %0 = nn.matmul %a, %b : (tensor<16x4100xf32>, tensor<4100x64xf32>) -> tensor<16x64xf32>
  return %0 : tensor<16x64xf32>
}
