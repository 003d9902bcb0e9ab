func.func @bad_name(%x: tensor<3xf32> {nn.name = "2x"}) -> tensor<3xf32> {
  return %x : tensor<3xf32>
}
