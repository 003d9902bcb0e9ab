func.func @select_choices(%c: tensor<2xi1>, %a: tensor<2xf32>, %b: tensor<2xf64>) -> tensor<2xf32> {
  %0 = nn.select %c, %a, %b : (tensor<2xi1>, tensor<2xf32>, tensor<2xf64>) -> tensor<2xf32>
  return %0 : tensor<2xf32>
}
