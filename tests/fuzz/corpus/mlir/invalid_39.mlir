func.func @misspelt_epsilon(%x: tensor<2x4xf32>) -> tensor<2x4xf32> {
  %0 = nn.layer_norm %x axes [1] {epsilon = 0.5 : f64} : (tensor<2x4xf32>) -> tensor<2x4xf32>
  return %0 : tensor<2x4xf32>
}
