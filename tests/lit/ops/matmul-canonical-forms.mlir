// nn.matmul's canonical forms (ir/MatmulForms.cpp): a batch over a shared
// 2-D operand folds into M; a sum over the batch of products folds into K.
// RUN: kiln-opt %s -canonicalize -split-input-file | FileCheck %s

// The forward projection [b, T, D] x [D, N]: one 2-D product over b*T rows.
// CHECK-LABEL: func @shared_b_folds_into_rows
// CHECK:       %[[A:.*]] = nn.reshape %arg0 : tensor<4x7x8xf32> -> tensor<28x8xf32>
// CHECK:       %[[C:.*]] = nn.matmul %[[A]], %arg1 : (tensor<28x8xf32>, tensor<8x5xf32>) -> tensor<28x5xf32>
// CHECK:       nn.reshape %[[C]] : tensor<28x5xf32> -> tensor<4x7x5xf32>
func.func @shared_b_folds_into_rows(%a: tensor<4x7x8xf32>, %b: tensor<8x5xf32>) -> tensor<4x7x5xf32> {
  %c = nn.matmul %a, %b : (tensor<4x7x8xf32>, tensor<8x5xf32>) -> tensor<4x7x5xf32>
  return %c : tensor<4x7x5xf32>
}

// -----

// Two batch dims, B transposed and given with unit batch dims.
// CHECK-LABEL: func @unit_batch_b_transposed
// CHECK-DAG:   nn.reshape %arg0 : tensor<2x3x7x8xf32> -> tensor<42x8xf32>
// CHECK-DAG:   nn.reshape %arg1 : tensor<1x1x5x8xf32> -> tensor<5x8xf32>
// CHECK:       nn.matmul {{.*}} {transpose_b} : (tensor<42x8xf32>, tensor<5x8xf32>) -> tensor<42x5xf32>
func.func @unit_batch_b_transposed(%a: tensor<2x3x7x8xf32>, %b: tensor<1x1x5x8xf32>) -> tensor<2x3x7x5xf32> {
  %c = nn.matmul %a, %b {transpose_b} : (tensor<2x3x7x8xf32>, tensor<1x1x5x8xf32>) -> tensor<2x3x7x5xf32>
  return %c : tensor<2x3x7x5xf32>
}

// -----

// A transposed A is not contiguous over (batch, M): kept batched.
// CHECK-LABEL: func @transposed_a_kept
// CHECK-NOT:   nn.reshape
// CHECK:       nn.matmul %arg0, %arg1 {transpose_a} : (tensor<4x8x7xf32>, tensor<8x5xf32>) -> tensor<4x7x5xf32>
func.func @transposed_a_kept(%a: tensor<4x8x7xf32>, %b: tensor<8x5xf32>) -> tensor<4x7x5xf32> {
  %c = nn.matmul %a, %b {transpose_a} : (tensor<4x8x7xf32>, tensor<8x5xf32>) -> tensor<4x7x5xf32>
  return %c : tensor<4x7x5xf32>
}

// -----

// Both operands batched (attention's scores): nothing to fold.
// CHECK-LABEL: func @both_batched_kept
// CHECK-NOT:   nn.reshape
func.func @both_batched_kept(%a: tensor<4x7x8xf32>, %b: tensor<4x8x5xf32>) -> tensor<4x7x5xf32> {
  %c = nn.matmul %a, %b : (tensor<4x7x8xf32>, tensor<4x8x5xf32>) -> tensor<4x7x5xf32>
  return %c : tensor<4x7x5xf32>
}

// -----

// The weight gradient A^T g summed over the batch: one product over K = b*T.
// CHECK-LABEL: func @batch_sum_folds_into_k
// CHECK-DAG:   %[[A:.*]] = nn.reshape %arg0 : tensor<4x7x8xf32> -> tensor<28x8xf32>
// CHECK-DAG:   %[[G:.*]] = nn.reshape %arg1 : tensor<4x7x5xf32> -> tensor<28x5xf32>
// CHECK:       %[[C:.*]] = nn.matmul %[[A]], %[[G]] {transpose_a} : (tensor<28x8xf32>, tensor<28x5xf32>) -> tensor<8x5xf32>
// CHECK-NOT:   nn.reduce_sum
// CHECK:       return %[[C]]
func.func @batch_sum_folds_into_k(%a: tensor<4x7x8xf32>, %g: tensor<4x7x5xf32>) -> tensor<8x5xf32> {
  %p = nn.matmul %a, %g {transpose_a} : (tensor<4x7x8xf32>, tensor<4x7x5xf32>) -> tensor<4x8x5xf32>
  %s = nn.reduce_sum %p axes [0] : tensor<4x8x5xf32> -> tensor<8x5xf32>
  return %s : tensor<8x5xf32>
}

