// nn.attention: its composite where one batch's scores are small, flash
// attention (blocks of queries against blocks of keys, an online softmax,
// no [Lq, Lk] tensor) where they are not.
// RUN: kiln-opt %s --kiln-lower-attention -split-input-file | FileCheck %s
// RUN: kiln-opt %s --kiln-lower-attention="flash-min-scores=1 block-queries=16 block-keys=32" -split-input-file | FileCheck %s --check-prefix=FORCED

// 8 x 8 scores: the composite, scores and all.
// CHECK-LABEL: func @small_is_composite
// CHECK: nn.matmul %{{.*}}, %{{.*}} {transpose_b} : (tensor<2x8x4xf32>, tensor<2x8x4xf32>) -> tensor<2x8x8xf32>
// CHECK: nn.reduce_max
// CHECK: nn.exp
// CHECK: nn.matmul %{{.*}}, %{{.*}} : (tensor<2x8x8xf32>, tensor<2x8x4xf32>) -> tensor<2x8x4xf32>
// CHECK-NOT: scf.for
// FORCED-LABEL: func @small_is_composite
// FORCED: scf.for
// FORCED-NOT: tensor<2x8x8xf32>
func.func @small_is_composite(%q: tensor<2x8x4xf32>, %k: tensor<2x8x4xf32>, %v: tensor<2x8x4xf32>) -> tensor<2x8x4xf32> {
  %0 = nn.attention %q, %k, %v : (tensor<2x8x4xf32>, tensor<2x8x4xf32>, tensor<2x8x4xf32>) -> tensor<2x8x4xf32>
  return %0 : tensor<2x8x4xf32>
}

// -----

// 128 x 128 scores: one parallel loop over (batch x head, block of 64
// queries), a loop over blocks of 64 keys carrying max, sum and
// accumulator, the two products as contractions of one block, the online
// softmax row by row on vectors of the block's width; nothing of 128 x 128.
// Its useful float ops for the profile: 6 x 128 x 128 (query, key) pairs
// x (2 x 32 + 2 x 32).
// CHECK-LABEL: func @big_is_flash
// CHECK: nn.reshape %{{.*}} : tensor<2x3x128x32xf32> -> tensor<6x128x32xf32>
// CHECK: scf.for %{{.*}} = %{{.*}} to %{{.*}} step %{{.*}} iter_args(%{{.*}} = %{{.*}}) -> (tensor<6x128x32xf32>)
// CHECK: tensor.extract_slice %{{.*}} [1, 64, 32] [1, 1, 1] : tensor<6x128x32xf32> to tensor<64x32xf32>
// CHECK: scf.for %{{.*}} iter_args(%{{.*}} = %{{.*}}, %{{.*}} = %{{.*}}, %{{.*}} = %{{.*}}) -> (tensor<64xf32>, tensor<64xf32>, tensor<64x32xf32>)
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "reduction"]{{.*}} outs(%{{.*}} : tensor<64x64xf32>)
// CHECK: scf.for %{{.*}} iter_args({{.*}}) -> (tensor<64x64xf32>, tensor<64xf32>, tensor<64xf32>, tensor<64x32xf32>)
// CHECK: vector.transfer_read {{.*}} : tensor<64x64xf32>, vector<64xf32>
// CHECK: vector.reduction <maxnumf>
// CHECK: math.exp %{{.*}} : vector<64xf32>
// CHECK: vector.reduction <add>
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "reduction"]{{.*}} ins(%{{.*}}, %{{.*}} : tensor<64x64xf32>, tensor<64x32xf32>) outs(%{{.*}} : tensor<64x32xf32>)
// CHECK: arith.divf
// CHECK: tensor.insert_slice
// CHECK: } {kiln.kernel = "flash attention 6x128x128x32", kiln.kernel_flops = 12582912 : i64, kiln.parallel}
// CHECK-NOT: tensor<{{.*}}128x128
func.func @big_is_flash(%q: tensor<2x3x128x32xf32>, %k: tensor<2x3x128x32xf32>, %v: tensor<2x3x128x32xf32>) -> tensor<2x3x128x32xf32> {
  %0 = nn.attention %q, %k, %v : (tensor<2x3x128x32xf32>, tensor<2x3x128x32xf32>, tensor<2x3x128x32xf32>) -> tensor<2x3x128x32xf32>
  return %0 : tensor<2x3x128x32xf32>
}

