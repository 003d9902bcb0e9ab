// A 400 GB parameter: more than this machine can allocate.
func.func @main(%x: tensor<4xf32> {nn.name = "x"}, %w: tensor<100000000000xf32> {nn.name = "w", nn.param = {init = "zeros"}}) -> (tensor<4xf32> {nn.name = "y"}) {
  %y = nn.add %x, %x : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  return %y : tensor<4xf32>
}
