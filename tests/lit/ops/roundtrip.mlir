// Every nn op prints in a form that parses back to the same op.
// RUN: kiln-opt %s | kiln-opt | FileCheck %s

// CHECK-LABEL: func @unary
func.func @unary(%x: tensor<2x3xf32>) -> tensor<2x3xf32> {
  // CHECK: nn.neg %{{.*}} : tensor<2x3xf32>
  %0 = nn.neg %x : tensor<2x3xf32>
  // CHECK: nn.abs
  %1 = nn.abs %0 : tensor<2x3xf32>
  // CHECK: nn.exp
  %2 = nn.exp %1 : tensor<2x3xf32>
  // CHECK: nn.log
  %3 = nn.log %2 : tensor<2x3xf32>
  // CHECK: nn.sqrt
  %4 = nn.sqrt %3 : tensor<2x3xf32>
  // CHECK: nn.rsqrt
  %5 = nn.rsqrt %4 : tensor<2x3xf32>
  // CHECK: nn.tanh
  %6 = nn.tanh %5 : tensor<2x3xf32>
  // CHECK: nn.sigmoid
  %7 = nn.sigmoid %6 : tensor<2x3xf32>
  // CHECK: nn.relu
  %8 = nn.relu %7 : tensor<2x3xf32>
  return %8 : tensor<2x3xf32>
}

// CHECK-LABEL: func @binary
func.func @binary(%a: tensor<2x3xf64>, %b: tensor<3xf64>) -> tensor<2x3xf64> {
  // CHECK: nn.add %{{.*}}, %{{.*}} : (tensor<2x3xf64>, tensor<3xf64>) -> tensor<2x3xf64>
  %0 = nn.add %a, %b : (tensor<2x3xf64>, tensor<3xf64>) -> tensor<2x3xf64>
  // CHECK: nn.sub
  %1 = nn.sub %0, %b : (tensor<2x3xf64>, tensor<3xf64>) -> tensor<2x3xf64>
  // CHECK: nn.mul
  %2 = nn.mul %1, %b : (tensor<2x3xf64>, tensor<3xf64>) -> tensor<2x3xf64>
  // CHECK: nn.div
  %3 = nn.div %2, %b : (tensor<2x3xf64>, tensor<3xf64>) -> tensor<2x3xf64>
  // CHECK: nn.max
  %4 = nn.max %3, %b : (tensor<2x3xf64>, tensor<3xf64>) -> tensor<2x3xf64>
  // CHECK: nn.min
  %5 = nn.min %4, %b : (tensor<2x3xf64>, tensor<3xf64>) -> tensor<2x3xf64>
  return %5 : tensor<2x3xf64>
}

// CHECK-LABEL: func @matmul
func.func @matmul(%a: tensor<4x1x8x16xf32>, %b: tensor<3x32x16xf32>) -> tensor<4x3x8x32xf32> {
  // CHECK: nn.matmul %{{.*}}, %{{.*}} {transpose_b} : (tensor<4x1x8x16xf32>, tensor<3x32x16xf32>) -> tensor<4x3x8x32xf32>
  %0 = nn.matmul %a, %b {transpose_b} : (tensor<4x1x8x16xf32>, tensor<3x32x16xf32>) -> tensor<4x3x8x32xf32>
  return %0 : tensor<4x3x8x32xf32>
}

// CHECK-LABEL: func @reductions
func.func @reductions(%x: tensor<2x3x5xf32>) -> (tensor<2x1x1xf32>, tensor<3x5xf32>, tensor<f32>, tensor<2x3x5xf32>) {
  // CHECK: nn.reduce_sum %{{.*}} axes [-1, 1] keepdims : tensor<2x3x5xf32> -> tensor<2x1x1xf32>
  %0 = nn.reduce_sum %x axes [-1, 1] keepdims : tensor<2x3x5xf32> -> tensor<2x1x1xf32>
  // CHECK: nn.reduce_mean %{{.*}} axes [0] : tensor<2x3x5xf32> -> tensor<3x5xf32>
  %1 = nn.reduce_mean %x axes [0] : tensor<2x3x5xf32> -> tensor<3x5xf32>
  // CHECK: nn.reduce_max %{{.*}} axes [0, 1, 2] : tensor<2x3x5xf32> -> tensor<f32>
  %2 = nn.reduce_max %x axes [0, 1, 2] : tensor<2x3x5xf32> -> tensor<f32>
  // CHECK: nn.softmax %{{.*}} axis -1 : tensor<2x3x5xf32>
  %3 = nn.softmax %x axis -1 : tensor<2x3x5xf32>
  return %0, %1, %2, %3 : tensor<2x1x1xf32>, tensor<3x5xf32>, tensor<f32>, tensor<2x3x5xf32>
}

