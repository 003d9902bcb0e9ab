func.func @mul_zero_not_folded(%x: tensor<4xf32>) -> tensor<4xf32> {
  %z = nn.constant dense<0.0> : tensor<4xf32>
  %0 = nn.mul %x, %z : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  return %0 : tensor<4xf32>
}
