// Only what reaches the loss and depends on the differentiated arguments
// gets backward work: the unused branch (%unused) and the input-only branch
// produce no gradient ops (no tanh derivative); w used twice sums its two
// cotangents (identical, so CSE'd to one mul); a
// non-scalar output takes a cotangent argument.
// RUN: kiln-opt %s "--kiln-differentiate=wrt=w" --canonicalize --cse | FileCheck %s

// CHECK-LABEL: func.func @main_grad(
// CHECK-SAME: %[[X:arg0]]: tensor<4xf32> {nn.name = "x"}
// CHECK-SAME: %[[W:arg1]]: tensor<4xf32>
// CHECK-SAME: %[[DY:arg2]]: tensor<4xf32> {nn.name = "d_y"})
// CHECK-SAME: -> (tensor<4xf32> {nn.name = "y"}, tensor<4xf32> {nn.name = "d_w"})
// CHECK-NOT: nn.exp
// CHECK: %[[Y:.*]] = nn.add
// CHECK: %[[G:.*]] = nn.mul %[[DY]], %[[W]]
// CHECK-NEXT: %[[SUM:.*]] = nn.add %[[G]], %[[G]]
// CHECK-NEXT: return %[[Y]], %[[SUM]]
func.func @main(%x: tensor<4xf32> {nn.name = "x"}, %w: tensor<4xf32> {nn.name = "w", nn.param = {init = "ones"}})
    -> (tensor<4xf32> {nn.name = "y"}) {
  %unused = nn.exp %w : tensor<4xf32>
  %xx = nn.tanh %x : tensor<4xf32>
  %w2 = nn.mul %w, %w : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  %y = nn.add %w2, %xx : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  return %y : tensor<4xf32>
}