// CHECK-LABEL: func @shapes
func.func @shapes(%x: tensor<2x3xi64>, %y: tensor<3xi1>) -> (tensor<6xi64>, tensor<3x2xi64>, tensor<4x3xi1>, tensor<2xf32>) {
  // CHECK: nn.reshape %{{.*}} : tensor<2x3xi64> -> tensor<6xi64>
  %0 = nn.reshape %x : tensor<2x3xi64> -> tensor<6xi64>
  // CHECK: nn.transpose %{{.*}} perm [1, 0] : tensor<2x3xi64> -> tensor<3x2xi64>
  %1 = nn.transpose %x perm [1, 0] : tensor<2x3xi64> -> tensor<3x2xi64>
  // CHECK: nn.broadcast_to %{{.*}} : tensor<3xi1> -> tensor<4x3xi1>
  %2 = nn.broadcast_to %y : tensor<3xi1> -> tensor<4x3xi1>
  // CHECK: nn.constant dense<[1.000000e+00, 2.000000e+00]> : tensor<2xf32>
  %3 = nn.constant dense<[1.0, 2.0]> : tensor<2xf32>
  return %0, %1, %2, %3 : tensor<6xi64>, tensor<3x2xi64>, tensor<4x3xi1>, tensor<2xf32>
}

// CHECK-LABEL: func @losses
func.func @losses(%p: tensor<4x3xf32>, %l: tensor<4x3xf32>) -> (tensor<f32>, tensor<f32>) {
  // CHECK: nn.l1_loss %{{.*}}, %{{.*}} : (tensor<4x3xf32>, tensor<4x3xf32>) -> tensor<f32>
  %0 = nn.l1_loss %p, %l : (tensor<4x3xf32>, tensor<4x3xf32>) -> tensor<f32>
  // CHECK: nn.mse_loss
  %1 = nn.mse_loss %p, %l : (tensor<4x3xf32>, tensor<4x3xf32>) -> tensor<f32>
  return %0, %1 : tensor<f32>, tensor<f32>
}

