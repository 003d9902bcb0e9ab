// Folds and canonicalizations of nn ops, one case each.
// RUN: kiln-opt %s -canonicalize -split-input-file | FileCheck %s

// CHECK-LABEL: func @add_zero
// CHECK-NEXT: return %arg0
func.func @add_zero(%x: tensor<2x3xf32>) -> tensor<2x3xf32> {
  %z = nn.constant dense<0.0> : tensor<3xf32>
  %0 = nn.add %x, %z : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
  return %0 : tensor<2x3xf32>
}

// -----

// Adding a zero that broadcasts x to a larger shape changes the shape: kept.
// CHECK-LABEL: func @add_zero_broadcasting
// CHECK: nn.add
func.func @add_zero_broadcasting(%x: tensor<3xf32>) -> tensor<2x3xf32> {
  %z = nn.constant dense<0.0> : tensor<2x3xf32>
  %0 = nn.add %z, %x : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
  return %0 : tensor<2x3xf32>
}

// -----

// CHECK-LABEL: func @mul_one
// CHECK-NEXT: return %arg0
func.func @mul_one(%x: tensor<4xf64>) -> tensor<4xf64> {
  %one = nn.constant dense<1.0> : tensor<f64>
  %0 = nn.mul %one, %x : (tensor<f64>, tensor<4xf64>) -> tensor<4xf64>
  return %0 : tensor<4xf64>
}

// -----

// x * 0 is not 0 when x is NaN or inf: never folded.
// CHECK-LABEL: func @mul_zero_not_folded
// CHECK: %[[R:.*]] = nn.mul
// CHECK: return %[[R]]
func.func @mul_zero_not_folded(%x: tensor<4xf32>) -> tensor<4xf32> {
  %z = nn.constant dense<0.0> : tensor<4xf32>
  %0 = nn.mul %x, %z : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

// CHECK-LABEL: func @reshape_reshape
// CHECK-NEXT: %[[R:.*]] = nn.reshape %arg0 : tensor<2x6xf32> -> tensor<3x4xf32>
// CHECK-NEXT: return %[[R]]
func.func @reshape_reshape(%x: tensor<2x6xf32>) -> tensor<3x4xf32> {
  %0 = nn.reshape %x : tensor<2x6xf32> -> tensor<12xf32>
  %1 = nn.reshape %0 : tensor<12xf32> -> tensor<3x4xf32>
  return %1 : tensor<3x4xf32>
}

// -----

// CHECK-LABEL: func @reshape_roundtrip
// CHECK-NEXT: return %arg0
func.func @reshape_roundtrip(%x: tensor<2x6xf32>) -> tensor<2x6xf32> {
  %0 = nn.reshape %x : tensor<2x6xf32> -> tensor<12xf32>
  %1 = nn.reshape %0 : tensor<12xf32> -> tensor<2x6xf32>
  return %1 : tensor<2x6xf32>
}

// -----

// CHECK-LABEL: func @transpose_transpose_identity
// CHECK-NEXT: return %arg0
func.func @transpose_transpose_identity(%x: tensor<2x3x5xf32>) -> tensor<2x3x5xf32> {
  %0 = nn.transpose %x perm [2, 0, 1] : tensor<2x3x5xf32> -> tensor<5x2x3xf32>
  %1 = nn.transpose %0 perm [1, 2, 0] : tensor<5x2x3xf32> -> tensor<2x3x5xf32>
  return %1 : tensor<2x3x5xf32>
}

// -----

// CHECK-LABEL: func @transpose_transpose_compose
// CHECK-NEXT: %[[T:.*]] = nn.transpose %arg0 perm [1, 0, 2] : tensor<2x3x5xf32> -> tensor<3x2x5xf32>
// CHECK-NEXT: return %[[T]]
func.func @transpose_transpose_compose(%x: tensor<2x3x5xf32>) -> tensor<3x2x5xf32> {
  %0 = nn.transpose %x perm [2, 0, 1] : tensor<2x3x5xf32> -> tensor<5x2x3xf32>
  %1 = nn.transpose %0 perm [2, 1, 0] : tensor<5x2x3xf32> -> tensor<3x2x5xf32>
  return %1 : tensor<3x2x5xf32>
}

// -----

// CHECK-LABEL: func @broadcast_same_shape
// CHECK-NEXT: return %arg0
func.func @broadcast_same_shape(%x: tensor<2x3xf32>) -> tensor<2x3xf32> {
  %0 = nn.broadcast_to %x : tensor<2x3xf32> -> tensor<2x3xf32>
  return %0 : tensor<2x3xf32>
}