// -----

// Causal with Lq = 40 < Lk = 70 in blocks of 16 queries and 32 keys: the
// key loop of a query block stops at its last query's last key (the
// diagonal ends at the last key), the partial key block (70 = 2 x 32 + 6)
// is visited only where it is seen, and the partial query block (40 =
// 2 x 16 + 8) has a loop of its own.
// FORCED-LABEL: func @causal_partial_blocks
// FORCED: %[[SEEN:.*]] = arith.addi %{{.*}}, %c46 : index
// FORCED: %[[UPPER:.*]] = arith.minsi %{{.*}}, %[[SEEN]] : index
// FORCED: scf.for %{{.*}} = %{{.*}} to %[[UPPER]] step %c32
// FORCED: arith.cmpi sle
// FORCED: scf.if
// FORCED: tensor<16x6xf32>
// FORCED: } {kiln.kernel = "flash attention 1x40x70x8 causal", kiln.kernel_flops = {{[0-9]+}} : i64, kiln.parallel}
// FORCED: arith.addi %{{.*}}, %c38 : index
// FORCED: tensor<8x32xf32>
// FORCED: } {kiln.kernel = "flash attention 1x40x70x8 causal", kiln.kernel_flops = {{[0-9]+}} : i64, kiln.parallel}
func.func @causal_partial_blocks(%q: tensor<40x8xf32>, %k: tensor<70x8xf32>, %v: tensor<70x8xf32>) -> tensor<40x8xf32> {
  %0 = nn.attention %q, %k, %v {causal} : (tensor<40x8xf32>, tensor<70x8xf32>, tensor<70x8xf32>) -> tensor<40x8xf32>
  return %0 : tensor<40x8xf32>
}

// -----

// A mask shared by the heads ([2, 1, Lq, Lk] for [2, 3, ...]) is read in
// place: the batch it reads is (t / 3) of the flattened batch t, the same
// for each head; a bias over the keys only is read at row 0.
// FORCED-LABEL: func @broadcast_mask_and_bias
// FORCED: nn.reshape %{{.*}} : tensor<2x1x64x64xi1> -> tensor<2x64x64xi1>
// FORCED: nn.reshape %{{.*}} : tensor<64xf32> -> tensor<1x1x64xf32>
// FORCED: arith.divui %{{.*}}, %c3 : index
// FORCED: tensor.extract_slice %{{.*}} [1, 16, 32] [1, 1, 1] : tensor<2x64x64xi1> to tensor<16x32xi1>
// FORCED: tensor.extract_slice %{{.*}}[%{{.*}}, 0, %{{.*}}] [1, 1, 32] [1, 1, 1] : tensor<1x1x64xf32> to tensor<1x32xf32>
func.func @broadcast_mask_and_bias(%q: tensor<2x3x64x8xf32>, %k: tensor<2x3x64x8xf32>, %v: tensor<2x3x64x8xf32>,
                                   %m: tensor<2x1x64x64xi1>, %b: tensor<64xf32>) -> tensor<2x3x64x8xf32> {
  %0 = nn.attention %q, %k, %v mask %m bias %b : (tensor<2x3x64x8xf32>, tensor<2x3x64x8xf32>, tensor<2x3x64x8xf32>, tensor<2x1x64x64xi1>, tensor<64xf32>) -> tensor<2x3x64x8xf32>
  return %0 : tensor<2x3x64x8xf32>
}

// -----

