// Attention spelled out (matmul, scale, causal mask, softmax, matmul) becomes
// nn.attention where that computes the same; anything else is left alone,
// and --explain-fusion says why.
// RUN: kiln-opt %s --kiln-recognize-attention="explain=1" -split-input-file 2>%t.err | FileCheck %s
// RUN: FileCheck %s --check-prefix=WHY < %t.err

// The char LM's form: scale by a constant, mask with Graph::causal_mask
// (iota 0 >= iota 1) and -1e9. The scale is the constant's own value (the
// f32 nearest 1/sqrt(8), not the default computed in double).
// CHECK-LABEL: func @causal_scaled
// CHECK: %[[O:.*]] = nn.attention %arg0, %arg1, %arg2 {causal, scale = 0.35355338454246521 : f64} : (tensor<2x4x16x8xf32>, tensor<2x4x16x8xf32>, tensor<2x4x16x8xf32>) -> tensor<2x4x16x8xf32>
// CHECK-NOT: nn.softmax
// CHECK: return %[[O]]
// WHY: rewrote softmax between matmuls to nn.attention (causal)
func.func @causal_scaled(%q: tensor<2x4x16x8xf32>, %k: tensor<2x4x16x8xf32>, %v: tensor<2x4x16x8xf32>) -> tensor<2x4x16x8xf32> {
  %i = nn.iota axis 0 : tensor<16x16xi64>
  %j = nn.iota axis 1 : tensor<16x16xi64>
  %mask = nn.ge %i, %j : (tensor<16x16xi64>, tensor<16x16xi64>) -> tensor<16x16xi1>
  %s = nn.matmul %q, %k {transpose_b} : (tensor<2x4x16x8xf32>, tensor<2x4x16x8xf32>) -> tensor<2x4x16x16xf32>
  %c = nn.constant dense<0.353553385> : tensor<f32>
  %scaled = nn.mul %s, %c : (tensor<2x4x16x16xf32>, tensor<f32>) -> tensor<2x4x16x16xf32>
  %big = nn.constant dense<-1.0e9> : tensor<f32>
  %masked = nn.select %mask, %scaled, %big : (tensor<16x16xi1>, tensor<2x4x16x16xf32>, tensor<f32>) -> tensor<2x4x16x16xf32>
  %p = nn.softmax %masked axis -1 : tensor<2x4x16x16xf32>
  %o = nn.matmul %p, %v : (tensor<2x4x16x16xf32>, tensor<2x4x16x8xf32>) -> tensor<2x4x16x8xf32>
  return %o : tensor<2x4x16x8xf32>
}

// -----

// Divided by a constant, no mask, Lq != Lk, Dv != D: the scale is kept.
// CHECK-LABEL: func @divided_no_mask
// CHECK: nn.attention %arg0, %arg1, %arg2 {scale = 2.500000e-01 : f64} : (tensor<3x5x8xf32>, tensor<3x7x8xf32>, tensor<3x7x2xf32>) -> tensor<3x5x2xf32>
func.func @divided_no_mask(%q: tensor<3x5x8xf32>, %k: tensor<3x7x8xf32>, %v: tensor<3x7x2xf32>) -> tensor<3x5x2xf32> {
  %s = nn.matmul %q, %k {transpose_b} : (tensor<3x5x8xf32>, tensor<3x7x8xf32>) -> tensor<3x5x7xf32>
  %c = nn.constant dense<4.0> : tensor<f32>
  %scaled = nn.div %s, %c : (tensor<3x5x7xf32>, tensor<f32>) -> tensor<3x5x7xf32>
  %p = nn.softmax %scaled axis 2 : tensor<3x5x7xf32>
  %o = nn.matmul %p, %v : (tensor<3x5x7xf32>, tensor<3x7x2xf32>) -> tensor<3x5x2xf32>
  return %o : tensor<3x5x2xf32>
}

// -----

// A mask from the inputs could mask a whole row: left alone.
// CHECK-LABEL: func @input_mask
// CHECK-NOT: nn.attention
// CHECK: nn.softmax
// WHY: softmax between matmuls not rewritten to nn.attention: the mask is not a causal mask from iotas
func.func @input_mask(%q: tensor<5x8xf32>, %k: tensor<5x8xf32>, %v: tensor<5x8xf32>, %m: tensor<5x5xi1>) -> tensor<5x8xf32> {
  %s = nn.matmul %q, %k {transpose_b} : (tensor<5x8xf32>, tensor<5x8xf32>) -> tensor<5x5xf32>
  %big = nn.constant dense<-1.0e9> : tensor<f32>
  %masked = nn.select %m, %s, %big : (tensor<5x5xi1>, tensor<5x5xf32>, tensor<f32>) -> tensor<5x5xf32>
  %p = nn.softmax %masked axis -1 : tensor<5x5xf32>
  %o = nn.matmul %p, %v : (tensor<5x5xf32>, tensor<5x8xf32>) -> tensor<5x8xf32>
  return %o : tensor<5x8xf32>
}

// -----

// The weights are an output too (an attention view): the product becomes
// nn.attention, and the weights keep their softmax for the output.
// CHECK-LABEL: func @weights_shown
// CHECK: %[[P:.*]] = nn.softmax
// CHECK: %[[O:.*]] = nn.attention
// CHECK: return %[[O]], %[[P]]
// WHY: rewrote softmax between matmuls to nn.attention (its weights are still computed for their other users)
func.func @weights_shown(%q: tensor<5x8xf32>, %k: tensor<5x8xf32>, %v: tensor<5x8xf32>) -> (tensor<5x8xf32>, tensor<5x5xf32>) {
  %s = nn.matmul %q, %k {transpose_b} : (tensor<5x8xf32>, tensor<5x8xf32>) -> tensor<5x5xf32>
  %p = nn.softmax %s axis -1 : tensor<5x5xf32>
  %o = nn.matmul %p, %v : (tensor<5x5xf32>, tensor<5x8xf32>) -> tensor<5x8xf32>
  return %o, %p : tensor<5x8xf32>, tensor<5x5xf32>
}

// -----

// A masked value of -1e4 is not far enough below the scores to vanish.
// CHECK-LABEL: func @small_fill
// CHECK-NOT: nn.attention
// WHY: softmax between matmuls not rewritten to nn.attention: masked scores are not set to -inf or at most -1e9
func.func @small_fill(%q: tensor<5x8xf32>, %k: tensor<5x8xf32>, %v: tensor<5x8xf32>) -> tensor<5x8xf32> {
  %i = nn.iota axis 0 : tensor<5x5xi64>
  %j = nn.iota axis 1 : tensor<5x5xi64>
  %mask = nn.ge %i, %j : (tensor<5x5xi64>, tensor<5x5xi64>) -> tensor<5x5xi1>
  %s = nn.matmul %q, %k {transpose_b} : (tensor<5x8xf32>, tensor<5x8xf32>) -> tensor<5x5xf32>
  %fill = nn.constant dense<-1.0e4> : tensor<f32>
  %masked = nn.select %mask, %s, %fill : (tensor<5x5xi1>, tensor<5x5xf32>, tensor<f32>) -> tensor<5x5xf32>
  %p = nn.softmax %masked axis -1 : tensor<5x5xf32>
  %o = nn.matmul %p, %v : (tensor<5x5xf32>, tensor<5x8xf32>) -> tensor<5x8xf32>
  return %o : tensor<5x8xf32>
}
