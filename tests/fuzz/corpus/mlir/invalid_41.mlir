func.func @kiln_attribute(%x: tensor<4xf32>) -> tensor<4xf32> {
  %0 = nn.tanh %x {kiln.note = "kept"} : tensor<4xf32>
  return %0 : tensor<4xf32>
}
