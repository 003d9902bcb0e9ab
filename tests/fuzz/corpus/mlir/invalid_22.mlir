func.func @bad_values(%w: tensor<3xf32> {nn.param = {init = "values", value = dense<1.0> : tensor<2xf32>}}) -> tensor<3xf32> {
  return %w : tensor<3xf32>
}
