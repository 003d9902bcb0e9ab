// A batched projection [4, 16, 24] x [24, 64] runs as one 64x64x24 matmul
// (its batch folded into M), and the bias + ReLU that read it back in the
// batched shape still become its epilogue: the consumer is collapsed to the
// matmul's shape instead of staying a second pass over memory.
// RUN: kiln-opt %s --kiln-to-tiled | FileCheck %s
// RUN: kiln-opt %s --kiln-to-fused --kiln-tile-matmul="explain=1" -o /dev/null 2>&1 | FileCheck %s --check-prefix=WHY

// WHY: remark: matmul kernel 64x64x24 {{.*}}; epilogue in registers: {{.*}}nn.relu
// CHECK-LABEL: func.func @main
// CHECK:       %[[ACC:.*]] = scf.for {{.*}} iter_args({{.*}}) -> (vector<8x32xf32>)
// CHECK:       arith.maximumf {{.*}} : vector<8x32xf32>
// CHECK-NOT:   linalg.generic
func.func @main(%x: tensor<4x16x24xf32>, %w: tensor<24x64xf32>, %b: tensor<64xf32>) -> tensor<4x16x64xf32> {
  %0 = nn.matmul %x, %w : (tensor<4x16x24xf32>, tensor<24x64xf32>) -> tensor<4x16x64xf32>
  %1 = nn.add %0, %b : (tensor<4x16x64xf32>, tensor<64xf32>) -> tensor<4x16x64xf32>
  %2 = nn.relu %1 : tensor<4x16x64xf32>
  return %2 : tensor<4x16x64xf32>
}
