func.func @broadcast_same_shape(%x: tensor<2x3xf32>) -> tensor<2x3xf32> {
  %0 = nn.broadcast_to %x : tensor<2x3xf32> -> tensor<2x3xf32>
  return %0 : tensor<2x3xf32>
}
