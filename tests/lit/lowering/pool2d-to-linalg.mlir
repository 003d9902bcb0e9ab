// Pooling lowers to one window reduction: the padding -inf (max) or 0
// (average), a [KH, KW] window operand giving the kernel's loop sizes; the
// average then divides by a constant of per-window counts (positions inside
// x, without count_include_pad).
// RUN: kiln-opt %s --kiln-lower-nn-to-linalg -split-input-file | FileCheck %s

// CHECK-DAG: #[[X:.*]] = affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d1, d2 * 2 + d4, d3 * 2 + d5)>
// CHECK-DAG: #[[WIN:.*]] = affine_map<(d0, d1, d2, d3, d4, d5) -> (d4, d5)>
// CHECK-LABEL: func @max_pool
// CHECK: %[[NEG:.*]] = arith.constant 0xFF800000 : f32
// CHECK: linalg.fill ins(%[[NEG]] : f32) outs(%{{.*}} : tensor<1x1x6x6xf32>)
// CHECK: tensor.insert_slice %arg0 into %{{.*}}[0, 0, 1, 1] [1, 1, 5, 5] [1, 1, 1, 1]
// CHECK: %[[WINDOW:.*]] = tensor.empty() : tensor<3x3xf32>
// CHECK: linalg.generic {indexing_maps = [#[[X]], #[[WIN]], {{.*}}], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction", "reduction"]} ins(%{{.*}}, %[[WINDOW]] : tensor<1x1x6x6xf32>, tensor<3x3xf32>)
// CHECK:   arith.maximumf
func.func @max_pool(%x: tensor<1x1x5x5xf32>) -> tensor<1x1x2x2xf32> {
  %0 = nn.max_pool2d %x kernel [3, 3] strides [2, 2] padding [1, 1, 0, 0] : tensor<1x1x5x5xf32> -> tensor<1x1x2x2xf32>
  return %0 : tensor<1x1x2x2xf32>
}

// -----

// Windows of [3, 3] at stride 2 over 5 x 5 padded by 1 on top and left:
// the first row and column of windows hold 2 x 2, 2 x 3, 3 x 2 or 3 x 3
// positions of x.
// CHECK-LABEL: func @avg_pool_exclude_pad
// CHECK: arith.constant dense<{{\[\[}}4.000000e+00, 6.000000e+00], [6.000000e+00, 9.000000e+00]]> : tensor<2x2xf32>
// CHECK: arith.divf
func.func @avg_pool_exclude_pad(%x: tensor<1x1x5x5xf32>) -> tensor<1x1x2x2xf32> {
  %0 = nn.avg_pool2d %x kernel [3, 3] strides [2, 2] padding [1, 1, 0, 0] : tensor<1x1x5x5xf32> -> tensor<1x1x2x2xf32>
  return %0 : tensor<1x1x2x2xf32>
}
