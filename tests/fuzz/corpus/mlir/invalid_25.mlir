func.func @gather_float_indices(%t: tensor<4x2xf32>, %i: tensor<3xf32>) -> tensor<3x2xf32> {
  %0 = nn.gather %t[%i] : (tensor<4x2xf32>, tensor<3xf32>) -> tensor<3x2xf32>
  return %0 : tensor<3x2xf32>
}
