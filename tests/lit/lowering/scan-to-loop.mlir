// nn.scan becomes one scf.for over its steps (never unrolled): its carries
// and stacked outputs are allocations of their own (the carries start as
// copies of the inits), row t of each scanned input is an extract_slice
// (t = T - 1 - i when reversed), the body's ops are lowered inside the
// loop, each step output is inserted at row t of its stack, and then the
// next carry is copied into the loop's own carry (one buffer for the whole
// loop).
// RUN: kiln-opt %s --kiln-lower-nn-to-linalg | FileCheck %s

// CHECK-LABEL: func.func @rnn
// CHECK:     %[[INIT:.*]] = bufferization.alloc_tensor() copy(%arg0) : tensor<2x4xf32>
// CHECK:     %[[STACK:.*]] = bufferization.alloc_tensor() : tensor<5x2x4xf32>
// CHECK:     %[[LOOP:.*]]:2 = scf.for %[[I:.*]] = %{{.*}} to %{{.*}} step %{{.*}} iter_args(%[[C:.*]] = %[[INIT]], %[[YS:.*]] = %[[STACK]])
// CHECK:       %[[T:.*]] = arith.subi %{{.*}}, %[[I]] : index
// CHECK:       %[[X:.*]] = tensor.extract_slice %arg1[%[[T]], 0, 0] [1, 2, 3] [1, 1, 1] : tensor<5x2x3xf32> to tensor<2x3xf32>
// CHECK:       linalg.generic {{.*}} ins(%[[X]], %arg2
// CHECK:       math.tanh
// CHECK:       %[[ROW:.*]] = tensor.insert_slice %{{.*}} into %[[YS]][%[[T]], 0, 0] [1, 2, 4] [1, 1, 1]
// CHECK:       %[[NEXT:.*]] = linalg.copy ins(%{{.*}} : tensor<2x4xf32>) outs(%[[C]] : tensor<2x4xf32>)
// CHECK:       scf.yield %[[NEXT]], %[[ROW]]
// CHECK-NOT: nn.
// CHECK:     return %[[LOOP]]#0, %[[LOOP]]#1
func.func @rnn(%h0: tensor<2x4xf32>, %xs: tensor<5x2x3xf32>, %w: tensor<3x4xf32>) -> (tensor<2x4xf32>, tensor<5x2x4xf32>) {
  %h, %hs = nn.scan reverse inits(%h0 : tensor<2x4xf32>) over(%xs : tensor<5x2x3xf32>) consts(%w : tensor<3x4xf32>) -> (tensor<2x4xf32>, tensor<5x2x4xf32>) {
  ^bb0(%c: tensor<2x4xf32>, %x: tensor<2x3xf32>, %wc: tensor<3x4xf32>):
    %p = nn.matmul %x, %wc : (tensor<2x3xf32>, tensor<3x4xf32>) -> tensor<2x4xf32>
    %s = nn.add %p, %c : (tensor<2x4xf32>, tensor<2x4xf32>) -> tensor<2x4xf32>
    %n = nn.tanh %s : tensor<2x4xf32>
    nn.yield %n, %n : tensor<2x4xf32>, tensor<2x4xf32>
  }
  return %h, %hs : tensor<2x4xf32>, tensor<5x2x4xf32>
}

