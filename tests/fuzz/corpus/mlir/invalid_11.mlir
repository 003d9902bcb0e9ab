func.func @softmax_axis(%x: tensor<2x3xf32>) -> tensor<2x3xf32> {
  %0 = nn.softmax %x axis -3 : tensor<2x3xf32>
  return %0 : tensor<2x3xf32>
}
