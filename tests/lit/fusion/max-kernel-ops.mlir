// kiln-fuse-elementwise cuts a chain longer than max-kernel-ops into
// kernels of bounded size (compile time stays linear in the op count) and
// says why with explain=1.
// RUN: kiln-opt %s --kiln-lower-nn-to-linalg --kiln-fuse-elementwise="max-kernel-ops=4" | FileCheck %s
// RUN: kiln-opt %s --kiln-lower-nn-to-linalg --kiln-fuse-elementwise="max-kernel-ops=4 explain=1" -o /dev/null 2>&1 | FileCheck %s --check-prefix=WHY
// RUN: kiln-opt %s --kiln-lower-nn-to-linalg --kiln-fuse-elementwise | FileCheck %s --check-prefix=ONE

// Six tanh ops. Fusion pairs neighbours first; two pairs would make a body
// of five ops (four tanh and the yield), so three kernels of two.
// CHECK-LABEL: func.func @chain
// CHECK-COUNT-3: linalg.generic {{.*}} {
// CHECK-NEXT:      ^bb0
// CHECK-NEXT:        math.tanh
// CHECK-NEXT:        math.tanh
// CHECK-NEXT:        linalg.yield
// CHECK-NOT:     linalg.generic
// WHY: remark: not fused into its consumer: nn.tanh at {{.*}}max-kernel-ops.mlir:{{[0-9]+}}:8, nn.tanh at {{.*}}max-kernel-ops.mlir:{{[0-9]+}}:8 would make a kernel of more than 4 ops
// ONE-LABEL:   func.func @chain
// ONE-COUNT-1: linalg.generic
// ONE-NOT:     linalg.generic
func.func @chain(%x: tensor<16xf32>) -> tensor<16xf32> {
  %0 = nn.tanh %x : tensor<16xf32>
  %1 = nn.tanh %0 : tensor<16xf32>
  %2 = nn.tanh %1 : tensor<16xf32>
  %3 = nn.tanh %2 : tensor<16xf32>
  %4 = nn.tanh %3 : tensor<16xf32>
  %5 = nn.tanh %4 : tensor<16xf32>
  return %5 : tensor<16xf32>
}
