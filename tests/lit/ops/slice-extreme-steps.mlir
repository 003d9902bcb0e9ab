// nn.slice with huge steps (INT64_MAX, -10^12): one element per axis, no
// overflow in the shape rule (a step of INT64_MAX once inferred a size of -1).
// RUN: kiln-opt %s | FileCheck %s

// CHECK-LABEL: func.func @extreme_steps
// CHECK: nn.slice {{.*}} : tensor<3x5xf32> -> tensor<1x1xf32>
// CHECK: nn.slice {{.*}} : tensor<3x5xf32> -> tensor<1x5xf32>
func.func @extreme_steps(%x: tensor<3x5xf32>) -> (tensor<1x1xf32>, tensor<1x5xf32>) {
  %0 = nn.slice %x[[0, 9223372036854775807] : [3, 0] : [9223372036854775807, -1000000000000]] : tensor<3x5xf32> -> tensor<1x1xf32>
  %1 = nn.slice %x[[0, 0] : [3, 5] : [9223372036854775807, 1]] : tensor<3x5xf32> -> tensor<1x5xf32>
  return %0, %1 : tensor<1x1xf32>, tensor<1x5xf32>
}
