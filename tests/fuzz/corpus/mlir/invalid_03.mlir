func.func @integer_unary(%x: tensor<3xi32>) -> tensor<3xi32> {
  %0 = nn.exp %x : tensor<3xi32>
  return %0 : tensor<3xi32>
}
