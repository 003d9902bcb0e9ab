func.func @unknown_attr(%w: tensor<3xf32> {nn.weight}) -> tensor<3xf32> {
  return %w : tensor<3xf32>
}
