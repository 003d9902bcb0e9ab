// nn.max_pool2d's and nn.avg_pool2d's shape rule names the attribute and
// the sizes that disagree.
// RUN: kiln-opt %s -split-input-file -verify-diagnostics

func.func @pad_as_big_as_kernel(%x: tensor<1x1x6x6xf32>) -> tensor<1x1x4x3xf32> {
  // expected-error @+1 {{'nn.max_pool2d': each pad must be below the kernel [2, 2] on its axis (a window of padding alone has no element), got padding [0, 2, 0, 0]}}
  %0 = nn.max_pool2d %x kernel [2, 2] strides [2, 2] padding [0, 2, 0, 0] : tensor<1x1x6x6xf32> -> tensor<1x1x4x3xf32>
  return %0 : tensor<1x1x4x3xf32>
}

// -----

func.func @kernel_too_big(%x: tensor<1x1x3x3xf32>) -> tensor<1x1x1x1xf32> {
  // expected-error @+1 {{'nn.avg_pool2d': the dilated kernel [4, 4] does not fit the padded input [3, 3]}}
  %0 = nn.avg_pool2d %x kernel [4, 4] strides [1, 1] padding [0, 0, 0, 0] : tensor<1x1x3x3xf32> -> tensor<1x1x1x1xf32>
  return %0 : tensor<1x1x1x1xf32>
}

// -----

func.func @zero_kernel(%x: tensor<1x1x3x3xf32>) -> tensor<1x1x1x1xf32> {
  // expected-error @+1 {{'nn.max_pool2d': kernel must be 2 values of at least 1 ([KH, KW]), got [0, 2]}}
  %0 = nn.max_pool2d %x kernel [0, 2] strides [1, 1] padding [0, 0, 0, 0] : tensor<1x1x3x3xf32> -> tensor<1x1x1x1xf32>
  return %0 : tensor<1x1x1x1xf32>
}

// -----

func.func @backward_grad_mismatch(%x: tensor<1x1x6x6xf32>, %g: tensor<1x1x2x2xf32>) -> tensor<1x1x6x6xf32> {
  // expected-error @+1 {{'nn.max_pool2d_backward': x 1x1x6x6xf32 pools to 1x1x3x3xf32 but grad is 1x1x2x2xf32}}
  %0 = nn.max_pool2d_backward %x, %g kernel [2, 2] strides [2, 2] padding [0, 0, 0, 0] : (tensor<1x1x6x6xf32>, tensor<1x1x2x2xf32>) -> tensor<1x1x6x6xf32>
  return %0 : tensor<1x1x6x6xf32>
}
