// An Elman RNN over 32 steps on 16 independent rows (tests/lit/cli/threads.test):
// enough work for kiln-split-scan-rows to run its rows in blocks on two threads.
func.func @main(%xs: tensor<32x16x64xf32> {nn.name = "xs"}, %h0: tensor<16x64xf32> {nn.name = "h0"}, %w: tensor<64x64xf32> {nn.name = "w", nn.param = {init = "normal", std = 0.1}}, %u: tensor<64x64xf32> {nn.name = "u", nn.param = {init = "normal", std = 0.1}}) -> (tensor<16x64xf32> {nn.name = "h"}, tensor<32x16x64xf32> {nn.name = "hs"}) {
  %h, %hs = nn.scan inits(%h0 : tensor<16x64xf32>) over(%xs : tensor<32x16x64xf32>) consts(%w, %u : tensor<64x64xf32>, tensor<64x64xf32>) -> (tensor<16x64xf32>, tensor<32x16x64xf32>) {
  ^bb0(%c: tensor<16x64xf32>, %x: tensor<16x64xf32>, %wc: tensor<64x64xf32>, %uc: tensor<64x64xf32>):
    %p = nn.matmul %x, %wc : (tensor<16x64xf32>, tensor<64x64xf32>) -> tensor<16x64xf32>
    %q = nn.matmul %c, %uc : (tensor<16x64xf32>, tensor<64x64xf32>) -> tensor<16x64xf32>
    %s = nn.add %p, %q : (tensor<16x64xf32>, tensor<16x64xf32>) -> tensor<16x64xf32>
    %n = nn.tanh %s : tensor<16x64xf32>
    nn.yield %n, %n : tensor<16x64xf32>, tensor<16x64xf32>
  }
  return %h, %hs : tensor<16x64xf32>, tensor<32x16x64xf32>
}
