// An MLP classifier 784-256-256-10 with ReLU (MNIST-sized), forward pass over
// a batch of 16: logits and class probabilities.
func.func @main(%x: tensor<16x784xf32> {nn.name = "x"},
                %w1: tensor<784x256xf32> {nn.name = "w1", nn.param = {init = "normal", mean = 0.0, std = 0.05, seed = 1}},
                %b1: tensor<256xf32> {nn.name = "b1", nn.param = {init = "zeros"}},
                %w2: tensor<256x256xf32> {nn.name = "w2", nn.param = {init = "normal", mean = 0.0, std = 0.088, seed = 2}},
                %b2: tensor<256xf32> {nn.name = "b2", nn.param = {init = "zeros"}},
                %w3: tensor<256x10xf32> {nn.name = "w3", nn.param = {init = "normal", mean = 0.0, std = 0.088, seed = 3}},
                %b3: tensor<10xf32> {nn.name = "b3", nn.param = {init = "zeros"}})
    -> (tensor<16x10xf32> {nn.name = "logits"}, tensor<16x10xf32> {nn.name = "probs"}) {
  %0 = nn.matmul %x, %w1 : (tensor<16x784xf32>, tensor<784x256xf32>) -> tensor<16x256xf32>
  %1 = nn.add %0, %b1 : (tensor<16x256xf32>, tensor<256xf32>) -> tensor<16x256xf32>
  %h1 = nn.relu %1 : tensor<16x256xf32>
  %2 = nn.matmul %h1, %w2 : (tensor<16x256xf32>, tensor<256x256xf32>) -> tensor<16x256xf32>
  %3 = nn.add %2, %b2 : (tensor<16x256xf32>, tensor<256xf32>) -> tensor<16x256xf32>
  %h2 = nn.relu %3 : tensor<16x256xf32>
  %4 = nn.matmul %h2, %w3 : (tensor<16x256xf32>, tensor<256x10xf32>) -> tensor<16x10xf32>
  %logits = nn.add %4, %b3 : (tensor<16x10xf32>, tensor<10xf32>) -> tensor<16x10xf32>
  %probs = nn.softmax %logits axis -1 : tensor<16x10xf32>
  return %logits, %probs : tensor<16x10xf32>, tensor<16x10xf32>
}
