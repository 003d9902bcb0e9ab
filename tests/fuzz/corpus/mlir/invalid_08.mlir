func.func @empty_axes(%x: tensor<2x3xf32>) -> tensor<2x3xf32> {
  %0 = nn.reduce_sum %x axes [] : tensor<2x3xf32> -> tensor<2x3xf32>
  return %0 : tensor<2x3xf32>
}
