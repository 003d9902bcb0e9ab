// nn.conv2d and its two gradient ops become one linalg.generic each in the
// direct form: the padded input's rows laid end to end ([N, G, C, Hp * Wp]),
// so each tap (kh, kw) is a shift kh * dh * Wp + kw * dw along the output
// positions q = i * Wp + j; the columns past Wo are cut off by a view. A
// stride above 1 splits input and kernel into stride x stride phases first
// (a stride-1 convolution then); the input gradient spreads the cotangent by
// the stride and convolves it with the weight's taps reversed.
// RUN: kiln-opt %s --kiln-lower-nn-to-linalg -split-input-file | FileCheck %s

// Padding [top 1, left 0, bottom 2, right 1] and one wrap row: 9 + 3 + 1 = 13
// rows of Wp = 9; dilations [3, 2]: tap (kh, kw) is q + 27 kh + 2 kw.
// CHECK-DAG: #[[X:.*]] = affine_map<(d0, d1, d2, d3, d4, d5, d6) -> (d0, d1, d4, d3 + d5 * 27 + d6 * 2)>
// CHECK-DAG: #[[W:.*]] = affine_map<(d0, d1, d2, d3, d4, d5, d6) -> (d1, d2, d4, d5, d6)>
// CHECK-DAG: #[[O:.*]] = affine_map<(d0, d1, d2, d3, d4, d5, d6) -> (d0, d1, d2, d3)>
// CHECK-LABEL: func @direct_form
// CHECK: tensor.insert_slice %arg0 into %{{.*}}[0, 0, 1, 0] [1, 4, 9, 8] [1, 1, 1, 1] : tensor<1x4x9x8xf32> into tensor<1x4x13x9xf32>
// CHECK: tensor.collapse_shape {{.*}} : tensor<1x2x2x13x9xf32> into tensor<1x2x2x117xf32>
// CHECK: linalg.generic {indexing_maps = [#[[X]], #[[W]], #[[O]]], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction", "reduction", "reduction"]}
// CHECK: } -> tensor<1x2x3x81xf32>
// CHECK: tensor.expand_shape {{.*}} : tensor<1x2x3x81xf32> into tensor<1x2x3x9x9xf32>
// CHECK: tensor.extract_slice {{.*}}[0, 0, 0, 0, 0] [1, 2, 3, 9, 5] [1, 1, 1, 1, 1]
// CHECK: tensor.collapse_shape {{.*}} : tensor<1x2x3x9x5xf32> into tensor<1x6x9x5xf32>
func.func @direct_form(%x: tensor<1x4x9x8xf32>, %w: tensor<6x2x2x3xf32>) -> tensor<1x6x9x5xf32> {
  %0 = nn.conv2d %x, %w strides [1, 1] padding [1, 0, 2, 1] dilations [3, 2] groups 2 : (tensor<1x4x9x8xf32>, tensor<6x2x2x3xf32>) -> tensor<1x6x9x5xf32>
  return %0 : tensor<1x6x9x5xf32>
}

// -----

// Stride 2: the input split into 2 x 2 phases of 6 x 5 (3 channels -> 12),
// the 3x3 kernel padded to 4x4 and split into 2x2 taps of 12 channels.
// CHECK-DAG: #[[XS:.*]] = affine_map<(d0, d1, d2, d3, d4, d5, d6) -> (d0, d1, d4, d3 + d5 * 5 + d6)>
// CHECK-LABEL: func @strided
// CHECK: linalg.transpose ins(%{{.*}} : tensor<1x3x6x2x5x2xf32>) outs(%{{.*}} : tensor<1x3x2x2x6x5xf32>) permutation = [0, 1, 3, 5, 2, 4]
// CHECK: tensor.insert_slice %arg1 into %{{.*}}[0, 0, 0, 0] [4, 3, 3, 3] [1, 1, 1, 1] : tensor<4x3x3x3xf32> into tensor<4x3x4x4xf32>
// CHECK: linalg.transpose ins(%{{.*}} : tensor<4x3x2x2x2x2xf32>)
// CHECK: tensor.collapse_shape {{.*}} : tensor<4x3x2x2x2x2xf32> into tensor<4x12x2x2xf32>
// CHECK: linalg.generic {indexing_maps = [#[[XS]],
// CHECK-SAME: ins(%{{.*}}, %{{.*}} : tensor<1x1x12x30xf32>, tensor<1x4x12x2x2xf32>)
func.func @strided(%x: tensor<1x3x9x9xf32>, %w: tensor<4x3x3x3xf32>) -> tensor<1x4x4x4xf32> {
  %0 = nn.conv2d %x, %w strides [2, 2] padding [0, 0, 0, 0] dilations [1, 1] groups 1 : (tensor<1x3x9x9xf32>, tensor<4x3x3x3xf32>) -> tensor<1x4x4x4xf32>
  return %0 : tensor<1x4x4x4xf32>
}

