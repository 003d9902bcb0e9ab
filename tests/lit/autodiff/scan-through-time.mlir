// The gradient of nn.scan is backpropagation through time: the forward scan
// is replaced by a recording twin that also stacks the carry each step
// received and the result of each product that changes from step to step
// (`c w` here), and a scan over the steps in the opposite order carries the
// carry's cotangent, recomputes the step's elementwise ops from its saved
// carry, row and product (the product itself is not computed again), and
// yields the row's cotangent. The captured weight's gradient (a product over
// the batch at every step) is one matmul over all steps after the loop, of
// the saved carries and the stacked cotangents (K = steps x batch).
// RUN: kiln-opt %s --kiln-differentiate="wrt=w" --canonicalize --cse | FileCheck %s

// CHECK-LABEL: func.func @main_grad(
// CHECK-SAME: %[[H0:arg1]]: tensor<2x4xf32> {nn.name = "h0"}, %[[W:arg2]]: tensor<4x4xf32>
// The forward once, recording: final carry, stacked outputs, saved carries,
// saved products.
// CHECK:      %[[FWD:.*]]:4 = nn.scan inits(%[[H0]] : tensor<2x4xf32>) over(%arg0 : tensor<5x2x4xf32>) consts(%[[W]] : tensor<4x4xf32>) -> (tensor<2x4xf32>, tensor<5x2x4xf32>, tensor<5x2x4xf32>, tensor<5x2x4xf32>)
// CHECK:        %[[P:.*]] = nn.matmul
// CHECK:        nn.yield %{{.*}}, %{{.*}}, %{{.*}}, %[[P]] : tensor<2x4xf32>, tensor<2x4xf32>, tensor<2x4xf32>, tensor<2x4xf32>
// The backward scan runs the other way, over the saved carries, the inputs,
// the outputs' cotangent and the saved products; it carries d carry only
// (no accumulator), and its one product is the cotangent's.
// CHECK:      %[[BWD:.*]]:2 = nn.scan reverse inits(%arg3 : tensor<2x4xf32>) over(%[[FWD]]#2, %arg0, %arg4, %[[FWD]]#3 : tensor<5x2x4xf32>, tensor<5x2x4xf32>, tensor<5x2x4xf32>, tensor<5x2x4xf32>) consts(%[[W]] : tensor<4x4xf32>) -> (tensor<2x4xf32>, tensor<5x2x4xf32>)
// CHECK-NEXT:   ^bb0(%{{.*}}: tensor<2x4xf32>, %{{.*}}: tensor<2x4xf32>, %[[X:.*]]: tensor<2x4xf32>, %{{.*}}: tensor<2x4xf32>, %[[SAVED:.*]]: tensor<2x4xf32>, %{{.*}}: tensor<4x4xf32>):
// CHECK-NOT:    nn.matmul
// CHECK:        nn.add %[[SAVED]], %[[X]]
// CHECK:        nn.tanh
// CHECK-NOT:    transpose_a
// CHECK:        nn.matmul %{{.*}}, %{{.*}} {transpose_b}
// CHECK-NOT:    transpose_a
// CHECK:        nn.yield
// After it: d w = saved carries^T x cotangents, [10, 4]^T x [10, 4].
// CHECK:      %[[H:.*]] = nn.reshape %[[FWD]]#2 : tensor<5x2x4xf32> -> tensor<10x4xf32>
// CHECK:      %[[G:.*]] = nn.reshape %[[BWD]]#1 : tensor<5x2x4xf32> -> tensor<10x4xf32>
// CHECK:      %[[DW:.*]] = nn.matmul %[[H]], %[[G]] {transpose_a} : (tensor<10x4xf32>, tensor<10x4xf32>) -> tensor<4x4xf32>
// CHECK:      return %[[FWD]]#0, %[[FWD]]#1, %[[DW]]
func.func @main(%xs: tensor<5x2x4xf32> {nn.name = "xs"}, %h0: tensor<2x4xf32> {nn.name = "h0"}, %w: tensor<4x4xf32> {nn.name = "w", nn.param = {init = "normal", std = 0.5}}) -> (tensor<2x4xf32> {nn.name = "h"}, tensor<5x2x4xf32> {nn.name = "hs"}) {
  %h, %hs = nn.scan inits(%h0 : tensor<2x4xf32>) over(%xs : tensor<5x2x4xf32>) consts(%w : tensor<4x4xf32>) -> (tensor<2x4xf32>, tensor<5x2x4xf32>) {
  ^bb0(%c: tensor<2x4xf32>, %x: tensor<2x4xf32>, %wc: tensor<4x4xf32>):
    %p = nn.matmul %c, %wc : (tensor<2x4xf32>, tensor<4x4xf32>) -> tensor<2x4xf32>
    %s = nn.add %p, %x : (tensor<2x4xf32>, tensor<2x4xf32>) -> tensor<2x4xf32>
    %n = nn.tanh %s : tensor<2x4xf32>
    nn.yield %n, %n : tensor<2x4xf32>, tensor<2x4xf32>
  }
  return %h, %hs : tensor<2x4xf32>, tensor<5x2x4xf32>
}
