func.func @add_zero(%x: tensor<2x3xf32>) -> tensor<2x3xf32> {
  %z = nn.constant dense<0.0> : tensor<3xf32>
  %0 = nn.add %x, %z : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
  return %0 : tensor<2x3xf32>
}
