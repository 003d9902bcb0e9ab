// neuron-loss.mlir that also returns its prediction z and a second scalar:
// `kiln grad --of loss` differentiates the loss alone.
func.func @main(%x: tensor<4x1xf32> {nn.name = "x"}, %label: tensor<4x1xf32> {nn.name = "label"},
                %a: tensor<1x1xf32> {nn.name = "a", nn.param = {init = "values", value = dense<0.5> : tensor<1x1xf32>}},
                %b: tensor<1xf32> {nn.name = "b", nn.param = {init = "zeros"}})
    -> (tensor<4x1xf32> {nn.name = "z"}, tensor<f32> {nn.name = "loss"}, tensor<f32> {nn.name = "zsum"}) {
  %ax = nn.matmul %x, %a : (tensor<4x1xf32>, tensor<1x1xf32>) -> tensor<4x1xf32>
  %z = nn.add %ax, %b : (tensor<4x1xf32>, tensor<1xf32>) -> tensor<4x1xf32>
  %l = nn.mse_loss %z, %label : (tensor<4x1xf32>, tensor<4x1xf32>) -> tensor<f32>
  %s = nn.reduce_sum %z axes [0, 1] : tensor<4x1xf32> -> tensor<f32>
  return %z, %l, %s : tensor<4x1xf32>, tensor<f32>, tensor<f32>
}
