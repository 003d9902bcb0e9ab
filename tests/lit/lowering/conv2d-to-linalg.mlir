// nn.conv2d and its two gradient ops become one linalg.generic each over the
// grouped views ([N, G, C/G, H, W], [G, O/G, C/G, KH, KW]), windows read
// through the affine maps (i * stride + k * dilation), padding as zeros
// around a copy of the input; the input gradient spreads the cotangent by
// the stride (insert_slice with strides) and convolves it with the weight's
// taps reversed.
// RUN: kiln-opt %s --kiln-lower-nn-to-linalg -split-input-file | FileCheck %s

// CHECK-DAG: #[[X:.*]] = affine_map<(d0, d1, d2, d3, d4, d5, d6, d7) -> (d0, d1, d5, d3 * 2 + d6 * 3, d4 + d7)>
// CHECK-DAG: #[[W:.*]] = affine_map<(d0, d1, d2, d3, d4, d5, d6, d7) -> (d1, d2, d5, d6, d7)>
// CHECK-DAG: #[[O:.*]] = affine_map<(d0, d1, d2, d3, d4, d5, d6, d7) -> (d0, d1, d2, d3, d4)>
// CHECK-LABEL: func @conv2d
// CHECK: %[[PAD:.*]] = tensor.insert_slice %arg0 into %{{.*}}[0, 0, 1, 0] [1, 4, 9, 8] [1, 1, 1, 1] : tensor<1x4x9x8xf32> into tensor<1x4x12x9xf32>
// CHECK: tensor.expand_shape %[[PAD]] {{\[\[}}0], [1, 2], [3], [4]] output_shape [1, 2, 2, 12, 9]
// CHECK: tensor.expand_shape %arg1 {{\[\[}}0, 1], [2], [3], [4]] output_shape [2, 3, 2, 2, 2]
// CHECK: linalg.generic {indexing_maps = [#[[X]], #[[W]], #[[O]]], iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel", "reduction", "reduction", "reduction"]}
// CHECK:   arith.mulf
// CHECK:   arith.addf
// CHECK: tensor.collapse_shape {{.*}} : tensor<1x2x3x5x8xf32> into tensor<1x6x5x8xf32>
func.func @conv2d(%x: tensor<1x4x9x8xf32>, %w: tensor<6x2x2x2xf32>) -> tensor<1x6x5x8xf32> {
  %0 = nn.conv2d %x, %w strides [2, 1] padding [1, 0, 2, 1] dilations [3, 1] groups 2 : (tensor<1x4x9x8xf32>, tensor<6x2x2x2xf32>) -> tensor<1x6x5x8xf32>
  return %0 : tensor<1x6x5x8xf32>
}

// -----

// The cotangent [1, 2, 3, 3] spread by stride 2 into [1, 2, 7, 7] (5 + 2),
// shifted by (KH - 1) - top = 1; the weight's taps reversed by a generic of
// their own; then the stride-1 convolution reading both forward.
// CHECK-DAG: #[[FLIP:.*]] = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, -d3 + 2, -d4 + 2)>
// CHECK-DAG: #[[GP:.*]] = affine_map<(d0, d1, d2, d3, d4, d5, d6, d7) -> (d0, d1, d5, d3 + d6, d4 + d7)>
// CHECK-LABEL: func @backward_input
// CHECK: tensor.insert_slice %arg0 into %{{.*}}[0, 0, 1, 1] [1, 2, 3, 3] [1, 1, 2, 2] : tensor<1x2x3x3xf32> into tensor<1x2x7x7xf32>
// CHECK: %[[W:.*]] = linalg.generic {indexing_maps = [#[[FLIP]],
// CHECK: linalg.generic {indexing_maps = [#[[GP]], {{.*}}]{{.*}} ins(%{{.*}}, %[[W]] :
func.func @backward_input(%g: tensor<1x2x3x3xf32>, %w: tensor<2x1x3x3xf32>) -> tensor<1x1x5x5xf32> {
  %0 = nn.conv2d_backward_input %g, %w input_size [5, 5] strides [2, 2] padding [1, 1, 1, 1] dilations [1, 1] groups 1 : (tensor<1x2x3x3xf32>, tensor<2x1x3x3xf32>) -> tensor<1x1x5x5xf32>
  return %0 : tensor<1x1x5x5xf32>
}

// -----

// CHECK-DAG: #[[XW:.*]] = affine_map<(d0, d1, d2, d3, d4, d5, d6, d7) -> (d5, d0, d2, d6 * 2 + d3, d7 * 2 + d4)>
// CHECK-DAG: #[[G:.*]] = affine_map<(d0, d1, d2, d3, d4, d5, d6, d7) -> (d5, d0, d1, d6, d7)>
// CHECK-LABEL: func @backward_weight
// CHECK: linalg.generic {indexing_maps = [#[[XW]], #[[G]],
// CHECK: tensor.collapse_shape {{.*}} : tensor<1x2x1x3x3xf32> into tensor<2x1x3x3xf32>
func.func @backward_weight(%x: tensor<1x1x5x5xf32>, %g: tensor<1x2x3x3xf32>) -> tensor<2x1x3x3xf32> {
  %0 = nn.conv2d_backward_weight %x, %g kernel_size [3, 3] strides [2, 2] padding [1, 1, 1, 1] dilations [1, 1] groups 1 : (tensor<1x1x5x5xf32>, tensor<1x2x3x3xf32>) -> tensor<2x1x3x3xf32>
  return %0 : tensor<2x1x3x3xf32>
}
