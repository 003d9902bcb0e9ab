// A matmul with M = 0: an empty product (its tile sizing divided by 0).
func.func @main(%a: tensor<0x4xf32> {nn.name = "a"}, %b: tensor<4x3xf32> {nn.name = "b"}) -> (tensor<0x3xf32> {nn.name = "y"}) {
  %y = nn.matmul %a, %b : (tensor<0x4xf32>, tensor<4x3xf32>) -> tensor<0x3xf32>
  return %y : tensor<0x3xf32>
}
