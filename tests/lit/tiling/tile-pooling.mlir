// kiln-tile-pooling: a max pooling window (x[n, c, 2i + kh, 2j + kw]) as
// vector code: each output row in pieces of 32 outputs (35 = 32 + 3, the
// tail peeled), per tap one contiguous load of the input row and a shuffle
// picking every second element, combined by maximumf in the taps'
// row-major order; the row loop on the thread pool.
// RUN: kiln-opt %s --kiln-tile-pooling="parallel-min-elements=16" --canonicalize --cse | FileCheck %s

#x = affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d1, d2 * 2 + d4, d3 * 2 + d5)>
#w = affine_map<(d0, d1, d2, d3, d4, d5) -> (d4, d5)>
#o = affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d1, d2, d3)>
// CHECK-LABEL: func @max_pool
// CHECK: scf.for %{{.*}} = %c0 to %c2 step %c1
// CHECK:   scf.for %{{.*}} = %c0 to %c4 step %c1
// CHECK:     %[[R:.*]] = vector.transfer_read %{{.*}} {in_bounds = [true]} : tensor<1x1x2x64xf32>, vector<63xf32>
// CHECK:     vector.shuffle %[[R]], %[[R]] [0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30, 32, 34, 36, 38, 40, 42, 44, 46, 48, 50, 52, 54, 56, 58, 60, 62] : vector<63xf32>, vector<63xf32>
// (The first tap's max with the fill's -inf folds away: three maxima.)
// CHECK-COUNT-3: arith.maximumf {{.*}} : vector<32xf32>
// CHECK:     vector.transfer_write {{.*}} : vector<32xf32>, tensor<1x1x1x32xf32>
// CHECK:     vector.shuffle %{{.*}}, %{{.*}} [0, 2, 4] : vector<5xf32>, vector<5xf32>
// CHECK:     vector.transfer_write {{.*}} : vector<3xf32>, tensor<1x1x1x3xf32>
// CHECK: kiln.kernel = "pooling"
// CHECK-NOT: linalg.generic
func.func @max_pool(%x: tensor<1x2x8x70xf32>) -> tensor<1x2x4x35xf32> {
  %ninf = arith.constant 0xFF800000 : f32
  %window = tensor.empty() : tensor<2x2xf32>
  %e = tensor.empty() : tensor<1x2x4x35xf32>
  %init = linalg.fill ins(%ninf : f32) outs(%e : tensor<1x2x4x35xf32>) -> tensor<1x2x4x35xf32>
  %0 = linalg.generic {indexing_maps = [#x, #w, #o], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction", "reduction"]} ins(%x, %window : tensor<1x2x8x70xf32>, tensor<2x2xf32>) outs(%init : tensor<1x2x4x35xf32>) {
  ^bb0(%in: f32, %unused: f32, %out: f32):
    %m = arith.maximumf %in, %out : f32
    linalg.yield %m : f32
  } -> tensor<1x2x4x35xf32>
  return %0 : tensor<1x2x4x35xf32>
}
