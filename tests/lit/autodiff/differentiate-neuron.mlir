// The gradient IR of the neuron's L1 loss: the forward ops, then their
// reverse, as nn ops: sign of the error for l1_loss, y(1 - y) for sigmoid,
// a sum over the batch for the broadcast bias, x^T g for the weight.
// RUN: kiln-opt %s --kiln-differentiate --canonicalize --cse | FileCheck %s

// CHECK-LABEL: func.func @main_grad(
// CHECK-SAME: -> (tensor<f32> {nn.name = "loss"}, tensor<1x1xf32> {nn.name = "d_a"}, tensor<1xf32> {nn.name = "d_b"})
// CHECK: %[[Y:.*]] = nn.sigmoid
// CHECK: %[[L:.*]] = nn.l1_loss %[[Y]], %arg1
// CHECK: %[[ERR:.*]] = nn.sub %[[Y]], %arg1
// CHECK: nn.gt %[[ERR]]
// CHECK: nn.lt %[[ERR]]
// CHECK: %[[ONE_MINUS:.*]] = nn.sub %{{.*}}, %[[Y]] : (tensor<f32>, tensor<8x1xf32>)
// CHECK: %[[DSIG:.*]] = nn.mul %[[Y]], %[[ONE_MINUS]]
// CHECK: %[[DZ:.*]] = nn.mul %{{.*}}, %[[DSIG]]
// CHECK: %[[DB1:.*]] = nn.reduce_sum %[[DZ]] axes [0] keepdims : tensor<8x1xf32> -> tensor<1x1xf32>
// CHECK: %[[DB:.*]] = nn.reshape %[[DB1]] : tensor<1x1xf32> -> tensor<1xf32>
// CHECK: %[[DA:.*]] = nn.matmul %arg0, %[[DZ]] {transpose_a} : (tensor<8x1xf32>, tensor<8x1xf32>) -> tensor<1x1xf32>
// CHECK: return %[[L]], %[[DA]], %[[DB]]
func.func @main(%x: tensor<8x1xf32> {nn.name = "x"}, %label: tensor<8x1xf32> {nn.name = "label"},
                %a: tensor<1x1xf32> {nn.name = "a", nn.param = {init = "zeros"}},
                %b: tensor<1xf32> {nn.name = "b", nn.param = {init = "zeros"}})
    -> (tensor<f32> {nn.name = "loss"}) {
  %ax = nn.matmul %x, %a : (tensor<8x1xf32>, tensor<1x1xf32>) -> tensor<8x1xf32>
  %z = nn.add %ax, %b : (tensor<8x1xf32>, tensor<1xf32>) -> tensor<8x1xf32>
  %y = nn.sigmoid %z : tensor<8x1xf32>
  %l = nn.l1_loss %y, %label : (tensor<8x1xf32>, tensor<8x1xf32>) -> tensor<f32>
  return %l : tensor<f32>
}
