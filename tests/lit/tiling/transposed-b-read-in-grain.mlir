// B stored [N, K] (transpose_b: the input gradient g W^T) is transposed
// once into [K, N] and the matmul reads that along its rows, so each
// register tile reads rows of B instead of 24 strided scalars per k.
// A stored [K, M] (transpose_a) is read as it is.
// RUN: kiln-opt %s --kiln-to-tiled | FileCheck %s
// RUN: kiln-opt %s --kiln-to-fused --kiln-tile-matmul="explain=1" -o /dev/null 2>&1 | FileCheck %s --check-prefix=WHY

// WHY: remark: matmul operand B transposed once into the register tile's grain (it was stored N x K)
// WHY-NOT: operand A transposed

// CHECK-LABEL: func.func @transposed_b
// CHECK:       linalg.transpose ins(%arg1 : tensor<24x40xf32>) outs({{.*}} : tensor<40x24xf32>) permutation = [1, 0]
// CHECK:       scf.for
// CHECK:         arith.mulf {{.*}} : vector<8x24x1xf32>
func.func @transposed_b(%g: tensor<64x40xf32>, %w: tensor<24x40xf32>) -> tensor<64x24xf32> {
  %0 = nn.matmul %g, %w {transpose_b} : (tensor<64x40xf32>, tensor<24x40xf32>) -> tensor<64x24xf32>
  return %0 : tensor<64x24xf32>
}

// CHECK-LABEL: func.func @transposed_a
// CHECK-NOT:   linalg.transpose
func.func @transposed_a(%a: tensor<40x64xf32>, %b: tensor<40x48xf32>) -> tensor<64x48xf32> {
  %0 = nn.matmul %a, %b {transpose_a} : (tensor<40x64xf32>, tensor<40x48xf32>) -> tensor<64x48xf32>
  return %0 : tensor<64x48xf32>
}
