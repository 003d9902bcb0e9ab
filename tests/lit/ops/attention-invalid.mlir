// nn.attention's shape rule names the operand and the sizes that disagree.
// RUN: kiln-opt %s -split-input-file -verify-diagnostics

func.func @head_size_differs(%q: tensor<4x8xf32>, %k: tensor<6x7xf32>, %v: tensor<6x8xf32>) -> tensor<4x8xf32> {
  // expected-error @+1 {{'nn.attention': k 6x7xf32 has D = 7 but q 4x8xf32 has D = 8}}
  %0 = nn.attention %q, %k, %v : (tensor<4x8xf32>, tensor<6x7xf32>, tensor<6x8xf32>) -> tensor<4x8xf32>
  return %0 : tensor<4x8xf32>
}

// -----

func.func @keys_differ(%q: tensor<4x8xf32>, %k: tensor<6x8xf32>, %v: tensor<5x8xf32>) -> tensor<4x8xf32> {
  // expected-error @+1 {{'nn.attention': v 5x8xf32 has 5 keys but k 6x8xf32 has 6}}
  %0 = nn.attention %q, %k, %v : (tensor<4x8xf32>, tensor<6x8xf32>, tensor<5x8xf32>) -> tensor<4x8xf32>
  return %0 : tensor<4x8xf32>
}

// -----

func.func @batches_differ(%q: tensor<2x4x8xf32>, %k: tensor<3x6x8xf32>, %v: tensor<3x6x8xf32>) -> tensor<2x4x8xf32> {
  // expected-error @+1 {{'nn.attention': k 3x6x8xf32 has leading dimensions [3] but q 2x4x8xf32 has [2]}}
  %0 = nn.attention %q, %k, %v : (tensor<2x4x8xf32>, tensor<3x6x8xf32>, tensor<3x6x8xf32>) -> tensor<2x4x8xf32>
  return %0 : tensor<2x4x8xf32>
}

// -----

func.func @rank_one(%q: tensor<8xf32>, %k: tensor<8xf32>, %v: tensor<8xf32>) -> tensor<8xf32> {
  // expected-error @+1 {{'nn.attention': q, k and v need one rank >= 2 ([..., L, D]), got q 8xf32, k 8xf32, v 8xf32}}
  %0 = nn.attention %q, %k, %v : (tensor<8xf32>, tensor<8xf32>, tensor<8xf32>) -> tensor<8xf32>
  return %0 : tensor<8xf32>
}

// -----

func.func @mask_does_not_broadcast(%q: tensor<4x8xf32>, %k: tensor<6x8xf32>, %v: tensor<6x8xf32>, %m: tensor<4x5xi1>) -> tensor<4x8xf32> {
  // expected-error @+1 {{'nn.attention': mask 4x5xi1 does not broadcast to the scores' shape [4, 6] ([..., Lq, Lk])}}
  %0 = nn.attention %q, %k, %v mask %m : (tensor<4x8xf32>, tensor<6x8xf32>, tensor<6x8xf32>, tensor<4x5xi1>) -> tensor<4x8xf32>
  return %0 : tensor<4x8xf32>
}

// -----

func.func @bias_of_higher_rank(%q: tensor<4x8xf32>, %k: tensor<6x8xf32>, %v: tensor<6x8xf32>, %b: tensor<2x4x6xf32>) -> tensor<4x8xf32> {
  // expected-error @+1 {{'nn.attention': bias 2x4x6xf32 does not broadcast to the scores' shape [4, 6] ([..., Lq, Lk])}}
  %0 = nn.attention %q, %k, %v bias %b : (tensor<4x8xf32>, tensor<6x8xf32>, tensor<6x8xf32>, tensor<2x4x6xf32>) -> tensor<4x8xf32>
  return %0 : tensor<4x8xf32>
}

// -----

func.func @bias_element_type(%q: tensor<4x8xf32>, %k: tensor<6x8xf32>, %v: tensor<6x8xf32>, %b: tensor<4x6xf64>) -> tensor<4x8xf32> {
  // expected-error @+1 {{'nn.attention': bias has element type 'f64' but q has 'f32'}}
  %0 = nn.attention %q, %k, %v bias %b : (tensor<4x8xf32>, tensor<6x8xf32>, tensor<6x8xf32>, tensor<4x6xf64>) -> tensor<4x8xf32>
  return %0 : tensor<4x8xf32>
}

// -----

func.func @mask_not_boolean(%q: tensor<4x8xf32>, %k: tensor<6x8xf32>, %v: tensor<6x8xf32>, %m: tensor<4x6xf32>) -> tensor<4x8xf32> {
  // expected-error @+1 {{operand #3 must be statically shaped tensor of 1-bit signless integer values}}
  %0 = nn.attention %q, %k, %v mask %m : (tensor<4x8xf32>, tensor<6x8xf32>, tensor<6x8xf32>, tensor<4x6xf32>) -> tensor<4x8xf32>
  return %0 : tensor<4x8xf32>
}

// -----

func.func @scale_not_finite(%q: tensor<4x8xf32>, %k: tensor<6x8xf32>, %v: tensor<6x8xf32>) -> tensor<4x8xf32> {
  // expected-error @+1 {{'nn.attention' op scale must be finite, got INF}}
  %0 = nn.attention %q, %k, %v {scale = 0x7FF0000000000000 : f64} : (tensor<4x8xf32>, tensor<6x8xf32>, tensor<6x8xf32>) -> tensor<4x8xf32>
  return %0 : tensor<4x8xf32>
}

// -----

func.func @misspelt_attribute(%q: tensor<4x8xf32>, %k: tensor<6x8xf32>, %v: tensor<6x8xf32>) -> tensor<4x8xf32> {
  // expected-error @+1 {{'nn.attention' op has no attribute 'is_causal' (its attributes: causal, scale)}}
  %0 = nn.attention %q, %k, %v {is_causal} : (tensor<4x8xf32>, tensor<6x8xf32>, tensor<6x8xf32>) -> tensor<4x8xf32>
  return %0 : tensor<4x8xf32>
}

// -----

func.func @backward_grad_shape(%q: tensor<4x8xf32>, %k: tensor<6x8xf32>, %v: tensor<6x8xf32>, %o: tensor<4x8xf32>, %g: tensor<6x8xf32>) -> tensor<4x8xf32> {
  // expected-error @+1 {{'nn.attention_backward': grad is 6x8xf32 but the attention's result is 4x8xf32}}
  %dq, %dk, %dv = nn.attention_backward %q, %k, %v, %o, %g : (tensor<4x8xf32>, tensor<6x8xf32>, tensor<6x8xf32>, tensor<4x8xf32>, tensor<6x8xf32>) -> (tensor<4x8xf32>, tensor<6x8xf32>, tensor<6x8xf32>)
  return %dq : tensor<4x8xf32>
}
