// A 1x1 convolution of one image with one group and no padding is a matmul
// of the weight [O, C] with the pixels [1, C, Ho*Wo] (every stride-th pixel:
// a slice), so it takes the packed matmul tiles and matmul's gradients. A
// padded or grouped one, a batch, or a bigger kernel stays a convolution.
// RUN: kiln-opt %s --canonicalize -split-input-file | FileCheck %s

// CHECK-LABEL: func @pointwise_strided
// CHECK: %[[X:.*]] = nn.slice %arg0{{\[\[}}0, 0, 0, 0] : [1, 3, 7, 5] : [1, 1, 2, 3]] : tensor<1x3x7x5xf32> -> tensor<1x3x4x2xf32>
// CHECK-DAG: %[[W:.*]] = nn.reshape %arg1 : tensor<4x3x1x1xf32> -> tensor<4x3xf32>
// CHECK-DAG: %[[P:.*]] = nn.reshape %[[X]] : tensor<1x3x4x2xf32> -> tensor<3x8xf32>
// CHECK: %[[Y:.*]] = nn.matmul %[[W]], %[[P]] : (tensor<4x3xf32>, tensor<3x8xf32>) -> tensor<4x8xf32>
// CHECK: nn.reshape %[[Y]] : tensor<4x8xf32> -> tensor<1x4x4x2xf32>
// CHECK-NOT: nn.conv2d
func.func @pointwise_strided(%x: tensor<1x3x7x5xf32>, %w: tensor<4x3x1x1xf32>) -> tensor<1x4x4x2xf32> {
  %y = nn.conv2d %x, %w strides [2, 3] padding [0, 0, 0, 0] dilations [1, 1] groups 1 : (tensor<1x3x7x5xf32>, tensor<4x3x1x1xf32>) -> tensor<1x4x4x2xf32>
  return %y : tensor<1x4x4x2xf32>
}

// -----

// A batch shares the weight, not the pixels: it stays a convolution.
// CHECK-LABEL: func @pointwise_batch
// CHECK: nn.conv2d
// CHECK-NOT: nn.matmul
func.func @pointwise_batch(%x: tensor<2x3x7x5xf32>, %w: tensor<4x3x1x1xf32>) -> tensor<2x4x7x5xf32> {
  %y = nn.conv2d %x, %w strides [1, 1] padding [0, 0, 0, 0] dilations [1, 1] groups 1 : (tensor<2x3x7x5xf32>, tensor<4x3x1x1xf32>) -> tensor<2x4x7x5xf32>
  return %y : tensor<2x4x7x5xf32>
}

// -----

// CHECK-LABEL: func @pointwise_grouped_or_padded
// CHECK-COUNT-2: nn.conv2d
// CHECK-NOT: nn.matmul
func.func @pointwise_grouped_or_padded(%x: tensor<1x4x5x5xf32>, %w: tensor<4x2x1x1xf32>, %v: tensor<4x4x1x1xf32>) -> (tensor<1x4x5x5xf32>, tensor<1x4x6x5xf32>) {
  %a = nn.conv2d %x, %w strides [1, 1] padding [0, 0, 0, 0] dilations [1, 1] groups 2 : (tensor<1x4x5x5xf32>, tensor<4x2x1x1xf32>) -> tensor<1x4x5x5xf32>
  %b = nn.conv2d %x, %v strides [1, 1] padding [1, 0, 0, 0] dilations [1, 1] groups 1 : (tensor<1x4x5x5xf32>, tensor<4x4x1x1xf32>) -> tensor<1x4x6x5xf32>
  return %a, %b : tensor<1x4x5x5xf32>, tensor<1x4x6x5xf32>
}
