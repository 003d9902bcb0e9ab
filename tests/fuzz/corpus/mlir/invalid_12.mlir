func.func @softmax_scalar(%x: tensor<f32>) -> tensor<f32> {
  %0 = nn.softmax %x axis 0 : tensor<f32>
  return %0 : tensor<f32>
}
