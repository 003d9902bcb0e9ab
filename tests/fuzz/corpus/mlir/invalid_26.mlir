func.func @gather_scalar_table(%t: tensor<f32>, %i: tensor<3xi32>) -> tensor<3xf32> {
  %0 = nn.gather %t[%i] : (tensor<f32>, tensor<3xi32>) -> tensor<3xf32>
  return %0 : tensor<3xf32>
}
