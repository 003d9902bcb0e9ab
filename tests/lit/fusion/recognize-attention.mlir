// Attention spelled out (matmul, scale, mask or bias, softmax, matmul) becomes
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

// A mask from the inputs with a finite fill: a fully masked row averages v
// in the composite, so the mask becomes a bias of 0 or the fill (a boolean
// mask would give that row zeros).
// CHECK-LABEL: func @input_mask_finite_fill
// CHECK: %[[Z:.*]] = nn.constant dense<0.000000e+00> : tensor<f32>
// CHECK: %[[F:.*]] = nn.constant dense<-1.000000e+09> : tensor<f32>
// CHECK: %[[B:.*]] = nn.select %arg3, %[[Z]], %[[F]]
// CHECK: nn.attention %arg0, %arg1, %arg2 bias %[[B]] {scale = 1.000000e+00 : f64}
// CHECK-NOT: nn.softmax
// WHY: rewrote softmax between matmuls to nn.attention (mask with a finite fill, as a bias)
func.func @input_mask_finite_fill(%q: tensor<5x8xf32>, %k: tensor<5x8xf32>, %v: tensor<5x8xf32>, %m: tensor<5x5xi1>) -> tensor<5x8xf32> {
  %s = nn.matmul %q, %k {transpose_b} : (tensor<5x8xf32>, tensor<5x8xf32>) -> tensor<5x5xf32>
  %big = nn.constant dense<-1.0e9> : tensor<f32>
  %masked = nn.select %m, %s, %big : (tensor<5x5xi1>, tensor<5x5xf32>, tensor<f32>) -> tensor<5x5xf32>
  %p = nn.softmax %masked axis -1 : tensor<5x5xf32>
  %o = nn.matmul %p, %v : (tensor<5x5xf32>, tensor<5x8xf32>) -> tensor<5x8xf32>
  return %o : tensor<5x8xf32>
}

// -----

// Masked with -inf: the boolean mask operand (a fully masked row is NaN in
// the composite and zeros in nn.attention).
// CHECK-LABEL: func @input_mask_inf
// CHECK: nn.attention %arg0, %arg1, %arg2 mask %arg3 {scale = 1.000000e+00 : f64}
// WHY: rewrote softmax between matmuls to nn.attention (boolean mask)
func.func @input_mask_inf(%q: tensor<2x5x8xf32>, %k: tensor<2x6x8xf32>, %v: tensor<2x6x8xf32>, %m: tensor<5x6xi1>) -> tensor<2x5x8xf32> {
  %s = nn.matmul %q, %k {transpose_b} : (tensor<2x5x8xf32>, tensor<2x6x8xf32>) -> tensor<2x5x6xf32>
  %inf = nn.constant dense<0xFF800000> : tensor<f32>
  %masked = nn.select %m, %s, %inf : (tensor<5x6xi1>, tensor<2x5x6xf32>, tensor<f32>) -> tensor<2x5x6xf32>
  %p = nn.softmax %masked axis -1 : tensor<2x5x6xf32>
  %o = nn.matmul %p, %v : (tensor<2x5x6xf32>, tensor<2x6x8xf32>) -> tensor<2x5x8xf32>
  return %o : tensor<2x5x8xf32>
}

// -----

// An additive float bias (what ONNX exports carry), scaled after it: the
// bias operand, times the scale.
// CHECK-LABEL: func @additive_bias_scaled_after
// CHECK: %[[C:.*]] = nn.constant dense<1.250000e-01> : tensor<f32>
// CHECK: %[[B:.*]] = nn.mul %arg3, %[[C]]
// CHECK: nn.attention %arg0, %arg1, %arg2 bias %[[B]] {scale = 1.250000e-01 : f64}
// WHY: rewrote softmax between matmuls to nn.attention (additive bias)
func.func @additive_bias_scaled_after(%q: tensor<5x8xf32>, %k: tensor<7x8xf32>, %v: tensor<7x3xf32>, %b: tensor<1x7xf32>) -> tensor<5x3xf32> {
  %s = nn.matmul %q, %k {transpose_b} : (tensor<5x8xf32>, tensor<7x8xf32>) -> tensor<5x7xf32>
  %biased = nn.add %b, %s : (tensor<1x7xf32>, tensor<5x7xf32>) -> tensor<5x7xf32>
  %c = nn.constant dense<0.125> : tensor<f32>
  %scaled = nn.mul %biased, %c : (tensor<5x7xf32>, tensor<f32>) -> tensor<5x7xf32>
  %p = nn.softmax %scaled axis -1 : tensor<5x7xf32>
  %o = nn.matmul %p, %v : (tensor<5x7xf32>, tensor<7x3xf32>) -> tensor<5x3xf32>
  return %o : tensor<5x3xf32>
}

// -----

