func.func @mul_one(%x: tensor<4xf64>) -> tensor<4xf64> {
  %one = nn.constant dense<1.0> : tensor<f64>
  %0 = nn.mul %one, %x : (tensor<f64>, tensor<4xf64>) -> tensor<4xf64>
  return %0 : tensor<4xf64>
}