// -----

// As NNBuilder::unbroadcast writes it: keepdims, then a reshape.
// CHECK-LABEL: func @batch_sum_keepdims
// CHECK:       nn.matmul {{.*}} {transpose_a} : (tensor<42x8xf32>, tensor<42x5xf32>) -> tensor<8x5xf32>
// CHECK-NOT:   nn.reduce_sum
func.func @batch_sum_keepdims(%a: tensor<2x3x7x8xf32>, %g: tensor<2x3x7x5xf32>) -> tensor<8x5xf32> {
  %p = nn.matmul %a, %g {transpose_a} : (tensor<2x3x7x8xf32>, tensor<2x3x7x5xf32>) -> tensor<2x3x8x5xf32>
  %s = nn.reduce_sum %p axes [0, 1] keepdims : tensor<2x3x8x5xf32> -> tensor<1x1x8x5xf32>
  %r = nn.reshape %s : tensor<1x1x8x5xf32> -> tensor<8x5xf32>
  return %r : tensor<8x5xf32>
}

// -----

// A sum over only part of the batch, or of a product whose A is stored
// M-major, is not one product: kept.
// CHECK-LABEL: func @partial_batch_sum_kept
// CHECK:       nn.reduce_sum
func.func @partial_batch_sum_kept(%a: tensor<2x3x7x8xf32>, %g: tensor<2x3x7x5xf32>) -> tensor<3x8x5xf32> {
  %p = nn.matmul %a, %g {transpose_a} : (tensor<2x3x7x8xf32>, tensor<2x3x7x5xf32>) -> tensor<2x3x8x5xf32>
  %s = nn.reduce_sum %p axes [0] : tensor<2x3x8x5xf32> -> tensor<3x8x5xf32>
  return %s : tensor<3x8x5xf32>
}

// CHECK-LABEL: func @m_major_sum_kept
// CHECK:       nn.reduce_sum
func.func @m_major_sum_kept(%a: tensor<4x8x7xf32>, %b: tensor<4x7x5xf32>) -> tensor<8x5xf32> {
  %p = nn.matmul %a, %b : (tensor<4x8x7xf32>, tensor<4x7x5xf32>) -> tensor<4x8x5xf32>
  %s = nn.reduce_sum %p axes [0] : tensor<4x8x5xf32> -> tensor<8x5xf32>
  return %s : tensor<8x5xf32>
}

// -----

// A^T B with A's columns (M = 64) more than twice B's (N = 8): the
// narrower operand becomes A and the [8, 64] result is transposed once.
// CHECK-LABEL: func @narrow_transposed_a
// CHECK:       %[[CT:.*]] = nn.matmul %arg1, %arg0 {transpose_a} : (tensor<30x8xf32>, tensor<30x64xf32>) -> tensor<8x64xf32>
// CHECK:       nn.transpose %[[CT]] perm [1, 0]
func.func @narrow_transposed_a(%a: tensor<30x64xf32>, %b: tensor<30x8xf32>) -> tensor<64x8xf32> {
  %c = nn.matmul %a, %b {transpose_a} : (tensor<30x64xf32>, tensor<30x8xf32>) -> tensor<64x8xf32>
  return %c : tensor<64x8xf32>
}

// CHECK-LABEL: func @near_tie_kept
// CHECK:       nn.matmul %arg0, %arg1 {transpose_a} : (tensor<30x12xf32>, tensor<30x8xf32>) -> tensor<12x8xf32>
// CHECK-NOT:   nn.transpose
func.func @near_tie_kept(%a: tensor<30x12xf32>, %b: tensor<30x8xf32>) -> tensor<12x8xf32> {
  %c = nn.matmul %a, %b {transpose_a} : (tensor<30x12xf32>, tensor<30x8xf32>) -> tensor<12x8xf32>
  return %c : tensor<12x8xf32>
}

// -----

// A batch of one is a plain product (a 1x1 convolution of one image).
// CHECK-LABEL: func @unit_batch
// CHECK: %[[B:.*]] = nn.reshape %arg1 : tensor<1x256x49xf32> -> tensor<256x49xf32>
// CHECK: %[[C:.*]] = nn.matmul %arg0, %[[B]] : (tensor<64x256xf32>, tensor<256x49xf32>) -> tensor<64x49xf32>
// CHECK: nn.reshape %[[C]] : tensor<64x49xf32> -> tensor<1x64x49xf32>
func.func @unit_batch(%a: tensor<64x256xf32>, %b: tensor<1x256x49xf32>) -> tensor<1x64x49xf32> {
  %0 = nn.matmul %a, %b : (tensor<64x256xf32>, tensor<1x256x49xf32>) -> tensor<1x64x49xf32>
  return %0 : tensor<1x64x49xf32>
}
