// An MLP classifier 2-32-32-2 on 200 points: the cross-entropy loss and the
// logits. Compiled twice: as a training step (of "loss") and for inference.
func.func @main(%x: tensor<200x2xf32> {nn.name = "x"}, %y: tensor<200xi32> {nn.name = "y"},
                %w1: tensor<2x32xf32> {nn.name = "w1", nn.param = {init = "normal", mean = 0.0, std = 1.0, seed = 1}},
                %b1: tensor<32xf32> {nn.name = "b1", nn.param = {init = "zeros"}},
                %w2: tensor<32x32xf32> {nn.name = "w2", nn.param = {init = "normal", mean = 0.0, std = 0.25, seed = 2}},
                %b2: tensor<32xf32> {nn.name = "b2", nn.param = {init = "zeros"}},
                %w3: tensor<32x2xf32> {nn.name = "w3", nn.param = {init = "normal", mean = 0.0, std = 0.18, seed = 3}},
                %b3: tensor<2xf32> {nn.name = "b3", nn.param = {init = "zeros"}})
    -> (tensor<f32> {nn.name = "loss"}, tensor<200x2xf32> {nn.name = "logits"}) {
  %0 = nn.matmul %x, %w1 : (tensor<200x2xf32>, tensor<2x32xf32>) -> tensor<200x32xf32>
  %1 = nn.add %0, %b1 : (tensor<200x32xf32>, tensor<32xf32>) -> tensor<200x32xf32>
  %h1 = nn.relu %1 : tensor<200x32xf32>
  %2 = nn.matmul %h1, %w2 : (tensor<200x32xf32>, tensor<32x32xf32>) -> tensor<200x32xf32>
  %3 = nn.add %2, %b2 : (tensor<200x32xf32>, tensor<32xf32>) -> tensor<200x32xf32>
  %h2 = nn.relu %3 : tensor<200x32xf32>
  %4 = nn.matmul %h2, %w3 : (tensor<200x32xf32>, tensor<32x2xf32>) -> tensor<200x2xf32>
  %logits = nn.add %4, %b3 : (tensor<200x2xf32>, tensor<2xf32>) -> tensor<200x2xf32>
  %loss = nn.cross_entropy %logits, %y : (tensor<200x2xf32>, tensor<200xi32>) -> tensor<f32>
  return %loss, %logits : tensor<f32>, tensor<200x2xf32>
}