// The backward pass: one parallel iteration per batch owns that batch's dk
// and dv ([Lk, D], [Lk, Dv], added to block by block); its query blocks in
// order recompute each row's log-sum-exp (a first loop over the key
// blocks), then per key block the scores, dP = g v^T, and the three
// products dv += p^T g, dq += dS k, dk += dS^T q.
// FORCED-DAG: #[[A:.*]] = affine_map<(d0, d1, d2) -> (d0, d2)>
// FORCED-DAG: #[[AT:.*]] = affine_map<(d0, d1, d2) -> (d2, d0)>
// FORCED-DAG: #[[B:.*]] = affine_map<(d0, d1, d2) -> (d2, d1)>
// FORCED-LABEL: func @backward
// FORCED: scf.for {{.*}} -> (tensor<2x40x8xf32>, tensor<2x70x8xf32>, tensor<2x70x4xf32>)
// FORCED: scf.for {{.*}} -> (tensor<2x40x8xf32>, tensor<70x8xf32>, tensor<70x4xf32>)
// FORCED: scf.for {{.*}} -> (tensor<16xf32>, tensor<16xf32>)
// FORCED: math.log
// FORCED: scf.for {{.*}} -> (tensor<16x8xf32>, tensor<70x8xf32>, tensor<70x4xf32>)
// FORCED: linalg.generic {indexing_maps = [#[[AT]], #[[B]], {{.*}}]{{.*}} outs(%{{.*}} : tensor<32x4xf32>)
// FORCED: linalg.generic {indexing_maps = [#[[A]], #[[B]], {{.*}}]{{.*}} outs(%{{.*}} : tensor<16x8xf32>)
// FORCED: linalg.generic {indexing_maps = [#[[AT]], #[[B]], {{.*}}]{{.*}} outs(%{{.*}} : tensor<32x8xf32>)
// FORCED: tensor.insert_slice %{{.*}} into %{{.*}}[%{{.*}}, 0] [32, 8] [1, 1] : tensor<32x8xf32> into tensor<70x8xf32>
// FORCED: kiln.kernel = "flash attention backward 2x40x70x8 causal"
// FORCED-NOT: tensor<{{.*}}40x70
func.func @backward(%q: tensor<2x40x8xf32>, %k: tensor<2x70x8xf32>, %v: tensor<2x70x4xf32>, %o: tensor<2x40x4xf32>, %g: tensor<2x40x4xf32>) -> (tensor<2x40x8xf32>, tensor<2x70x8xf32>, tensor<2x70x4xf32>) {
  %dq, %dk, %dv = nn.attention_backward %q, %k, %v, %o, %g {causal} : (tensor<2x40x8xf32>, tensor<2x70x8xf32>, tensor<2x70x4xf32>, tensor<2x40x4xf32>, tensor<2x40x4xf32>) -> (tensor<2x40x8xf32>, tensor<2x70x8xf32>, tensor<2x70x4xf32>)
  return %dq, %dk, %dv : tensor<2x40x8xf32>, tensor<2x70x8xf32>, tensor<2x70x4xf32>
}

// -----

// A training step's pair: the forward keeps each row's log-sum-exp
// ([batches, Lq], beside its result) and the backward reads it instead of
// recomputing it (no log, no second loop over the keys per query block).
// FORCED-LABEL: func @forward_and_backward
// FORCED: scf.for {{.*}} -> (tensor<2x40x4xf32>, tensor<2x40xf32>)
// FORCED: math.log
// FORCED: tensor.insert_slice %{{.*}} into %{{.*}}[%{{.*}}, %{{.*}}] [1, 16] [1, 1] : tensor<16xf32> into tensor<2x40xf32>
// FORCED: kiln.kernel = "flash attention 2x40x70x8 causal"
// FORCED: tensor.extract_slice %{{.*}}[%{{.*}}, %{{.*}}] [1, 16] [1, 1] : tensor<2x40xf32> to tensor<16xf32>
// FORCED-NOT: math.log
// FORCED: kiln.kernel = "flash attention backward 2x40x70x8 causal"
func.func @forward_and_backward(%q: tensor<2x40x8xf32>, %k: tensor<2x70x8xf32>, %v: tensor<2x70x4xf32>, %g: tensor<2x40x4xf32>) -> (tensor<2x40x8xf32>, tensor<2x70x8xf32>, tensor<2x70x4xf32>) {
  %o = nn.attention %q, %k, %v {causal} : (tensor<2x40x8xf32>, tensor<2x70x8xf32>, tensor<2x70x4xf32>) -> tensor<2x40x4xf32>
  %dq, %dk, %dv = nn.attention_backward %q, %k, %v, %o, %g {causal} : (tensor<2x40x8xf32>, tensor<2x70x8xf32>, tensor<2x70x4xf32>, tensor<2x40x4xf32>, tensor<2x40x4xf32>) -> (tensor<2x40x8xf32>, tensor<2x70x8xf32>, tensor<2x70x4xf32>)
  return %dq, %dk, %dv : tensor<2x40x8xf32>, tensor<2x70x8xf32>, tensor<2x70x4xf32>
}
