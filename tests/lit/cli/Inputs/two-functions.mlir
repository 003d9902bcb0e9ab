func.func @f(%x: tensor<2xf32>) -> tensor<2xf32> {
  return %x : tensor<2xf32>
}
func.func @g(%x: tensor<2xf32>) -> tensor<2xf32> {
  %0 = nn.neg %x : tensor<2xf32>
  return %0 : tensor<2xf32>
}
