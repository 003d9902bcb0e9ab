// Kernels that run on the thread pool (sizes above kiln-tile-matmul's and
// kiln-tile-rows' parallel thresholds; primes so that tiles have edges):
// a matmul with a bias + ReLU epilogue, a second matmul with a partial
// column block, softmax rows and layer_norm rows.
func.func @main(%x: tensor<131x257xf32> {nn.name = "x"},
                %w1: tensor<257x300xf32> {nn.name = "w1", nn.param = {init = "normal", mean = 0.0, std = 0.06, seed = 1}},
                %b1: tensor<300xf32> {nn.name = "b1", nn.param = {init = "uniform", low = -0.1, high = 0.1, seed = 2}},
                %w2: tensor<300x1009xf32> {nn.name = "w2", nn.param = {init = "normal", mean = 0.0, std = 0.05, seed = 3}},
                %g: tensor<1009xf32> {nn.name = "g", nn.param = {init = "ones"}},
                %b: tensor<1009xf32> {nn.name = "b", nn.param = {init = "zeros"}})
    -> (tensor<131x1009xf32> {nn.name = "probs"}, tensor<131x1009xf32> {nn.name = "normed"}) {
  %0 = nn.matmul %x, %w1 : (tensor<131x257xf32>, tensor<257x300xf32>) -> tensor<131x300xf32>
  %1 = nn.add %0, %b1 : (tensor<131x300xf32>, tensor<300xf32>) -> tensor<131x300xf32>
  %h = nn.relu %1 : tensor<131x300xf32>
  %2 = nn.matmul %h, %w2 : (tensor<131x300xf32>, tensor<300x1009xf32>) -> tensor<131x1009xf32>
  %probs = nn.softmax %2 axis -1 : tensor<131x1009xf32>
  %normed = nn.layer_norm %2 gamma %g beta %b axes [-1] : (tensor<131x1009xf32>, tensor<1009xf32>, tensor<1009xf32>) -> tensor<131x1009xf32>
  return %probs, %normed : tensor<131x1009xf32>, tensor<131x1009xf32>
}
