func.func @layer_norm_gamma(%x: tensor<2x4xf32>, %g: tensor<2xf32>) -> tensor<2x4xf32> {
  %0 = nn.layer_norm %x gamma %g axes [-1] : (tensor<2x4xf32>, tensor<2xf32>) -> tensor<2x4xf32>
  return %0 : tensor<2x4xf32>
}
