// sum(x * y) over the last axis is a contraction, but not a matrix
// product (x varies along what would be N): kiln-tile-matmul leaves it to
// the row kernels instead of running it as "M x N" register tiles over K
// (0.5 GFLOP/s: softmax's and layer norm's backward dot products).
// RUN: kiln-opt %s --kiln-to-fused --kiln-tile-matmul="explain=1" -o /dev/null 2>&1 | FileCheck %s --allow-empty
// CHECK-NOT: matmul kernel
func.func @main(%x: tensor<32x64x128xf32>, %y: tensor<32x64x128xf32>) -> tensor<32x64xf32> {
  %0 = nn.mul %x, %y : (tensor<32x64x128xf32>, tensor<32x64x128xf32>) -> tensor<32x64x128xf32>
  %1 = nn.reduce_sum %0 axes [2] : tensor<32x64x128xf32> -> tensor<32x64xf32>
  return %1 : tensor<32x64xf32>
}