// A causal mask added as 0 / -1e9 from iotas: the causal attribute.
// CHECK-LABEL: func @additive_causal
// CHECK: nn.attention %arg0, %arg1, %arg2 {causal, scale = 1.000000e+00 : f64}
// CHECK-NOT: nn.select
// WHY: rewrote softmax between matmuls to nn.attention (causal (as an additive mask))
func.func @additive_causal(%q: tensor<5x8xf32>, %k: tensor<5x8xf32>, %v: tensor<5x8xf32>) -> tensor<5x8xf32> {
  %i = nn.iota axis 0 : tensor<5x5xi64>
  %j = nn.iota axis 1 : tensor<5x5xi64>
  %mask = nn.ge %i, %j : (tensor<5x5xi64>, tensor<5x5xi64>) -> tensor<5x5xi1>
  %zero = nn.constant dense<0.0> : tensor<f32>
  %big = nn.constant dense<-1.0e9> : tensor<f32>
  %bias = nn.select %mask, %zero, %big : (tensor<5x5xi1>, tensor<f32>, tensor<f32>) -> tensor<5x5xf32>
  %s = nn.matmul %q, %k {transpose_b} : (tensor<5x8xf32>, tensor<5x8xf32>) -> tensor<5x5xf32>
  %biased = nn.add %s, %bias : (tensor<5x5xf32>, tensor<5x5xf32>) -> tensor<5x5xf32>
  %p = nn.softmax %biased axis -1 : tensor<5x5xf32>
  %o = nn.matmul %p, %v : (tensor<5x5xf32>, tensor<5x8xf32>) -> tensor<5x8xf32>
  return %o : tensor<5x8xf32>
}

// -----

// The scale on q before the product, and k transposed by nn.transpose (as
// exports write it): q and k themselves go in, the scale is the constant's.
// CHECK-LABEL: func @scale_on_q_transposed_k
// CHECK: nn.attention %arg0, %arg1, %arg2 {scale = 2.500000e-01 : f64} : (tensor<2x3x5x4xf32>, tensor<2x3x5x4xf32>, tensor<2x3x5x4xf32>)
// CHECK-NOT: nn.transpose
// WHY: rewrote softmax between matmuls to nn.attention (k transposed by nn.transpose, scale on q)
func.func @scale_on_q_transposed_k(%q: tensor<2x3x5x4xf32>, %k: tensor<2x3x5x4xf32>, %v: tensor<2x3x5x4xf32>) -> tensor<2x3x5x4xf32> {
  %c = nn.constant dense<0.25> : tensor<f32>
  %qs = nn.mul %c, %q : (tensor<f32>, tensor<2x3x5x4xf32>) -> tensor<2x3x5x4xf32>
  %kt = nn.transpose %k perm [0, 1, 3, 2] : tensor<2x3x5x4xf32> -> tensor<2x3x4x5xf32>
  %s = nn.matmul %qs, %kt : (tensor<2x3x5x4xf32>, tensor<2x3x4x5xf32>) -> tensor<2x3x5x5xf32>
  %p = nn.softmax %s axis 3 : tensor<2x3x5x5xf32>
  %o = nn.matmul %p, %v : (tensor<2x3x5x5xf32>, tensor<2x3x5x4xf32>) -> tensor<2x3x5x4xf32>
  return %o : tensor<2x3x5x4xf32>
}

// -----

// A transpose that is not k's last two axes: left alone.
// CHECK-LABEL: func @other_transpose
// CHECK-NOT: nn.attention
// WHY: softmax between matmuls not rewritten to nn.attention: the scores are not matmul(q, k) with k transposed
func.func @other_transpose(%q: tensor<4x4x4xf32>, %k: tensor<4x4x4xf32>, %v: tensor<4x4x4xf32>) -> tensor<4x4x4xf32> {
  %kt = nn.transpose %k perm [1, 0, 2] : tensor<4x4x4xf32> -> tensor<4x4x4xf32>
  %s = nn.matmul %q, %kt : (tensor<4x4x4xf32>, tensor<4x4x4xf32>) -> tensor<4x4x4xf32>
  %p = nn.softmax %s axis -1 : tensor<4x4x4xf32>
  %o = nn.matmul %p, %v : (tensor<4x4x4xf32>, tensor<4x4x4xf32>) -> tensor<4x4x4xf32>
  return %o : tensor<4x4x4xf32>
}

// -----

// Masked scores scaled after the mask by a negative constant: left alone.
// CHECK-LABEL: func @negative_scale_after_mask
// CHECK-NOT: nn.attention
// WHY: softmax between matmuls not rewritten to nn.attention: the masked scores are scaled by a constant that is not positive
func.func @negative_scale_after_mask(%q: tensor<5x8xf32>, %k: tensor<5x8xf32>, %v: tensor<5x8xf32>, %m: tensor<5x5xi1>) -> tensor<5x8xf32> {
  %s = nn.matmul %q, %k {transpose_b} : (tensor<5x8xf32>, tensor<5x8xf32>) -> tensor<5x5xf32>
  %big = nn.constant dense<-1.0e9> : tensor<f32>
  %masked = nn.select %m, %s, %big : (tensor<5x5xi1>, tensor<5x5xf32>, tensor<f32>) -> tensor<5x5xf32>
  %c = nn.constant dense<-2.0> : tensor<f32>
  %scaled = nn.mul %masked, %c : (tensor<5x5xf32>, tensor<f32>) -> tensor<5x5xf32>
  %p = nn.softmax %scaled axis -1 : tensor<5x5xf32>
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