// CHECK-LABEL: func @language_model_ops
func.func @language_model_ops(%t: tensor<10x4xf32>, %i: tensor<2x3xi64>, %x: tensor<2x4xf32>, %g: tensor<4xf32>, %lab: tensor<2xi32>)
    -> (tensor<2x3x4xf32>, tensor<4x4xf32>, tensor<1x2xf32>, tensor<2x4xf32>, tensor<2x4xf32>, tensor<2x4xf32>, tensor<2x4xi1>, tensor<2x4xf32>, tensor<2x4xi32>, tensor<f32>, tensor<3x3xi64>, tensor<2x4xf32>) {
  // CHECK: nn.gather %{{.*}}[%{{.*}}] : (tensor<10x4xf32>, tensor<2x3xi64>) -> tensor<2x3x4xf32>
  %0 = nn.gather %t[%i] : (tensor<10x4xf32>, tensor<2x3xi64>) -> tensor<2x3x4xf32>
  // CHECK: nn.concat %{{.*}}, %{{.*}} axis 0 : (tensor<2x4xf32>, tensor<2x4xf32>) -> tensor<4x4xf32>
  %1 = nn.concat %x, %x axis 0 : (tensor<2x4xf32>, tensor<2x4xf32>) -> tensor<4x4xf32>
  // CHECK: nn.slice %{{.*}}{{\[\[}}1, -1] : [2, 0] : [1, -2]] : tensor<2x4xf32> -> tensor<1x2xf32>
  %2 = nn.slice %x[[1, -1] : [2, 0] : [1, -2]] : tensor<2x4xf32> -> tensor<1x2xf32>
  // CHECK: nn.layer_norm %{{.*}} gamma %{{.*}} beta %{{.*}} axes [-1] {eps = 1.000000e-03 : f64} : (tensor<2x4xf32>, tensor<4xf32>, tensor<4xf32>) -> tensor<2x4xf32>
  %3 = nn.layer_norm %x gamma %g beta %g axes [-1] {eps = 1.0e-3 : f64} : (tensor<2x4xf32>, tensor<4xf32>, tensor<4xf32>) -> tensor<2x4xf32>
  // CHECK: nn.gelu %{{.*}} {approximate = "tanh"} : tensor<2x4xf32>
  %4 = nn.gelu %x {approximate = "tanh"} : tensor<2x4xf32>
  // CHECK: nn.log_softmax %{{.*}} axis 1 : tensor<2x4xf32>
  %5 = nn.log_softmax %x axis 1 : tensor<2x4xf32>
  // CHECK: nn.lt %{{.*}}, %{{.*}} : (tensor<2x4xf32>, tensor<4xf32>) -> tensor<2x4xi1>
  %6 = nn.lt %x, %g : (tensor<2x4xf32>, tensor<4xf32>) -> tensor<2x4xi1>
  // CHECK: nn.select %{{.*}}, %{{.*}}, %{{.*}} : (tensor<2x4xi1>, tensor<2x4xf32>, tensor<4xf32>) -> tensor<2x4xf32>
  %7 = nn.select %6, %x, %g : (tensor<2x4xi1>, tensor<2x4xf32>, tensor<4xf32>) -> tensor<2x4xf32>
  // CHECK: nn.cast %{{.*}} : tensor<2x4xf32> -> tensor<2x4xi32>
  %8 = nn.cast %7 : tensor<2x4xf32> -> tensor<2x4xi32>
  // CHECK: nn.cross_entropy %{{.*}}, %{{.*}} : (tensor<2x4xf32>, tensor<2xi32>) -> tensor<f32>
  %9 = nn.cross_entropy %x, %lab : (tensor<2x4xf32>, tensor<2xi32>) -> tensor<f32>
  // CHECK: nn.iota axis 1 : tensor<3x3xi64>
  %10 = nn.iota axis 1 : tensor<3x3xi64>
  // CHECK: nn.pow
  %11 = nn.pow %x, %g : (tensor<2x4xf32>, tensor<4xf32>) -> tensor<2x4xf32>
  return %0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11 : tensor<2x3x4xf32>, tensor<4x4xf32>, tensor<1x2xf32>, tensor<2x4xf32>, tensor<2x4xf32>, tensor<2x4xf32>, tensor<2x4xi1>, tensor<2x4xf32>, tensor<2x4xi32>, tensor<f32>, tensor<3x3xi64>, tensor<2x4xf32>
}

