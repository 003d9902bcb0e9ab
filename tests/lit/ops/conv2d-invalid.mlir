// nn.conv2d's shape rule names the operand, the attribute and the sizes
// that disagree.
// RUN: kiln-opt %s -split-input-file -verify-diagnostics

func.func @channels_differ(%x: tensor<1x3x8x8xf32>, %w: tensor<4x2x3x3xf32>) -> tensor<1x4x6x6xf32> {
  // expected-error @+1 {{'nn.conv2d': w 4x2x3x3xf32 must have C / groups = 3 input channels (x 1x3x8x8xf32, groups 1), got 2}}
  %0 = nn.conv2d %x, %w strides [1, 1] padding [0, 0, 0, 0] dilations [1, 1] groups 1 : (tensor<1x3x8x8xf32>, tensor<4x2x3x3xf32>) -> tensor<1x4x6x6xf32>
  return %0 : tensor<1x4x6x6xf32>
}

// -----

func.func @groups_do_not_divide(%x: tensor<1x4x8x8xf32>, %w: tensor<3x2x3x3xf32>) -> tensor<1x3x6x6xf32> {
  // expected-error @+1 {{'nn.conv2d': groups = 2 must divide the input channels (4) and the output channels (3)}}
  %0 = nn.conv2d %x, %w strides [1, 1] padding [0, 0, 0, 0] dilations [1, 1] groups 2 : (tensor<1x4x8x8xf32>, tensor<3x2x3x3xf32>) -> tensor<1x3x6x6xf32>
  return %0 : tensor<1x3x6x6xf32>
}

// -----

func.func @kernel_too_big(%x: tensor<1x1x4x4xf32>, %w: tensor<1x1x3x3xf32>) -> tensor<1x1x1x1xf32> {
  // expected-error @+1 {{'nn.conv2d': the dilated kernel [5, 5] does not fit the padded input [4, 4]}}
  %0 = nn.conv2d %x, %w strides [1, 1] padding [0, 0, 0, 0] dilations [2, 2] groups 1 : (tensor<1x1x4x4xf32>, tensor<1x1x3x3xf32>) -> tensor<1x1x1x1xf32>
  return %0 : tensor<1x1x1x1xf32>
}

// -----

func.func @zero_stride(%x: tensor<1x1x4x4xf32>, %w: tensor<1x1x3x3xf32>) -> tensor<1x1x2x2xf32> {
  // expected-error @+1 {{'nn.conv2d': strides must be 2 values of at least 1 ([sh, sw]), got [0, 1]}}
  %0 = nn.conv2d %x, %w strides [0, 1] padding [0, 0, 0, 0] dilations [1, 1] groups 1 : (tensor<1x1x4x4xf32>, tensor<1x1x3x3xf32>) -> tensor<1x1x2x2xf32>
  return %0 : tensor<1x1x2x2xf32>
}

// -----

func.func @three_pads(%x: tensor<1x1x4x4xf32>, %w: tensor<1x1x3x3xf32>) -> tensor<1x1x2x2xf32> {
  // expected-error @+1 {{'nn.conv2d': padding must be 4 values of at least 0 ([top, left, bottom, right]), got [1, 1, 1]}}
  %0 = nn.conv2d %x, %w strides [1, 1] padding [1, 1, 1] dilations [1, 1] groups 1 : (tensor<1x1x4x4xf32>, tensor<1x1x3x3xf32>) -> tensor<1x1x2x2xf32>
  return %0 : tensor<1x1x2x2xf32>
}

// -----

func.func @not_nchw(%x: tensor<3x8x8xf32>, %w: tensor<4x3x3x3xf32>) -> tensor<4x6x6xf32> {
  // expected-error @+1 {{'nn.conv2d': x must be rank 4 ([N, C, H, W]), got 3x8x8xf32}}
  %0 = nn.conv2d %x, %w strides [1, 1] padding [0, 0, 0, 0] dilations [1, 1] groups 1 : (tensor<3x8x8xf32>, tensor<4x3x3x3xf32>) -> tensor<4x6x6xf32>
  return %0 : tensor<4x6x6xf32>
}

// -----

func.func @result_type_differs(%x: tensor<1x3x8x8xf32>, %w: tensor<4x3x3x3xf32>) -> tensor<1x4x8x8xf32> {
  // expected-error @+1 {{'nn.conv2d' op result type 'tensor<1x4x8x8xf32>' differs from the inferred 'tensor<1x4x6x6xf32>'}}
  %0 = nn.conv2d %x, %w strides [1, 1] padding [0, 0, 0, 0] dilations [1, 1] groups 1 : (tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32>) -> tensor<1x4x8x8xf32>
  return %0 : tensor<1x4x8x8xf32>
}

// -----

func.func @backward_input_size_mismatch(%g: tensor<1x4x6x6xf32>, %w: tensor<4x3x3x3xf32>) -> tensor<1x3x9x9xf32> {
  // expected-error @+1 {{'nn.conv2d_backward_input': an input of [9, 9] gives outputs of [7, 7] but grad is 1x4x6x6xf32}}
  %0 = nn.conv2d_backward_input %g, %w input_size [9, 9] strides [1, 1] padding [0, 0, 0, 0] dilations [1, 1] groups 1 : (tensor<1x4x6x6xf32>, tensor<4x3x3x3xf32>) -> tensor<1x3x9x9xf32>
  return %0 : tensor<1x3x9x9xf32>
}
