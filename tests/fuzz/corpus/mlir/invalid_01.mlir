func.func @element_type_mismatch(%a: tensor<3xf32>, %b: tensor<3xf64>) -> tensor<3xf32> {
  %0 = nn.mul %a, %b : (tensor<3xf32>, tensor<3xf64>) -> tensor<3xf32>
  return %0 : tensor<3xf32>
}
