func.func @iota_axis() -> tensor<3xi64> {
  %0 = nn.iota axis 1 : tensor<3xi64>
  return %0 : tensor<3xi64>
}
