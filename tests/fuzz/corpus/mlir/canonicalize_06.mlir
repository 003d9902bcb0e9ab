func.func @transpose_transpose_identity(%x: tensor<2x3x5xf32>) -> tensor<2x3x5xf32> {
  %0 = nn.transpose %x perm [2, 0, 1] : tensor<2x3x5xf32> -> tensor<5x2x3xf32>
  %1 = nn.transpose %0 perm [1, 2, 0] : tensor<5x2x3xf32> -> tensor<2x3x5xf32>
  return %1 : tensor<2x3x5xf32>
}