// -----

// The cotangent [1, 2, 3, 3] spread by stride 2 into [1, 2, 8, 7] (5 + 2
// rows and a wrap row), shifted by (KH - 1) - top = 1; the weight's taps
// reversed and its channels swapped by a generic of their own; then the
// stride-1 direct form reading both forward.
// CHECK-DAG: #[[FLIP:.*]] = affine_map<(d0, d1, d2, d3, d4) -> (d0, d2, d1, -d3 + 2, -d4 + 2)>
// CHECK-DAG: #[[GP:.*]] = affine_map<(d0, d1, d2, d3, d4, d5, d6) -> (d0, d1, d4, d3 + d5 * 7 + d6)>
// CHECK-LABEL: func @backward_input
// CHECK: tensor.insert_slice %arg0 into %{{.*}}[0, 0, 1, 1] [1, 2, 3, 3] [1, 1, 2, 2] : tensor<1x2x3x3xf32> into tensor<1x2x8x7xf32>
// CHECK: %[[W:.*]] = linalg.generic {indexing_maps = [#[[FLIP]],
// CHECK: } -> tensor<1x1x2x3x3xf32>
// CHECK: linalg.generic {indexing_maps = [#[[GP]], {{.*}}]{{.*}} ins(%{{.*}}, %[[W]] :
func.func @backward_input(%g: tensor<1x2x3x3xf32>, %w: tensor<2x1x3x3xf32>) -> tensor<1x1x5x5xf32> {
  %0 = nn.conv2d_backward_input %g, %w input_size [5, 5] strides [2, 2] padding [1, 1, 1, 1] dilations [1, 1] groups 1 : (tensor<1x2x3x3xf32>, tensor<2x1x3x3xf32>) -> tensor<1x1x5x5xf32>
  return %0 : tensor<1x1x5x5xf32>
}

// -----

// The weight gradient: the cotangent transposed to put the channels last,
// then laid out like the output (rows of Wp = 7, zeros past Wo = 5; the
// transpose writes straight into that buffer): [N, G, Ho * Wp, O]; loops
// (g, kh, kw, c, o | n, q); the result [G, KH, KW, C, O] transposed back.
// CHECK-DAG: #[[XW:.*]] = affine_map<(d0, d1, d2, d3, d4, d5, d6) -> (d5, d0, d3, d6 + d1 * 7 + d2)>
// CHECK-DAG: #[[G:.*]] = affine_map<(d0, d1, d2, d3, d4, d5, d6) -> (d5, d0, d6, d4)>
// CHECK-LABEL: func @backward_weight
// CHECK: linalg.transpose ins(%{{.*}} : tensor<1x1x2x5x5xf32>) outs(%{{.*}} : tensor<1x1x5x5x2xf32>) permutation = [0, 1, 3, 4, 2]
// CHECK: tensor.insert_slice %{{.*}} into %{{.*}}[0, 0, 0, 0, 0] [1, 1, 5, 5, 2] [1, 1, 1, 1, 1] : tensor<1x1x5x5x2xf32> into tensor<1x1x5x7x2xf32>
// CHECK: tensor.collapse_shape {{.*}} : tensor<1x1x5x7x2xf32> into tensor<1x1x35x2xf32>
// CHECK: linalg.generic {indexing_maps = [#[[XW]], #[[G]],
// CHECK: } -> tensor<1x3x3x1x2xf32>
// CHECK: linalg.transpose ins(%{{.*}} : tensor<1x3x3x1x2xf32>) outs(%{{.*}} : tensor<1x2x1x3x3xf32>) permutation = [0, 4, 3, 1, 2]
func.func @backward_weight(%x: tensor<1x1x5x5xf32>, %g: tensor<1x2x5x5xf32>) -> tensor<2x1x3x3xf32> {
  %0 = nn.conv2d_backward_weight %x, %g kernel_size [3, 3] strides [1, 1] padding [1, 1, 1, 1] dilations [1, 1] groups 1 : (tensor<1x1x5x5xf32>, tensor<1x2x5x5xf32>) -> tensor<2x1x3x3xf32>
  return %0 : tensor<2x1x3x3xf32>
}
