func.func @gelu_kind(%x: tensor<2xf32>) -> tensor<2xf32> {
  %0 = nn.gelu %x {approximate = "sigmoid"} : tensor<2xf32>
  return %0 : tensor<2xf32>
}
