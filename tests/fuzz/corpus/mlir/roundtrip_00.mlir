func.func @unary(%x: tensor<2x3xf32>) -> tensor<2x3xf32> {
  %0 = nn.neg %x : tensor<2x3xf32>
  %1 = nn.abs %0 : tensor<2x3xf32>
  %2 = nn.exp %1 : tensor<2x3xf32>
  %3 = nn.log %2 : tensor<2x3xf32>
  %4 = nn.sqrt %3 : tensor<2x3xf32>
  %5 = nn.rsqrt %4 : tensor<2x3xf32>
  %6 = nn.tanh %5 : tensor<2x3xf32>
  %7 = nn.sigmoid %6 : tensor<2x3xf32>
  %8 = nn.relu %7 : tensor<2x3xf32>
  return %8 : tensor<2x3xf32>
}

func.func @binary(%a: tensor<2x3xf64>, %b: tensor<3xf64>) -> tensor<2x3xf64> {
  %0 = nn.add %a, %b : (tensor<2x3xf64>, tensor<3xf64>) -> tensor<2x3xf64>
  %1 = nn.sub %0, %b : (tensor<2x3xf64>, tensor<3xf64>) -> tensor<2x3xf64>
  %2 = nn.mul %1, %b : (tensor<2x3xf64>, tensor<3xf64>) -> tensor<2x3xf64>
  %3 = nn.div %2, %b : (tensor<2x3xf64>, tensor<3xf64>) -> tensor<2x3xf64>
  %4 = nn.max %3, %b : (tensor<2x3xf64>, tensor<3xf64>) -> tensor<2x3xf64>
  %5 = nn.min %4, %b : (tensor<2x3xf64>, tensor<3xf64>) -> tensor<2x3xf64>
  return %5 : tensor<2x3xf64>
}

func.func @matmul(%a: tensor<4x1x8x16xf32>, %b: tensor<3x32x16xf32>) -> tensor<4x3x8x32xf32> {
  %0 = nn.matmul %a, %b {transpose_b} : (tensor<4x1x8x16xf32>, tensor<3x32x16xf32>) -> tensor<4x3x8x32xf32>
  return %0 : tensor<4x3x8x32xf32>
}

func.func @reductions(%x: tensor<2x3x5xf32>) -> (tensor<2x1x1xf32>, tensor<3x5xf32>, tensor<f32>, tensor<2x3x5xf32>) {
  %0 = nn.reduce_sum %x axes [-1, 1] keepdims : tensor<2x3x5xf32> -> tensor<2x1x1xf32>
  %1 = nn.reduce_mean %x axes [0] : tensor<2x3x5xf32> -> tensor<3x5xf32>
  %2 = nn.reduce_max %x axes [0, 1, 2] : tensor<2x3x5xf32> -> tensor<f32>
  %3 = nn.softmax %x axis -1 : tensor<2x3x5xf32>
  return %0, %1, %2, %3 : tensor<2x1x1xf32>, tensor<3x5xf32>, tensor<f32>, tensor<2x3x5xf32>
}

func.func @shapes(%x: tensor<2x3xi64>, %y: tensor<3xi1>) -> (tensor<6xi64>, tensor<3x2xi64>, tensor<4x3xi1>, tensor<2xf32>) {
  %0 = nn.reshape %x : tensor<2x3xi64> -> tensor<6xi64>
  %1 = nn.transpose %x perm [1, 0] : tensor<2x3xi64> -> tensor<3x2xi64>
  %2 = nn.broadcast_to %y : tensor<3xi1> -> tensor<4x3xi1>
  %3 = nn.constant dense<[1.0, 2.0]> : tensor<2xf32>
  return %0, %1, %2, %3 : tensor<6xi64>, tensor<3x2xi64>, tensor<4x3xi1>, tensor<2xf32>
}

func.func @losses(%p: tensor<4x3xf32>, %l: tensor<4x3xf32>) -> (tensor<f32>, tensor<f32>) {
  %0 = nn.l1_loss %p, %l : (tensor<4x3xf32>, tensor<4x3xf32>) -> tensor<f32>
  %1 = nn.mse_loss %p, %l : (tensor<4x3xf32>, tensor<4x3xf32>) -> tensor<f32>
  return %0, %1 : tensor<f32>, tensor<f32>
}

func.func @language_model_ops(%t: tensor<10x4xf32>, %i: tensor<2x3xi64>, %x: tensor<2x4xf32>, %g: tensor<4xf32>, %lab: tensor<2xi32>)
    -> (tensor<2x3x4xf32>, tensor<4x4xf32>, tensor<1x2xf32>, tensor<2x4xf32>, tensor<2x4xf32>, tensor<2x4xf32>, tensor<2x4xi1>, tensor<2x4xf32>, tensor<2x4xi32>, tensor<f32>, tensor<3x3xi64>, tensor<2x4xf32>) {
  %0 = nn.gather %t[%i] : (tensor<10x4xf32>, tensor<2x3xi64>) -> tensor<2x3x4xf32>
  %1 = nn.concat %x, %x axis 0 : (tensor<2x4xf32>, tensor<2x4xf32>) -> tensor<4x4xf32>
  %2 = nn.slice %x[[1, -1] : [2, 0] : [1, -2]] : tensor<2x4xf32> -> tensor<1x2xf32>
  %3 = nn.layer_norm %x gamma %g beta %g axes [-1] {eps = 1.0e-3 : f64} : (tensor<2x4xf32>, tensor<4xf32>, tensor<4xf32>) -> tensor<2x4xf32>
  %4 = nn.gelu %x {approximate = "tanh"} : tensor<2x4xf32>
  %5 = nn.log_softmax %x axis 1 : tensor<2x4xf32>
  %6 = nn.lt %x, %g : (tensor<2x4xf32>, tensor<4xf32>) -> tensor<2x4xi1>
  %7 = nn.select %6, %x, %g : (tensor<2x4xi1>, tensor<2x4xf32>, tensor<4xf32>) -> tensor<2x4xf32>
  %8 = nn.cast %7 : tensor<2x4xf32> -> tensor<2x4xi32>
  %9 = nn.cross_entropy %x, %lab : (tensor<2x4xf32>, tensor<2xi32>) -> tensor<f32>
  %10 = nn.iota axis 1 : tensor<3x3xi64>
  %11 = nn.pow %x, %g : (tensor<2x4xf32>, tensor<4xf32>) -> tensor<2x4xf32>
  return %0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11 : tensor<2x3x4xf32>, tensor<4x4xf32>, tensor<1x2xf32>, tensor<2x4xf32>, tensor<2x4xf32>, tensor<2x4xf32>, tensor<2x4xi1>, tensor<2x4xf32>, tensor<2x4xi32>, tensor<f32>, tensor<3x3xi64>, tensor<2x4xf32>
}
