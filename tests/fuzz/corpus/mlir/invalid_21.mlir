func.func @bad_init_key(%w: tensor<3xf32> {nn.param = {init = "uniform", std = 1.0}}) -> tensor<3xf32> {
  return %w : tensor<3xf32>
}
