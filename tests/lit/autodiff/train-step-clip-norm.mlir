// clip-norm: before the update, every gradient is multiplied by one
// coefficient, min(1, max / (||g||_2 + 1e-6)) over all trained parameters
// (PyTorch's clip_grad_norm_).
// RUN: kiln-opt %s "--kiln-make-train-step=optimizer=sgd clip-norm=0.5" --canonicalize --cse | FileCheck %s

// CHECK-LABEL: func.func @main_train_step
// CHECK-DAG:   %[[SW:.*]] = nn.reduce_sum %{{.*}} axes [0, 1] : tensor<3x2xf32> -> tensor<f32>
// CHECK-DAG:   %[[SB:.*]] = nn.reduce_sum %{{.*}} axes [0] : tensor<2xf32> -> tensor<f32>
// CHECK:       %[[TOTAL:.*]] = nn.add
// CHECK:       %[[ROOT:.*]] = nn.sqrt %[[TOTAL]]
// CHECK:       %[[NORM:.*]] = nn.add %[[ROOT]]
// CHECK:       %[[OVER:.*]] = nn.gt %[[NORM]]
// CHECK:       %[[SCALE:.*]] = nn.div
// CHECK:       %[[COEF:.*]] = nn.select %[[OVER]], %[[SCALE]]
// CHECK-DAG:   nn.mul %{{.*}}, %[[COEF]] : (tensor<3x2xf32>, tensor<f32>)
// CHECK-DAG:   nn.mul %{{.*}}, %[[COEF]] : (tensor<2xf32>, tensor<f32>)
func.func @main(%x: tensor<4x3xf32> {nn.name = "x"}, %t: tensor<4x2xf32> {nn.name = "t"},
                %w: tensor<3x2xf32> {nn.name = "w", nn.param = {init = "ones"}},
                %b: tensor<2xf32> {nn.name = "b", nn.param = {init = "zeros"}}) -> (tensor<f32> {nn.name = "loss"}) {
  %0 = nn.matmul %x, %w : (tensor<4x3xf32>, tensor<3x2xf32>) -> tensor<4x2xf32>
  %1 = nn.add %0, %b : (tensor<4x2xf32>, tensor<2xf32>) -> tensor<4x2xf32>
  %l = nn.mse_loss %1, %t : (tensor<4x2xf32>, tensor<4x2xf32>) -> tensor<f32>
  return %l : tensor<f32>
}
