func.func @loss_shapes(%p: tensor<3xf32>, %l: tensor<4xf32>) -> tensor<f32> {
  %0 = nn.l1_loss %p, %l : (tensor<3xf32>, tensor<4xf32>) -> tensor<f32>
  return %0 : tensor<f32>
}
