func.func @axis_out_of_range(%x: tensor<2x3xf32>) -> tensor<2xf32> {
  %0 = nn.reduce_mean %x axes [2] : tensor<2x3xf32> -> tensor<2xf32>
  return %0 : tensor<2xf32>
}
