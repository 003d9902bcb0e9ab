// softmax becomes one kernel per row: the division (the group's last op) is
// tiled to one row and the max, exponentials and sum fused into that loop,
// exponentials computed once; rows of 300 are split into vector pieces of
// 64 (the partial max and sum stay in a vector register across the piece
// loop) and a peeled piece of 44. 4096 rows are worth threads: the row loop
// is marked kiln.parallel.
// RUN: kiln-opt %s --split-input-file --kiln-lower-nn-to-linalg --kiln-tile-rows --canonicalize --cse \
// RUN:   --loop-invariant-code-motion --loop-invariant-subset-hoisting --canonicalize | FileCheck %s

// CHECK-LABEL: func @main
// CHECK:       scf.for %[[ROW:.*]] = %c0 to %c4096 step %c1
// CHECK:         scf.for {{.*}} to %c256 step %c64 iter_args(%{{.*}} = %{{.*}}) -> (vector<1x64xf32>)
// CHECK:           arith.maximumf {{.*}} : vector<1x64xf32>
// CHECK:         arith.maximumf {{.*}} : vector<1x44xf32>
// CHECK:         vector.multi_reduction <maximumf>
// CHECK:         scf.for
// CHECK:           math.exp {{.*}} : vector<1x64xf32>
// CHECK:         math.exp {{.*}} : vector<1x44xf32>
// CHECK:         scf.for {{.*}} -> (vector<1x64xf32>)
// CHECK:           arith.addf {{.*}} : vector<1x64xf32>
// CHECK:         vector.multi_reduction <add>
// CHECK:         scf.for
// CHECK:           arith.divf {{.*}} : vector<1x64xf32>
// CHECK:         arith.divf {{.*}} : vector<1x44xf32>
// CHECK:       } {kiln.parallel}
// CHECK-NOT:   math.exp
// CHECK-NOT:   linalg.generic
func.func @main(%x: tensor<4096x300xf32>) -> tensor<4096x300xf32> {
  %0 = nn.softmax %x axis -1 : tensor<4096x300xf32>
  return %0 : tensor<4096x300xf32>
}

// -----

// A short row is one piece, in registers; four rows are not worth threads.
// CHECK-LABEL: func @short_rows
// CHECK:       scf.for {{.*}} to %c4 step %c1
// CHECK:         vector.multi_reduction <maximumf>, {{.*}} : vector<1x3xf32> to vector<1xf32>
// CHECK:         math.exp {{.*}} : vector<1x3xf32>
// CHECK:         vector.multi_reduction <add>
// CHECK:         arith.divf {{.*}} : vector<1x3xf32>
// CHECK-NOT:   kiln.parallel
func.func @short_rows(%x: tensor<4x3xf32>) -> tensor<4x3xf32> {
  %0 = nn.softmax %x axis -1 : tensor<4x3xf32>
  return %0 : tensor<4x3xf32>
}
