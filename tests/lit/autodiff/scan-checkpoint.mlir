// checkpoint_every = 2 over 5 steps: the forward becomes a scan over 2
// segments of 2 steps (each an inner scan) and a scan of the step left; the
// recording saves only each segment's incoming carry (2 rows, not 5). The
// segment scan's backward recomputes the segment with a recording inner scan
// (its 2 carries saved) and runs an inner backward scan through it; the
// weight's gradient is one matmul per segment (K = 2 steps x batch), added
// up by the segment scan, which stacks nothing more per step. Only the
// scans run whole (the step left, a segment's inner scan while its
// backward runs) also save their steps' products.
// RUN: kiln-opt %s --kiln-differentiate="wrt=w" --canonicalize --cse | FileCheck %s

// CHECK-LABEL: func.func @main_grad(
// CHECK:      %[[HEAD:.*]] = nn.reshape %{{.*}} : tensor<4x2x4xf32> -> tensor<2x2x2x4xf32>
// CHECK:      %[[TAIL:.*]] = nn.slice %arg0{{\[\[}}4, 0, 0] : [5, 2, 4] : [1, 1, 1]]
// The segments, recording one carry per segment.
// CHECK:      %[[SEG:.*]]:3 = nn.scan inits(%arg1 : tensor<2x4xf32>) over(%[[HEAD]] : tensor<2x2x2x4xf32>) consts(%arg2 : tensor<4x4xf32>) -> (tensor<2x4xf32>, tensor<2x2x2x4xf32>, tensor<2x2x4xf32>)
// CHECK:        nn.scan inits(%{{.*}}) over(%{{.*}} : tensor<2x2x4xf32>)
// CHECK:      %[[REST:.*]]:4 = nn.scan inits(%[[SEG]]#0 : tensor<2x4xf32>) over(%[[TAIL]] : tensor<1x2x4xf32>)
// Backwards: the step left, then the segments over their saved carries.
// CHECK:      %[[DREST:.*]]:2 = nn.scan reverse inits(%arg3 : tensor<2x4xf32>) over(%[[REST]]#2, %[[TAIL]], %[[REST]]#3 :
// CHECK:      nn.scan reverse inits(%[[DREST]]#0, %{{.*}}) over(%[[SEG]]#2, %[[HEAD]] : tensor<2x2x4xf32>, tensor<2x2x2x4xf32>)
// Inside: the segment recomputed and recorded, then run backwards.
// CHECK:        %[[RE:.*]]:4 = nn.scan inits(%{{.*}}) over(%{{.*}} : tensor<2x2x4xf32>) consts(%{{.*}}) -> (tensor<2x4xf32>, tensor<2x2x4xf32>, tensor<2x2x4xf32>, tensor<2x2x4xf32>)
// CHECK:        %[[IN:.*]]:2 = nn.scan reverse inits(%{{.*}}) over(%[[RE]]#2, %{{.*}}, %[[RE]]#3 : tensor<2x2x4xf32>, tensor<2x2x4xf32>, tensor<2x2x4xf32>)
// CHECK:        %[[SAVED:.*]] = nn.reshape %[[RE]]#2 : tensor<2x2x4xf32> -> tensor<4x4xf32>
// CHECK:        %[[COT:.*]] = nn.reshape %[[IN]]#1 : tensor<2x2x4xf32> -> tensor<4x4xf32>
// CHECK:        %[[DW:.*]] = nn.matmul %[[SAVED]], %[[COT]] {transpose_a}
// CHECK:        %[[ACC:.*]] = nn.add %{{.*}}, %[[DW]]
// CHECK:        nn.yield %[[IN]]#0, %[[ACC]], %[[IN]]#1 : tensor<2x4xf32>, tensor<4x4xf32>, tensor<2x2x4xf32>
func.func @main(%xs: tensor<5x2x4xf32> {nn.name = "xs"}, %h0: tensor<2x4xf32> {nn.name = "h0"}, %w: tensor<4x4xf32> {nn.name = "w", nn.param = {init = "normal", std = 0.5}}) -> (tensor<2x4xf32> {nn.name = "h"}) {
  %h, %hs = nn.scan inits(%h0 : tensor<2x4xf32>) over(%xs : tensor<5x2x4xf32>) consts(%w : tensor<4x4xf32>) {checkpoint_every = 2 : i64} -> (tensor<2x4xf32>, tensor<5x2x4xf32>) {
  ^bb0(%c: tensor<2x4xf32>, %x: tensor<2x4xf32>, %wc: tensor<4x4xf32>):
    %p = nn.matmul %c, %wc : (tensor<2x4xf32>, tensor<4x4xf32>) -> tensor<2x4xf32>
    %s = nn.add %p, %x : (tensor<2x4xf32>, tensor<2x4xf32>) -> tensor<2x4xf32>
    %n = nn.tanh %s : tensor<2x4xf32>
    nn.yield %n, %n : tensor<2x4xf32>, tensor<2x4xf32>
  }
  return %h : tensor<2x4xf32>
}
