// kiln-tile-convolution: a convolution in the direct form (out[n, g, o, q]
// += x[n, g, c, q + 11 kh + kw] * w[g, o, c, kh, kw]) becomes register tiles
// of 8 output channels x 32 positions: the column tiles outside the row
// tiles, accumulators in registers over (c, kh, kw) (the short kw loop
// unrolled), one vector load of the shifted input and one broadcast FMA per
// row per step; the partial tiles
// (110 = 3 x 32 + 14 positions, 20 = 2 x 8 + 4 channels) peeled with static
// sizes; the loop of column tiles named and on the thread pool.
// RUN: kiln-opt %s --kiln-tile-convolution="parallel-min-flops=1000" --canonicalize --cse -split-input-file | FileCheck %s

#x = affine_map<(d0, d1, d2, d3, d4, d5, d6) -> (d0, d1, d4, d3 + d5 * 11 + d6)>
#w = affine_map<(d0, d1, d2, d3, d4, d5, d6) -> (d1, d2, d4, d5, d6)>
#o = affine_map<(d0, d1, d2, d3, d4, d5, d6) -> (d0, d1, d2, d3)>
// CHECK-LABEL: func @direct_form
// CHECK: scf.for %[[Q:.*]] = %c0 to %c96 step %c32
// CHECK:   scf.for %[[O:.*]] = %c0 to %c16 step %c8
// CHECK:     scf.for %[[C:.*]] = %c0 to %c16 step %c1 iter_args({{.*}}) -> (vector<32xf32>, vector<32xf32>, vector<32xf32>, vector<32xf32>, vector<32xf32>, vector<32xf32>, vector<32xf32>, vector<32xf32>)
// CHECK:       scf.for %[[KH:.*]] = %c0 to %c3
// CHECK:         %[[V:.*]] = vector.transfer_read %{{.*}}[%c0, %c0, %[[C]], %{{.*}}], %{{.*}} {in_bounds = [true]} : tensor<1x1x16x56xf32>, vector<32xf32>
// CHECK:         %[[S:.*]] = tensor.extract %{{.*}}[%c0, %c0, %[[C]], %[[KH]], %c0] : tensor<1x8x16x3x3xf32>
// CHECK:         %[[B:.*]] = vector.broadcast %[[S]] : f32 to vector<32xf32>
// CHECK:         vector.fma %[[B]], %[[V]], %{{.*}} : vector<32xf32>
// CHECK-COUNT-7: vector.fma
// The kernel row's three taps (kw) unrolled:
// CHECK:         tensor.extract %{{.*}}[%c0, %c0, %[[C]], %[[KH]], %c1] : tensor<1x8x16x3x3xf32>
// CHECK:         tensor.extract %{{.*}}[%c0, %c0, %[[C]], %[[KH]], %c2] : tensor<1x8x16x3x3xf32>
// CHECK:     vector.transfer_write %{{.*}}[%c0, %c0, %c0, %c0] {in_bounds = [true]} : vector<32xf32>, tensor<1x1x8x32xf32>
// CHECK:   vector.transfer_write {{.*}} : vector<32xf32>, tensor<1x1x4x32xf32>
// CHECK: } {kiln.kernel = "convolution 1x1x20x110x16x3x3", kiln.parallel}
// CHECK: vector.transfer_write {{.*}} : vector<14xf32>, tensor<1x1x8x14xf32>
// CHECK: vector.transfer_write {{.*}} : vector<14xf32>, tensor<1x1x4x14xf32>
// CHECK-NOT: linalg.generic
func.func @direct_form(%x: tensor<1x1x16x143xf32>, %w: tensor<1x20x16x3x3xf32>) -> tensor<1x1x20x110xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<1x1x20x110xf32>
  %init = linalg.fill ins(%zero : f32) outs(%e : tensor<1x1x20x110xf32>) -> tensor<1x1x20x110xf32>
  %0 = linalg.generic {indexing_maps = [#x, #w, #o], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction", "reduction", "reduction"]} ins(%x, %w : tensor<1x1x16x143xf32>, tensor<1x20x16x3x3xf32>) outs(%init : tensor<1x1x20x110xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %m = arith.mulf %a, %b : f32
    %s = arith.addf %acc, %m : f32
    linalg.yield %s : f32
  } -> tensor<1x1x20x110xf32>
  return %0 : tensor<1x1x20x110xf32>
}

// -----

// A plain matmul (projected permutations, one reduction) is left to
// kiln-tile-matmul.
#a = affine_map<(d0, d1, d2) -> (d0, d2)>
#b = affine_map<(d0, d1, d2) -> (d2, d1)>
#c = affine_map<(d0, d1, d2) -> (d0, d1)>
// CHECK-LABEL: func @matmul_left_alone
// CHECK-NOT: scf.for
// CHECK: linalg.generic
func.func @matmul_left_alone(%a: tensor<64x64xf32>, %b: tensor<64x64xf32>, %init: tensor<64x64xf32>) -> tensor<64x64xf32> {
  %0 = linalg.generic {indexing_maps = [#a, #b, #c], iterator_types = ["parallel", "parallel", "reduction"]} ins(%a, %b : tensor<64x64xf32>, tensor<64x64xf32>) outs(%init : tensor<64x64xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %m = arith.mulf %x, %y : f32
    %s = arith.addf %acc, %m : f32
    linalg.yield %s : f32
  } -> tensor<64x64xf32>
  return %0 : tensor<64x64xf32>
}
