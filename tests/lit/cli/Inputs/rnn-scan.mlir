// An Elman RNN over 5 steps as one nn.scan (tests/lit/cli/graph-scan.test).
func.func @main(%xs: tensor<5x2x3xf32> {nn.name = "xs"}, %h0: tensor<2x4xf32> {nn.name = "h0"}, %w: tensor<3x4xf32> {nn.name = "w", nn.param = {init = "normal", std = 0.5}}, %u: tensor<4x4xf32> {nn.name = "u", nn.param = {init = "normal", std = 0.5}}) -> (tensor<2x4xf32> {nn.name = "h"}, tensor<5x2x4xf32> {nn.name = "hs"}) {
  %h, %hs = nn.scan inits(%h0 : tensor<2x4xf32>) over(%xs : tensor<5x2x3xf32>) consts(%w, %u : tensor<3x4xf32>, tensor<4x4xf32>) -> (tensor<2x4xf32>, tensor<5x2x4xf32>) {
  ^bb0(%c: tensor<2x4xf32>, %x: tensor<2x3xf32>, %wc: tensor<3x4xf32>, %uc: tensor<4x4xf32>):
    %p = nn.matmul %x, %wc : (tensor<2x3xf32>, tensor<3x4xf32>) -> tensor<2x4xf32>
    %q = nn.matmul %c, %uc : (tensor<2x4xf32>, tensor<4x4xf32>) -> tensor<2x4xf32>
    %s = nn.add %p, %q : (tensor<2x4xf32>, tensor<2x4xf32>) -> tensor<2x4xf32>
    %n = nn.tanh %s : tensor<2x4xf32>
    nn.yield %n, %n : tensor<2x4xf32>, tensor<2x4xf32>
  }
  return %h, %hs : tensor<2x4xf32>, tensor<5x2x4xf32>
}
