// kiln report's test model: two-head causal self-attention over 5 positions,
// written out (scores, scale, mask, softmax, weighted sum) as a user would.
func.func @main(%x: tensor<1x5x4xf32> {nn.name = "x"},
                %wq: tensor<4x4xf32> {nn.name = "wq", nn.param = {init = "normal", std = 0.9, seed = 1}},
                %wk: tensor<4x4xf32> {nn.name = "wk", nn.param = {init = "normal", std = 0.9, seed = 2}})
    -> (tensor<1x5x4xf32> {nn.name = "y"}) {
  %q = nn.matmul %x, %wq : (tensor<1x5x4xf32>, tensor<4x4xf32>) -> tensor<1x5x4xf32>
  %k = nn.matmul %x, %wk : (tensor<1x5x4xf32>, tensor<4x4xf32>) -> tensor<1x5x4xf32>
  %q2 = nn.reshape %q : tensor<1x5x4xf32> -> tensor<1x5x2x2xf32>
  %k2 = nn.reshape %k : tensor<1x5x4xf32> -> tensor<1x5x2x2xf32>
  %v2 = nn.reshape %x : tensor<1x5x4xf32> -> tensor<1x5x2x2xf32>
  %qh = nn.transpose %q2 perm [0, 2, 1, 3] : tensor<1x5x2x2xf32> -> tensor<1x2x5x2xf32>
  %kh = nn.transpose %k2 perm [0, 2, 1, 3] : tensor<1x5x2x2xf32> -> tensor<1x2x5x2xf32>
  %vh = nn.transpose %v2 perm [0, 2, 1, 3] : tensor<1x5x2x2xf32> -> tensor<1x2x5x2xf32>
  %s = nn.matmul %qh, %kh {transpose_b} : (tensor<1x2x5x2xf32>, tensor<1x2x5x2xf32>) -> tensor<1x2x5x5xf32>
  %c = nn.constant dense<0.707106769> : tensor<f32>
  %scaled = nn.mul %s, %c : (tensor<1x2x5x5xf32>, tensor<f32>) -> tensor<1x2x5x5xf32>
  %i = nn.iota axis 0 : tensor<5x5xi64>
  %j = nn.iota axis 1 : tensor<5x5xi64>
  %mask = nn.ge %i, %j : (tensor<5x5xi64>, tensor<5x5xi64>) -> tensor<5x5xi1>
  %big = nn.constant dense<-1.0e9> : tensor<f32>
  %masked = nn.select %mask, %scaled, %big : (tensor<5x5xi1>, tensor<1x2x5x5xf32>, tensor<f32>) -> tensor<1x2x5x5xf32>
  %p = nn.softmax %masked axis -1 : tensor<1x2x5x5xf32>
  %o = nn.matmul %p, %vh : (tensor<1x2x5x5xf32>, tensor<1x2x5x2xf32>) -> tensor<1x2x5x2xf32>
  %ot = nn.transpose %o perm [0, 2, 1, 3] : tensor<1x2x5x2xf32> -> tensor<1x5x2x2xf32>
  %y = nn.reshape %ot : tensor<1x5x2x2xf32> -> tensor<1x5x4xf32>
  return %y : tensor<1x5x4xf32>
}
