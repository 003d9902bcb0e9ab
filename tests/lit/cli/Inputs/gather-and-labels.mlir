// A gather and a cross-entropy: run-time index checks (tests/lit/cli/index-errors.test).
func.func @main(%t: tensor<5x3xf32> {nn.name = "table"}, %i: tensor<4xi64> {nn.name = "ids"}, %l: tensor<2x5xf32> {nn.name = "logits"}, %y: tensor<2xi32> {nn.name = "labels"}) -> (tensor<4x3xf32> {nn.name = "rows"}, tensor<f32> {nn.name = "loss"}) {
  %r = nn.gather %t[%i] : (tensor<5x3xf32>, tensor<4xi64>) -> tensor<4x3xf32>
  %c = nn.cross_entropy %l, %y : (tensor<2x5xf32>, tensor<2xi32>) -> tensor<f32>
  return %r, %c : tensor<4x3xf32>, tensor<f32>
}
