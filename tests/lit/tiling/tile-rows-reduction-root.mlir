// A sum over the row whose result leaves the group (one value per row, not
// broadcast back) is a row kernel too: tiled to one row with its producer
// fused (its exponentials into a one-row buffer that stays in L1), then
// split into vector-wide pieces and partial sums. (As plain loops it was a
// scalar chain at about 1 GB/s.) Cross-entropy's log-sum-exp is one.
// RUN: kiln-opt %s --split-input-file --kiln-lower-nn-to-linalg --kiln-tile-rows --canonicalize --cse \
// RUN:   --loop-invariant-code-motion --loop-invariant-subset-hoisting --canonicalize | FileCheck %s

// CHECK-LABEL: func @sum_of_exp
// CHECK:       scf.for %[[ROW:.*]] = %c0 to %c4096 step %c1
// CHECK:         scf.for {{.*}} to %c256 step %c64
// CHECK:           math.exp {{.*}} : vector<1x64xf32>
// CHECK:         math.exp {{.*}} : vector<1x44xf32>
// CHECK:         scf.for {{.*}} to %c256 step %c64 iter_args(%{{.*}} = %{{.*}}) -> (vector<1x64xf32>)
// CHECK:           arith.addf {{.*}} : vector<1x64xf32>
// CHECK:         arith.addf {{.*}} : vector<1x44xf32>
// CHECK:         vector.multi_reduction <add>
// CHECK:       } {kiln.parallel}
// CHECK-NOT:   linalg.generic
func.func @sum_of_exp(%x: tensor<4096x300xf32>) -> tensor<4096xf32> {
  %e = nn.exp %x : tensor<4096x300xf32>
  %s = nn.reduce_sum %e axes [1] : tensor<4096x300xf32> -> tensor<4096xf32>
  return %s : tensor<4096xf32>
}

// -----

// CHECK-LABEL: func @cross_entropy
// CHECK:       scf.for {{.*}} to %c64 step %c1
// CHECK:         arith.maximumf {{.*}} : vector<1x64xf32>
// CHECK:       } {kiln.parallel}
// CHECK:       scf.for {{.*}} to %c64 step %c1
// CHECK:         math.exp {{.*}} : vector<1x64xf32>
// CHECK:       } {kiln.parallel}
func.func @cross_entropy(%x: tensor<64x2580xf32>, %y: tensor<64xi64>) -> tensor<f32> {
  %l = nn.cross_entropy %x, %y : (tensor<64x2580xf32>, tensor<64xi64>) -> tensor<f32>
  return %l : tensor<f32>
}
