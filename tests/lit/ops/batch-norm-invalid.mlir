// nn.batch_norm's shape rule and verifier name the operand or attribute
// that is wrong, expected against given.
// RUN: kiln-opt %s -split-input-file -verify-diagnostics

func.func @gamma_not_per_channel(%x: tensor<2x3x4x4xf32>, %g: tensor<4xf32>, %c: tensor<3xf32>) -> tensor<2x3x4x4xf32> {
  // expected-error @+1 {{'nn.batch_norm': gamma is 4xf32 but must be 3xf32 (one per channel of x 2x3x4x4xf32)}}
  %y, %m, %v = nn.batch_norm %x, %g, %c, %c, %c : (tensor<2x3x4x4xf32>, tensor<4xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>) -> (tensor<2x3x4x4xf32>, tensor<3xf32>, tensor<3xf32>)
  return %y : tensor<2x3x4x4xf32>
}

// -----

func.func @no_channel_axis(%x: tensor<5xf32>, %c: tensor<5xf32>) -> tensor<5xf32> {
  // expected-error @+1 {{'nn.batch_norm': x is 5xf32 but must have rank 2 or more (the channels on axis 1)}}
  %y, %m, %v = nn.batch_norm %x, %c, %c, %c, %c : (tensor<5xf32>, tensor<5xf32>, tensor<5xf32>, tensor<5xf32>, tensor<5xf32>) -> (tensor<5xf32>, tensor<5xf32>, tensor<5xf32>)
  return %y : tensor<5xf32>
}

// -----

func.func @momentum_out_of_range(%x: tensor<2x3xf32>, %c: tensor<3xf32>) -> tensor<2x3xf32> {
  // expected-error @+1 {{'nn.batch_norm' op momentum must be in [0, 1], got 1.5}}
  %y, %m, %v = nn.batch_norm %x, %c, %c, %c, %c {training, momentum = 1.5 : f64} : (tensor<2x3xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>) -> (tensor<2x3xf32>, tensor<3xf32>, tensor<3xf32>)
  return %y : tensor<2x3xf32>
}
