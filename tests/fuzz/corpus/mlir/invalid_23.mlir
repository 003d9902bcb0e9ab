func.func @int_param(%w: tensor<3xi32> {nn.param = {init = "zeros"}}) -> tensor<3xi32> {
  return %w : tensor<3xi32>
}
