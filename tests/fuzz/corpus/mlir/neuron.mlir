// The neuron y = sigmoid(a·x + b): x is the input (a batch of 8 scalars),
// a the weight, b the bias, sigmoid the activation G.
func.func @main(%x: tensor<8x1xf32> {nn.name = "x"},
                %a: tensor<1x1xf32> {nn.name = "a", nn.param = {init = "values", value = dense<2.0> : tensor<1x1xf32>}},
                %b: tensor<1xf32> {nn.name = "b", nn.param = {init = "values", value = dense<-1.0> : tensor<1xf32>}})
    -> (tensor<8x1xf32> {nn.name = "y"}) {
  %ax = nn.matmul %x, %a : (tensor<8x1xf32>, tensor<1x1xf32>) -> tensor<8x1xf32>
  %z = nn.add %ax, %b : (tensor<8x1xf32>, tensor<1xf32>) -> tensor<8x1xf32>
  %y = nn.sigmoid %z : tensor<8x1xf32>
  return %y : tensor<8x1xf32>
}
