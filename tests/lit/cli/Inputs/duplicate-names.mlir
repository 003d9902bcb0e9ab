func.func @main(%x: tensor<2xf32> {nn.name = "x"}, %w: tensor<2xf32> {nn.name = "x", nn.param = {init = "ones"}}) -> tensor<2xf32> {
  %0 = nn.mul %x, %w : (tensor<2xf32>, tensor<2xf32>) -> tensor<2xf32>
  return %0 : tensor<2xf32>
}
