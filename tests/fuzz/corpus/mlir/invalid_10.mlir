func.func @duplicate_axis(%x: tensor<2x3xf32>) -> tensor<2xf32> {
  %0 = nn.reduce_max %x axes [1, -1] : tensor<2x3xf32> -> tensor<2xf32>
  return %0 : tensor<2xf32>
}