// Comparisons, erf, the gradient-only ops and stop_gradient (each op has a
// line here: docs/ir.md takes its examples from this file).
// CHECK-LABEL: func @more
func.func @more(%x: tensor<2x4xf32>, %g: tensor<4xf32>, %u: tensor<2x3x4xf32>, %i: tensor<2x3xi64>) -> tensor<2x4xf32> {
  // CHECK: nn.eq %{{.*}}, %{{.*}} : (tensor<2x4xf32>, tensor<4xf32>) -> tensor<2x4xi1>
  %0 = nn.eq %x, %g : (tensor<2x4xf32>, tensor<4xf32>) -> tensor<2x4xi1>
  // CHECK: nn.ne %{{.*}}, %{{.*}} : (tensor<2x4xf32>, tensor<4xf32>) -> tensor<2x4xi1>
  %1 = nn.ne %x, %g : (tensor<2x4xf32>, tensor<4xf32>) -> tensor<2x4xi1>
  // CHECK: nn.gt %{{.*}}, %{{.*}} : (tensor<2x4xf32>, tensor<4xf32>) -> tensor<2x4xi1>
  %2 = nn.gt %x, %g : (tensor<2x4xf32>, tensor<4xf32>) -> tensor<2x4xi1>
  // CHECK: nn.ge %{{.*}}, %{{.*}} : (tensor<2x4xf32>, tensor<4xf32>) -> tensor<2x4xi1>
  %3 = nn.ge %x, %g : (tensor<2x4xf32>, tensor<4xf32>) -> tensor<2x4xi1>
  // CHECK: nn.le %{{.*}}, %{{.*}} : (tensor<2x4xf32>, tensor<4xf32>) -> tensor<2x4xi1>
  %4 = nn.le %x, %g : (tensor<2x4xf32>, tensor<4xf32>) -> tensor<2x4xi1>
  // CHECK: nn.erf %{{.*}} : tensor<2x4xf32>
  %5 = nn.erf %x : tensor<2x4xf32>
  // CHECK: nn.stop_gradient %{{.*}} : tensor<2x4xf32>
  %6 = nn.stop_gradient %5 : tensor<2x4xf32>
  // CHECK: nn.scatter_add %{{.*}}, %{{.*}} : (tensor<2x3x4xf32>, tensor<2x3xi64>) -> tensor<10x4xf32>
  %7 = nn.scatter_add %u, %i : (tensor<2x3x4xf32>, tensor<2x3xi64>) -> tensor<10x4xf32>
  // CHECK: nn.slice_scatter %{{.*}} into{{\[\[}}1, 0] : [2, 4] : [1, 2]] : tensor<1x2xf32> -> tensor<2x4xf32>
  %s = nn.slice %6[[1, 0] : [2, 4] : [1, 2]] : tensor<2x4xf32> -> tensor<1x2xf32>
  %8 = nn.slice_scatter %s into [[1, 0] : [2, 4] : [1, 2]] : tensor<1x2xf32> -> tensor<2x4xf32>
  return %8 : tensor<2x4xf32>
}

// CHECK-LABEL: func @dropout
func.func @dropout(%x: tensor<4x8xf32>, %step: tensor<i64>) -> tensor<4x8xf32> {
  // CHECK: nn.dropout %{{.*}}, %{{.*}} {rate = 1.000000e-01 : f64, seed = 7 : i64} : (tensor<4x8xf32>, tensor<i64>) -> tensor<4x8xf32>
  %y = nn.dropout %x, %step {rate = 0.1, seed = 7} : (tensor<4x8xf32>, tensor<i64>) -> tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}

// CHECK-LABEL: func @attention
func.func @attention(%q: tensor<2x4x8x16xf32>, %k: tensor<2x4x12x16xf32>, %v: tensor<2x4x12x8xf32>,
                     %m: tensor<8x12xi1>, %b: tensor<2x1x1x12xf32>) -> (tensor<2x4x8x8xf32>, tensor<2x4x8x8xf32>) {
  // CHECK: nn.attention %{{.*}}, %{{.*}}, %{{.*}} {causal} : (tensor<2x4x8x16xf32>, tensor<2x4x12x16xf32>, tensor<2x4x12x8xf32>) -> tensor<2x4x8x8xf32>
  %0 = nn.attention %q, %k, %v {causal} : (tensor<2x4x8x16xf32>, tensor<2x4x12x16xf32>, tensor<2x4x12x8xf32>) -> tensor<2x4x8x8xf32>
  // CHECK: nn.attention %{{.*}}, %{{.*}}, %{{.*}} mask %{{.*}} bias %{{.*}} {scale = 1.250000e-01 : f64} : (tensor<2x4x8x16xf32>, tensor<2x4x12x16xf32>, tensor<2x4x12x8xf32>, tensor<8x12xi1>, tensor<2x1x1x12xf32>) -> tensor<2x4x8x8xf32>
  %1 = nn.attention %q, %k, %v mask %m bias %b {scale = 0.125 : f64} : (tensor<2x4x8x16xf32>, tensor<2x4x12x16xf32>, tensor<2x4x12x8xf32>, tensor<8x12xi1>, tensor<2x1x1x12xf32>) -> tensor<2x4x8x8xf32>
  return %0, %1 : tensor<2x4x8x8xf32>, tensor<2x4x8x8xf32>
}

