// Kernels on the thread pool (an elementwise chain over 512 x 512, a
// 512^3 matmul): each is a function of its own, called by the entry
// through a pointer, so code generated in parts references across them.
func.func @main(%x: tensor<1xf32> {nn.name = "x"},
                %w: tensor<512x512xf32> {nn.name = "w", nn.param = {init = "normal", mean = 0.0, std = 1.0, seed = 1}},
                %v: tensor<512x512xf32> {nn.name = "v", nn.param = {init = "normal", mean = 0.0, std = 0.05, seed = 2}})
    -> (tensor<512x512xf32> {nn.name = "y"}) {
  %a = nn.mul %w, %x : (tensor<512x512xf32>, tensor<1xf32>) -> tensor<512x512xf32>
  %t = nn.tanh %a : tensor<512x512xf32>
  %y = nn.matmul %t, %v : (tensor<512x512xf32>, tensor<512x512xf32>) -> tensor<512x512xf32>
  return %y : tensor<512x512xf32>
}
