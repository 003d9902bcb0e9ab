// RUN: kiln-opt %s --kiln-lower-nn-to-linalg | FileCheck %s

// A scan whose stacked output is inserted into a loop's tensor (a block of
// rows that kiln-split-scan-rows made) builds its stack in that window: the
// loop starts from the slice the insert writes back (bufferized in place),
// not from an allocation of its own copied there afterwards. The carry is
// still a copy of its init.
// CHECK-LABEL: func.func @block_of_rows(
// CHECK:         scf.for %[[K:.*]] = {{.*}} iter_args(%[[INTO:.*]] = %{{.*}}) -> (tensor<5x16x4xf32>)
// CHECK:           %[[C:.*]] = bufferization.alloc_tensor() copy(
// CHECK:           %[[WINDOW:.*]] = tensor.extract_slice %[[INTO]][0, %[[FIRST:.*]], 0] [5, 8, 4] [1, 1, 1]
// CHECK-NOT:       bufferization.alloc_tensor
// CHECK:           %[[LOOP:.*]]:2 = scf.for {{.*}} iter_args(%{{.*}} = %[[C]], %{{.*}} = %[[WINDOW]])
// CHECK:           tensor.insert_slice %[[LOOP]]#1 into %[[INTO]][0, %[[FIRST]], 0] [5, 8, 4] [1, 1, 1]
func.func @block_of_rows(%h0: tensor<16x4xf32>, %xs: tensor<5x16x4xf32>) -> tensor<5x16x4xf32> {
  %all = tensor.empty() : tensor<5x16x4xf32>
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c8 = arith.constant 8 : index
  %r = scf.for %k = %c0 to %c2 step %c1 iter_args(%into = %all) -> (tensor<5x16x4xf32>) {
    %first = arith.muli %k, %c8 : index
    %h = tensor.extract_slice %h0[%first, 0] [8, 4] [1, 1] : tensor<16x4xf32> to tensor<8x4xf32>
    %x = tensor.extract_slice %xs[0, %first, 0] [5, 8, 4] [1, 1, 1] : tensor<5x16x4xf32> to tensor<5x8x4xf32>
    %last, %ys = nn.scan inits(%h : tensor<8x4xf32>) over(%x : tensor<5x8x4xf32>) -> (tensor<8x4xf32>, tensor<5x8x4xf32>) {
    ^bb0(%c: tensor<8x4xf32>, %xt: tensor<8x4xf32>):
      %s = nn.add %c, %xt : (tensor<8x4xf32>, tensor<8x4xf32>) -> tensor<8x4xf32>
      nn.yield %s, %s : tensor<8x4xf32>, tensor<8x4xf32>
    }
    %next = tensor.insert_slice %ys into %into[0, %first, 0] [5, 8, 4] [1, 1, 1] : tensor<5x8x4xf32> into tensor<5x16x4xf32>
    scf.yield %next : tensor<5x16x4xf32>
  }
  return %r : tensor<5x16x4xf32>
}