// CHECK-LABEL: func @attention_backward
func.func @attention_backward(%q: tensor<4x64x32xf32>, %k: tensor<4x64x32xf32>, %v: tensor<4x64x32xf32>, %o: tensor<4x64x32xf32>, %g: tensor<4x64x32xf32>) -> tensor<4x64x32xf32> {
  // CHECK: nn.attention_backward %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} {causal} : (tensor<4x64x32xf32>, tensor<4x64x32xf32>, tensor<4x64x32xf32>, tensor<4x64x32xf32>, tensor<4x64x32xf32>) -> (tensor<4x64x32xf32>, tensor<4x64x32xf32>, tensor<4x64x32xf32>)
  %dq, %dk, %dv = nn.attention_backward %q, %k, %v, %o, %g {causal} : (tensor<4x64x32xf32>, tensor<4x64x32xf32>, tensor<4x64x32xf32>, tensor<4x64x32xf32>, tensor<4x64x32xf32>) -> (tensor<4x64x32xf32>, tensor<4x64x32xf32>, tensor<4x64x32xf32>)
  return %dq : tensor<4x64x32xf32>
}

// CHECK-LABEL: func @conv2d
func.func @conv2d(%x: tensor<2x4x9x8xf32>, %w: tensor<6x2x3x3xf32>, %g: tensor<2x6x5x8xf32>) -> (tensor<2x6x5x8xf32>, tensor<2x4x9x8xf32>, tensor<6x2x3x3xf32>) {
  // CHECK: nn.conv2d %{{.*}}, %{{.*}} strides [2, 1] padding [1, 1, 1, 1] dilations [1, 1] groups 2 : (tensor<2x4x9x8xf32>, tensor<6x2x3x3xf32>) -> tensor<2x6x5x8xf32>
  %0 = nn.conv2d %x, %w strides [2, 1] padding [1, 1, 1, 1] dilations [1, 1] groups 2 : (tensor<2x4x9x8xf32>, tensor<6x2x3x3xf32>) -> tensor<2x6x5x8xf32>
  // CHECK: nn.conv2d_backward_input %{{.*}}, %{{.*}} input_size [9, 8] strides [2, 1] padding [1, 1, 1, 1] dilations [1, 1] groups 2
  %1 = nn.conv2d_backward_input %g, %w input_size [9, 8] strides [2, 1] padding [1, 1, 1, 1] dilations [1, 1] groups 2 : (tensor<2x6x5x8xf32>, tensor<6x2x3x3xf32>) -> tensor<2x4x9x8xf32>
  // CHECK: nn.conv2d_backward_weight %{{.*}}, %{{.*}} kernel_size [3, 3] strides [2, 1] padding [1, 1, 1, 1] dilations [1, 1] groups 2
  %2 = nn.conv2d_backward_weight %x, %g kernel_size [3, 3] strides [2, 1] padding [1, 1, 1, 1] dilations [1, 1] groups 2 : (tensor<2x4x9x8xf32>, tensor<2x6x5x8xf32>) -> tensor<6x2x3x3xf32>
  return %0, %1, %2 : tensor<2x6x5x8xf32>, tensor<2x4x9x8xf32>, tensor<6x2x3x3xf32>
}

// CHECK-LABEL: func @pool2d
func.func @pool2d(%x: tensor<1x2x6x7xf32>, %g: tensor<1x2x3x3xf32>) -> (tensor<1x2x3x3xf32>, tensor<1x2x3x3xf32>, tensor<1x2x6x7xf32>, tensor<1x2x6x7xf32>) {
  // CHECK: nn.max_pool2d %{{.*}} kernel [2, 3] strides [2, 2] padding [0, 0, 0, 0] : tensor<1x2x6x7xf32> -> tensor<1x2x3x3xf32>
  %0 = nn.max_pool2d %x kernel [2, 3] strides [2, 2] padding [0, 0, 0, 0] : tensor<1x2x6x7xf32> -> tensor<1x2x3x3xf32>
  // CHECK: nn.avg_pool2d %{{.*}} kernel [2, 3] strides [2, 2] padding [0, 0, 0, 0] {count_include_pad} : tensor<1x2x6x7xf32> -> tensor<1x2x3x3xf32>
  %1 = nn.avg_pool2d %x kernel [2, 3] strides [2, 2] padding [0, 0, 0, 0] {count_include_pad} : tensor<1x2x6x7xf32> -> tensor<1x2x3x3xf32>
  // CHECK: nn.max_pool2d_backward %{{.*}}, %{{.*}} kernel [2, 3] strides [2, 2] padding [0, 0, 0, 0]
  %2 = nn.max_pool2d_backward %x, %g kernel [2, 3] strides [2, 2] padding [0, 0, 0, 0] : (tensor<1x2x6x7xf32>, tensor<1x2x3x3xf32>) -> tensor<1x2x6x7xf32>
  // CHECK: nn.avg_pool2d_backward %{{.*}} input_size [6, 7] kernel [2, 3] strides [2, 2] padding [0, 0, 0, 0]
  %3 = nn.avg_pool2d_backward %g input_size [6, 7] kernel [2, 3] strides [2, 2] padding [0, 0, 0, 0] : (tensor<1x2x3x3xf32>) -> tensor<1x2x6x7xf32>
  return %0, %1, %2, %3 : tensor<1x2x3x3xf32>, tensor<1x2x3x3xf32>, tensor<1x2x6x7xf32>, tensor<1x2x6x7xf32>
}

