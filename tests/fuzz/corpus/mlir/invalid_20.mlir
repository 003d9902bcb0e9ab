func.func @bad_init(%w: tensor<3xf32> {nn.param = {init = "gaussian"}}) -> tensor<3xf32> {
  return %w : tensor<3xf32>
}
