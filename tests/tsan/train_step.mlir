// A classifier's training step under ThreadSanitizer: the forward matmuls
// and the backward ones (dA = dY B^T, dB = A^T dY) run on the thread pool.
func.func @main(%x: tensor<131x257xf32> {nn.name = "x"}, %y: tensor<131xi32> {nn.name = "y"},
                %w1: tensor<257x300xf32> {nn.name = "w1", nn.param = {init = "normal", mean = 0.0, std = 0.06, seed = 1}},
                %b1: tensor<300xf32> {nn.name = "b1", nn.param = {init = "zeros"}},
                %w2: tensor<300x10xf32> {nn.name = "w2", nn.param = {init = "normal", mean = 0.0, std = 0.05, seed = 2}})
    -> (tensor<f32> {nn.name = "loss"}) {
  %0 = nn.matmul %x, %w1 : (tensor<131x257xf32>, tensor<257x300xf32>) -> tensor<131x300xf32>
  %1 = nn.add %0, %b1 : (tensor<131x300xf32>, tensor<300xf32>) -> tensor<131x300xf32>
  %h = nn.relu %1 : tensor<131x300xf32>
  %logits = nn.matmul %h, %w2 : (tensor<131x300xf32>, tensor<300x10xf32>) -> tensor<131x10xf32>
  %loss = nn.cross_entropy %logits, %y : (tensor<131x10xf32>, tensor<131xi32>) -> tensor<f32>
  return %loss : tensor<f32>
}