// CHECK-LABEL: func @batch_norm
func.func @batch_norm(%x: tensor<8x4x5x5xf32>, %c: tensor<4xf32>) -> (tensor<8x4x5x5xf32>, tensor<4xf32>, tensor<4xf32>) {
  // (momentum 0.1 is the default, not printed)
  // CHECK: nn.batch_norm %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} {training} : (tensor<8x4x5x5xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>) -> (tensor<8x4x5x5xf32>, tensor<4xf32>, tensor<4xf32>)
  %y, %m, %v = nn.batch_norm %x, %c, %c, %c, %c {training, momentum = 0.1 : f64} : (tensor<8x4x5x5xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>) -> (tensor<8x4x5x5xf32>, tensor<4xf32>, tensor<4xf32>)
  return %y, %m, %v : tensor<8x4x5x5xf32>, tensor<4xf32>, tensor<4xf32>
}

// CHECK-LABEL: func @scan
func.func @scan(%h0: tensor<2x4xf32>, %xs: tensor<5x2x3xf32>, %w: tensor<3x4xf32>) -> (tensor<2x4xf32>, tensor<5x2x4xf32>) {
  // CHECK: nn.scan reverse inits(%{{.*}} : tensor<2x4xf32>) over(%{{.*}} : tensor<5x2x3xf32>) consts(%{{.*}} : tensor<3x4xf32>) -> (tensor<2x4xf32>, tensor<5x2x4xf32>) {
  // CHECK: ^bb0(%{{.*}}: tensor<2x4xf32>, %{{.*}}: tensor<2x3xf32>, %{{.*}}: tensor<3x4xf32>):
  // CHECK: nn.yield %{{.*}}, %{{.*}} : tensor<2x4xf32>, tensor<2x4xf32>
  %h, %hs = nn.scan reverse inits(%h0 : tensor<2x4xf32>) over(%xs : tensor<5x2x3xf32>) consts(%w : tensor<3x4xf32>) -> (tensor<2x4xf32>, tensor<5x2x4xf32>) {
  ^bb0(%c: tensor<2x4xf32>, %x: tensor<2x3xf32>, %wc: tensor<3x4xf32>):
    %p = nn.matmul %x, %wc : (tensor<2x3xf32>, tensor<3x4xf32>) -> tensor<2x4xf32>
    %s = nn.add %p, %c : (tensor<2x4xf32>, tensor<2x4xf32>) -> tensor<2x4xf32>
    %n = nn.tanh %s : tensor<2x4xf32>
    nn.yield %n, %n : tensor<2x4xf32>, tensor<2x4xf32>
  }
  // A scan without carries: a map over the steps.
  // CHECK: nn.scan over(%{{.*}} : tensor<5x2x3xf32>) -> (tensor<5x2x3xf32>) {
  %m = nn.scan over(%xs : tensor<5x2x3xf32>) -> (tensor<5x2x3xf32>) {
  ^bb0(%x: tensor<2x3xf32>):
    %e = nn.exp %x : tensor<2x3xf32>
    nn.yield %e : tensor<2x3xf32>
  }
  return %h, %hs : tensor<2x4xf32>, tensor<5x2x4xf32>
}
