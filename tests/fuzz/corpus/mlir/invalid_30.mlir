func.func @layer_norm_leading_axis(%x: tensor<2x4xf32>) -> tensor<2x4xf32> {
  %0 = nn.layer_norm %x axes [0] : (tensor<2x4xf32>) -> tensor<2x4xf32>
  return %0 : tensor<2x4xf32>
}
