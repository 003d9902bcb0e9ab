// Operands stored against the register tile's grain are transposed once
// and the matmul reads the copy: B stored [N, K] (transpose_b: the input
// gradient g W^T) always, so each register tile reads rows of B instead of
// strided scalars per k; A stored [K, M] (transpose_a: the weight gradient
// x^T g) where K is long (from 256), where its strided lines would evict
// each other from L1. A short-K transposed A is read as it is.
// RUN: kiln-opt %s --kiln-to-tiled | FileCheck %s
// RUN: kiln-opt %s --kiln-to-fused --kiln-tile-matmul="explain=1" -o /dev/null 2>&1 | FileCheck %s --check-prefix=WHY

// WHY: remark: matmul operand B transposed once into the register tile's grain (it was stored N x K)
// WHY: remark: matmul operand A transposed once into the register tile's grain (it was stored K x M, K = 256)
// WHY-NOT: operand A transposed

// CHECK-LABEL: func.func @transposed_b
// CHECK:       linalg.transpose ins(%arg1 : tensor<24x40xf32>) outs({{.*}} : tensor<40x24xf32>) permutation = [1, 0]
// CHECK:       scf.for
// CHECK:         arith.mulf {{.*}} : vector<8x24x1xf32>
func.func @transposed_b(%g: tensor<64x40xf32>, %w: tensor<24x40xf32>) -> tensor<64x24xf32> {
  %0 = nn.matmul %g, %w {transpose_b} : (tensor<64x40xf32>, tensor<24x40xf32>) -> tensor<64x24xf32>
  return %0 : tensor<64x24xf32>
}

// CHECK-LABEL: func.func @transposed_a_long_k
// CHECK:       linalg.transpose ins(%arg0 : tensor<256x64xf32>) outs({{.*}} : tensor<64x256xf32>) permutation = [1, 0]
// CHECK:       scf.for
// CHECK:         arith.mulf {{.*}} : vector<8x32x1xf32>
func.func @transposed_a_long_k(%x: tensor<256x64xf32>, %g: tensor<256x48xf32>) -> tensor<64x48xf32> {
  %0 = nn.matmul %x, %g {transpose_a} : (tensor<256x64xf32>, tensor<256x48xf32>) -> tensor<64x48xf32>
  return %0 : tensor<64x48xf32>
}

// CHECK-LABEL: func.func @transposed_a_short_k
// CHECK-NOT:   linalg.transpose
func.func @transposed_a_short_k(%a: tensor<40x64xf32>, %b: tensor<40x48xf32>) -> tensor<64x48xf32> {
  %0 = nn.matmul %a, %b {transpose_a} : (tensor<40x64xf32>, tensor<40x48xf32>) -> tensor<64x48xf32>
  return %0 : tensor<64x48xf32>
}

// Where B's panels are packed at run time (B = W^T stored [N, K]) and W
// does not fit in L2 (1 MiB or more), they are packed from W's rows
// directly, in one pass: no transpose of the whole W through memory first.
// In column blocks, each block's panel is W's rows of the block, transposed.
// A smaller W (768 KiB here) is transposed whole (in cache) and its panels
// copied; one of at most 512 KiB is packed whole before the loops.
// CHECK-LABEL: func.func @transposed_big_b_in_column_blocks
// CHECK-NOT:   linalg.transpose ins(%arg1
// CHECK:       scf.for {{.*}} to %c1024 step %c128
// CHECK:         linalg.transpose ins({{.*}} : tensor<128x256xf32>) outs({{.*}} : tensor<256x128xf32>) permutation = [1, 0] {kiln.b_panel}
func.func @transposed_big_b_in_column_blocks(%g: tensor<64x256xf32>, %w: tensor<1024x256xf32>) -> tensor<64x1024xf32> {
  %0 = nn.matmul %g, %w {transpose_b} : (tensor<64x256xf32>, tensor<1024x256xf32>) -> tensor<64x1024xf32>
  return %0 : tensor<64x1024xf32>
}

// CHECK-LABEL: func.func @transposed_small_b_in_column_blocks
// CHECK:       linalg.transpose ins({{.*}} : tensor<64x16xf32>) outs({{.*}} : tensor<16x64xf32>) permutation = [1, 0]
// CHECK:       scf.for {{.*}} to %c768 step %c128
// CHECK:         linalg.copy
// CHECK-NOT:   kiln.b_panel
func.func @transposed_small_b_in_column_blocks(%g: tensor<64x256xf32>, %w: tensor<768x256xf32>) -> tensor<64x768xf32> {
  %0 = nn.matmul %g, %w {transpose_b} : (tensor<64x256xf32>, tensor<768x256xf32>) -> tensor<64x768xf32>
  return %0 : tensor<64x768xf32>
}

// A transposed operand invariant in a loop (a recurrent weight read at every
// step, as the backward scan's `g W_hh` reads it) has its panels packed
// before the loop, once per call, from W's rows ([N, K] -> [N / 32, 32, K]
// -> [N / 32, K, 32]), not at every step. (One panel per register-tile
// column, read by both row tiles in turn: with A this small, no column
// blocks.)
// CHECK-LABEL: func.func @transposed_b_in_a_scan
// CHECK-NOT:   linalg.transpose ins(%arg2
// CHECK:       tensor.expand_shape %arg2 {{.*}} : tensor<256x128xf32> into tensor<8x32x128xf32>
// CHECK:       linalg.transpose ins({{.*}} : tensor<8x32x128xf32>) outs({{.*}} : tensor<8x128x32xf32>) permutation = [0, 2, 1]
// CHECK:       scf.for {{.*}} to %c5
// CHECK-NOT:   linalg.transpose
// CHECK:       return
func.func @transposed_b_in_a_scan(%xs: tensor<5x16x256xf32>, %h0: tensor<16x128xf32>, %w: tensor<256x128xf32>) -> tensor<16x128xf32> {
  %h, %hs = nn.scan inits(%h0 : tensor<16x128xf32>) over(%xs : tensor<5x16x256xf32>) consts(%w : tensor<256x128xf32>) -> (tensor<16x128xf32>, tensor<5x16x256xf32>) {
  ^bb0(%c: tensor<16x128xf32>, %x: tensor<16x256xf32>, %wc: tensor<256x128xf32>):
    %p = nn.matmul %c, %wc {transpose_b} : (tensor<16x128xf32>, tensor<256x128xf32>) -> tensor<16x256xf32>
    %s = nn.add %p, %x : (tensor<16x256xf32>, tensor<16x256xf32>) -> tensor<16x256xf32>
    %n = nn.tanh %s : tensor<16x256xf32>
    %next = nn.slice %n[[0, 0] : [16, 128] : [1, 1]] : tensor<16x256xf32> -> tensor<16x128xf32>
    nn.yield %next, %n : tensor<16x128xf32>, tensor<16x256xf32>
  }
  return %h : tensor<16x128xf32>
}
