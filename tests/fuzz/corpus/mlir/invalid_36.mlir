func.func @cross_entropy_labels(%l: tensor<2x5xf32>, %y: tensor<5xi64>) -> tensor<f32> {
  %0 = nn.cross_entropy %l, %y : (tensor<2x5xf32>, tensor<5xi64>) -> tensor<f32>
  return %0 : tensor<f32>
}
