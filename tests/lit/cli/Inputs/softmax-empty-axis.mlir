// softmax over an axis of length 0.
func.func @main(%a: tensor<3x0xf32> {nn.name = "a"}) -> (tensor<3x0xf32> {nn.name = "y"}) {
  %y = nn.softmax %a axis 1 : tensor<3x0xf32>
  return %y : tensor<3x0xf32>
}
