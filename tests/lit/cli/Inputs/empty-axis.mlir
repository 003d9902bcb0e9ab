// Zero-sized dimensions: a matmul with K = 0, reductions and softmax over an
// empty axis.
func.func @main(%a: tensor<3x0xf32> {nn.name = "a"}, %b: tensor<0x4xf32> {nn.name = "b"}) -> (tensor<3x4xf32> {nn.name = "y"}, tensor<3xf32> {nn.name = "s"}, tensor<3xf32> {nn.name = "m"}, tensor<3x0xf32> {nn.name = "sm"}) {
  %y = nn.matmul %a, %b : (tensor<3x0xf32>, tensor<0x4xf32>) -> tensor<3x4xf32>
  %s = nn.reduce_sum %a axes [1] : tensor<3x0xf32> -> tensor<3xf32>
  %m = nn.reduce_max %a axes [1] : tensor<3x0xf32> -> tensor<3xf32>
  %sm = nn.softmax %a axis 1 : tensor<3x0xf32>
  return %y, %s, %m, %sm : tensor<3x4xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3x0xf32>
}
