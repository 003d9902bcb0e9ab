func.func @transpose_perm(%x: tensor<2x3xf32>) -> tensor<3x2xf32> {
  %0 = nn.transpose %x perm [0, 0] : tensor<2x3xf32> -> tensor<3x2xf32>
  return %0 : tensor<3x2xf32>
}
