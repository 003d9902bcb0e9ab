// A matmul's only consumer, an elementwise op (bias + ReLU here), becomes
// its epilogue: the consumer is tiled in column blocks (B packed once per
// block), then to register tiles, the matmul (and its zero fill) fused into
// each tile; the k loop keeps the accumulator in registers, and the bias
// and ReLU apply to it before the one write.
// RUN: kiln-opt %s --kiln-to-tiled | FileCheck %s

// CHECK-LABEL: func.func @main
// CHECK:       scf.for {{.*}} to %c256 step %c128
// CHECK:         linalg.copy
// CHECK:         scf.for {{.*}} to %c64 step %c8
// CHECK:           scf.for {{.*}} to %c128 step %c32
// CHECK:             %[[ACC:.*]] = scf.for {{.*}} to %c784 step %c1 iter_args({{.*}}) -> (vector<8x32xf32>)
// CHECK:               arith.mulf {{.*}} : vector<8x32x1xf32>
// CHECK:             %[[BIAS:.*]] = vector.transfer_read {{.*}} : tensor<32xf32>, vector<8x32xf32>
// CHECK:             %[[SUM:.*]] = arith.addf %[[ACC]], %[[BIAS]] : vector<8x32xf32>
// CHECK:             %[[RELU:.*]] = arith.maximumf %[[SUM]], {{.*}} : vector<8x32xf32>
// CHECK:             vector.transfer_write %[[RELU]]
// CHECK-NOT:   linalg.generic
func.func @main(%x: tensor<64x784xf32>, %w: tensor<784x256xf32>, %b: tensor<256xf32>, %w2: tensor<256x10xf32>) -> tensor<64x10xf32> {
  %0 = nn.matmul %x, %w : (tensor<64x784xf32>, tensor<784x256xf32>) -> tensor<64x256xf32>
  %1 = nn.add %0, %b : (tensor<64x256xf32>, tensor<256xf32>) -> tensor<64x256xf32>
  %2 = nn.relu %1 : tensor<64x256xf32>
  %3 = nn.matmul %2, %w2 : (tensor<64x256xf32>, tensor<256x10xf32>) -> tensor<64x10xf32>
  return %3 : tensor<64x10xf32>
}
