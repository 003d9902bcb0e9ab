func.func @main(%x: tensor<4x1xf32> {nn.name = "x"}, %label: tensor<4x1xf32> {nn.name = "label"},
                %a: tensor<1x1xf32> {nn.name = "a", nn.param = {init = "values", value = dense<0.5> : tensor<1x1xf32>}},
                %b: tensor<1xf32> {nn.name = "b", nn.param = {init = "zeros"}})
    -> (tensor<f32> {nn.name = "loss"}) {
  %ax = nn.matmul %x, %a : (tensor<4x1xf32>, tensor<1x1xf32>) -> tensor<4x1xf32>
  %z = nn.add %ax, %b : (tensor<4x1xf32>, tensor<1xf32>) -> tensor<4x1xf32>
  %l = nn.mse_loss %z, %label : (tensor<4x1xf32>, tensor<4x1xf32>) -> tensor<f32>
  return %l : tensor<f32>
}
