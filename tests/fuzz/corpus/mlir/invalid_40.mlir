func.func @attribute_on_an_op_without_any(%x: tensor<4xf32>) -> tensor<4xf32> {
  %0 = nn.tanh %x {fast} : tensor<4xf32>
  return %0 : tensor<4xf32>
}
