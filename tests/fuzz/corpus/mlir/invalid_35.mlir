func.func @cast_shape(%x: tensor<2xf32>) -> tensor<3xi32> {
  %0 = nn.cast %x : tensor<2xf32> -> tensor<3xi32>
  return %0 : tensor<3xi32>
}
