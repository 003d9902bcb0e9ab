// The gradient of a projection [b, T, D] x [D, N] with respect to the
// weight is one product A^T g over K = b*T (not b products summed), and
// with respect to the input one product g W^T over b*T rows.
// RUN: kiln-opt %s "--kiln-differentiate=wrt=w" --canonicalize --cse | FileCheck %s

// CHECK-LABEL: func.func @main_grad
// CHECK:       %[[DW:.*]] = nn.matmul {{.*}} {transpose_a} : (tensor<12x6xf32>, tensor<12x5xf32>) -> tensor<6x5xf32>
// CHECK-NEXT:  return %{{.*}}, %[[DW]]
func.func @main(%x: tensor<4x3x6xf32> {nn.name = "x"}, %w: tensor<6x5xf32> {nn.name = "w"}) -> tensor<f32> {
  %y = nn.matmul %x, %w : (tensor<4x3x6xf32>, tensor<6x5xf32>) -> tensor<4x3x5xf32>
  %t = nn.tanh %y : tensor<4x3x5xf32>
  %l = nn.reduce_sum %t axes [0, 1, 2] : tensor<4x3x5xf32> -> tensor<f32>
  return %l : tensor<f32>
}
