// Every verifier error, with its message.
// RUN: kiln-opt %s -split-input-file -verify-diagnostics

func.func @broadcast_mismatch(%a: tensor<2x3xf32>, %b: tensor<4xf32>) -> tensor<2x3xf32> {
  // expected-error @+1 {{'nn.add': shapes 2x3xf32 and 4xf32 do not broadcast (NumPy rules)}}
  %0 = nn.add %a, %b : (tensor<2x3xf32>, tensor<4xf32>) -> tensor<2x3xf32>
  return %0 : tensor<2x3xf32>
}

// -----

func.func @element_type_mismatch(%a: tensor<3xf32>, %b: tensor<3xf64>) -> tensor<3xf32> {
  // expected-error @+1 {{operands have different element types: lhs is 'f32', rhs is 'f64'}}
  %0 = nn.mul %a, %b : (tensor<3xf32>, tensor<3xf64>) -> tensor<3xf32>
  return %0 : tensor<3xf32>
}

// -----

func.func @wrong_result_shape(%a: tensor<2x3xf32>, %b: tensor<3xf32>) -> tensor<3x3xf32> {
  // expected-error @+1 {{'nn.sub' op result type 'tensor<3x3xf32>' differs from the inferred 'tensor<2x3xf32>'}}
  %0 = nn.sub %a, %b : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<3x3xf32>
  return %0 : tensor<3x3xf32>
}

// -----

func.func @integer_unary(%x: tensor<3xi32>) -> tensor<3xi32> {
  // expected-error @+1 {{operand #0 must be statically shaped tensor of 32-bit float or 64-bit float values}}
  %0 = nn.exp %x : tensor<3xi32>
  return %0 : tensor<3xi32>
}

// -----

func.func @dynamic_shape(%x: tensor<?xf32>) -> tensor<?xf32> {
  // expected-error @+1 {{must be statically shaped tensor}}
  %0 = nn.relu %x : tensor<?xf32>
  return %0 : tensor<?xf32>
}

// -----

func.func @matmul_k_mismatch(%a: tensor<2x3xf32>, %b: tensor<4x5xf32>) -> tensor<2x5xf32> {
  // expected-error @+1 {{'nn.matmul': contraction sizes differ: a 2x3xf32 has K = 3, b 4x5xf32 has K = 4}}
  %0 = nn.matmul %a, %b : (tensor<2x3xf32>, tensor<4x5xf32>) -> tensor<2x5xf32>
  return %0 : tensor<2x5xf32>
}

// -----

func.func @matmul_rank1(%a: tensor<3xf32>, %b: tensor<3x5xf32>) -> tensor<5xf32> {
  // expected-error @+1 {{'nn.matmul': operands need rank >= 2, got a: 3xf32, b: 3x5xf32}}
  %0 = nn.matmul %a, %b : (tensor<3xf32>, tensor<3x5xf32>) -> tensor<5xf32>
  return %0 : tensor<5xf32>
}

// -----

func.func @matmul_batch_mismatch(%a: tensor<2x3x4xf32>, %b: tensor<3x4x5xf32>) -> tensor<2x3x5xf32> {
  // expected-error @+1 {{'nn.matmul': batch dimensions [2] and [3] do not broadcast}}
  %0 = nn.matmul %a, %b : (tensor<2x3x4xf32>, tensor<3x4x5xf32>) -> tensor<2x3x5xf32>
  return %0 : tensor<2x3x5xf32>
}

// -----

func.func @empty_axes(%x: tensor<2x3xf32>) -> tensor<2x3xf32> {
  // expected-error @+1 {{'nn.reduce_sum': axes must not be empty}}
  %0 = nn.reduce_sum %x axes [] : tensor<2x3xf32> -> tensor<2x3xf32>
  return %0 : tensor<2x3xf32>
}

// -----

func.func @axis_out_of_range(%x: tensor<2x3xf32>) -> tensor<2xf32> {
  // expected-error @+1 {{'nn.reduce_mean': axis 2 is out of range for rank 2}}
  %0 = nn.reduce_mean %x axes [2] : tensor<2x3xf32> -> tensor<2xf32>
  return %0 : tensor<2xf32>
}

// -----

func.func @duplicate_axis(%x: tensor<2x3xf32>) -> tensor<2xf32> {
  // expected-error @+1 {{'nn.reduce_max': axis -1 appears more than once in [1, -1]}}
  %0 = nn.reduce_max %x axes [1, -1] : tensor<2x3xf32> -> tensor<2xf32>
  return %0 : tensor<2xf32>
}

// -----

func.func @softmax_axis(%x: tensor<2x3xf32>) -> tensor<2x3xf32> {
  // expected-error @+1 {{'nn.softmax': axis -3 is out of range for rank 2}}
  %0 = nn.softmax %x axis -3 : tensor<2x3xf32>
  return %0 : tensor<2x3xf32>
}

// -----

func.func @softmax_scalar(%x: tensor<f32>) -> tensor<f32> {
  // expected-error @+1 {{'nn.softmax' op needs an operand of rank >= 1}}
  %0 = nn.softmax %x axis 0 : tensor<f32>
  return %0 : tensor<f32>
}

// -----

func.func @reshape_count(%x: tensor<2x3xf32>) -> tensor<7xf32> {
  // expected-error @+1 {{'nn.reshape': 2x3xf32 has 6 elements but 7xf32 has 7}}
  %0 = nn.reshape %x : tensor<2x3xf32> -> tensor<7xf32>
  return %0 : tensor<7xf32>
}

// -----

func.func @transpose_perm(%x: tensor<2x3xf32>) -> tensor<3x2xf32> {
  // expected-error @+1 {{'nn.transpose': perm [0, 0] is not a permutation of 0..1}}
  %0 = nn.transpose %x perm [0, 0] : tensor<2x3xf32> -> tensor<3x2xf32>
  return %0 : tensor<3x2xf32>
}

// -----

func.func @transpose_rank(%x: tensor<2x3xf32>) -> tensor<3x2xf32> {
  // expected-error @+1 {{'nn.transpose': perm [1, 0, 2] has 3 entries but the operand 2x3xf32 has rank 2}}
  %0 = nn.transpose %x perm [1, 0, 2] : tensor<2x3xf32> -> tensor<3x2xf32>
  return %0 : tensor<3x2xf32>
}

// -----

func.func @broadcast_to_bad(%x: tensor<3xf32>) -> tensor<2x4xf32> {
  // expected-error @+1 {{'nn.broadcast_to': 3xf32 does not broadcast to 2x4xf32}}
  %0 = nn.broadcast_to %x : tensor<3xf32> -> tensor<2x4xf32>
  return %0 : tensor<2x4xf32>
}

// -----

func.func @constant_type() -> tensor<3xf32> {
  // expected-error @+1 {{nn.constant needs a tensor value such as dense<1.0> : tensor<2xf32>}}
  %0 = nn.constant 1.0 : f32
  return %0 : tensor<3xf32>
}

// -----

func.func @loss_shapes(%p: tensor<3xf32>, %l: tensor<4xf32>) -> tensor<f32> {
  // expected-error @+1 {{'nn.l1_loss': prediction 3xf32 and label 4xf32 must have the same shape and element type}}
  %0 = nn.l1_loss %p, %l : (tensor<3xf32>, tensor<4xf32>) -> tensor<f32>
  return %0 : tensor<f32>
}

// -----

// expected-error @+1 {{'nn.name' of argument #0 is "a=b", which is not a tensor name}}
func.func @bad_name(%x: tensor<3xf32> {nn.name = "a=b"}) -> tensor<3xf32> {
  return %x : tensor<3xf32>
}

// -----

// expected-error @+1 {{'nn.param' of argument #0: unknown init "gaussian" (expected normal, uniform, zeros, ones or values)}}
func.func @bad_init(%w: tensor<3xf32> {nn.param = {init = "gaussian"}}) -> tensor<3xf32> {
  return %w : tensor<3xf32>
}

// -----

// expected-error @+1 {{'nn.param' of argument #0: key 'std' does not apply to init = "uniform"}}
func.func @bad_init_key(%w: tensor<3xf32> {nn.param = {init = "uniform", std = 1.0}}) -> tensor<3xf32> {
  return %w : tensor<3xf32>
}

// -----

// expected-error @+1 {{'nn.param' of argument #0: init = "values" needs value = dense<...> : 'tensor<3xf32>'}}
func.func @bad_values(%w: tensor<3xf32> {nn.param = {init = "values", value = dense<1.0> : tensor<2xf32>}}) -> tensor<3xf32> {
  return %w : tensor<3xf32>
}

// -----

// expected-error @+1 {{parameter argument #0 must be an f32 or f64 tensor, got 'tensor<3xi32>'}}
func.func @int_param(%w: tensor<3xi32> {nn.param = {init = "zeros"}}) -> tensor<3xi32> {
  return %w : tensor<3xi32>
}

// -----

// expected-error @+1 {{unknown argument attribute 'nn.weight' (kiln knows nn.name and nn.param)}}
func.func @unknown_attr(%w: tensor<3xf32> {nn.weight}) -> tensor<3xf32> {
  return %w : tensor<3xf32>
}

// -----

func.func @gather_float_indices(%t: tensor<4x2xf32>, %i: tensor<3xf32>) -> tensor<3x2xf32> {
  // expected-error @+1 {{operand #1 must be statically shaped tensor of 32-bit signless integer or 64-bit signless integer values}}
  %0 = nn.gather %t[%i] : (tensor<4x2xf32>, tensor<3xf32>) -> tensor<3x2xf32>
  return %0 : tensor<3x2xf32>
}

// -----

func.func @gather_scalar_table(%t: tensor<f32>, %i: tensor<3xi32>) -> tensor<3xf32> {
  // expected-error @+1 {{'nn.gather': the table needs rank >= 1, got f32}}
  %0 = nn.gather %t[%i] : (tensor<f32>, tensor<3xi32>) -> tensor<3xf32>
  return %0 : tensor<3xf32>
}

// -----

func.func @concat_mismatch(%a: tensor<2x3xf32>, %b: tensor<3x3xf32>) -> tensor<2x6xf32> {
  // expected-error @+1 {{'nn.concat': input #1 is 3x3xf32 but input #0 is 2x3xf32; they may differ only along axis 1}}
  %0 = nn.concat %a, %b axis 1 : (tensor<2x3xf32>, tensor<3x3xf32>) -> tensor<2x6xf32>
  return %0 : tensor<2x6xf32>
}

// -----

func.func @slice_zero_step(%x: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{'nn.slice': the step of axis 0 is 0}}
  %0 = nn.slice %x[[0] : [4] : [0]] : tensor<4xf32> -> tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

func.func @slice_arity(%x: tensor<4x2xf32>) -> tensor<4x2xf32> {
  // expected-error @+1 {{'nn.slice': needs one start, stop and step per axis of 4x2xf32 (2), got 1, 1 and 1}}
  %0 = nn.slice %x[[0] : [4] : [1]] : tensor<4x2xf32> -> tensor<4x2xf32>
  return %0 : tensor<4x2xf32>
}

// -----

func.func @layer_norm_leading_axis(%x: tensor<2x4xf32>) -> tensor<2x4xf32> {
  // expected-error @+1 {{'nn.layer_norm': axes [0] must be the trailing axes of 2x4xf32}}
  %0 = nn.layer_norm %x axes [0] : (tensor<2x4xf32>) -> tensor<2x4xf32>
  return %0 : tensor<2x4xf32>
}

// -----

func.func @layer_norm_gamma(%x: tensor<2x4xf32>, %g: tensor<2xf32>) -> tensor<2x4xf32> {
  // expected-error @+1 {{'nn.layer_norm': gamma is 2xf32 but must be 4xf32}}
  %0 = nn.layer_norm %x gamma %g axes [-1] : (tensor<2x4xf32>, tensor<2xf32>) -> tensor<2x4xf32>
  return %0 : tensor<2x4xf32>
}

// -----

func.func @gelu_kind(%x: tensor<2xf32>) -> tensor<2xf32> {
  // expected-error @+1 {{'nn.gelu' op approximate must be "none" or "tanh", got "sigmoid"}}
  %0 = nn.gelu %x {approximate = "sigmoid"} : tensor<2xf32>
  return %0 : tensor<2xf32>
}

// -----

func.func @compare_result_type(%a: tensor<2xf32>, %b: tensor<2xf32>) -> tensor<2xf32> {
  // expected-error @+1 {{result #0 must be statically shaped tensor of 1-bit signless integer values}}
  %0 = nn.eq %a, %b : (tensor<2xf32>, tensor<2xf32>) -> tensor<2xf32>
  return %0 : tensor<2xf32>
}

// -----

func.func @select_choices(%c: tensor<2xi1>, %a: tensor<2xf32>, %b: tensor<2xf64>) -> tensor<2xf32> {
  // expected-error @+1 {{'nn.select': the two choices have different element types: 'f32' and 'f64'}}
  %0 = nn.select %c, %a, %b : (tensor<2xi1>, tensor<2xf32>, tensor<2xf64>) -> tensor<2xf32>
  return %0 : tensor<2xf32>
}

// -----

func.func @cast_shape(%x: tensor<2xf32>) -> tensor<3xi32> {
  // expected-error @+1 {{'nn.cast' op changes the shape from 2xf32 to 3xi32; a cast changes only the element type}}
  %0 = nn.cast %x : tensor<2xf32> -> tensor<3xi32>
  return %0 : tensor<3xi32>
}

// -----

func.func @cross_entropy_labels(%l: tensor<2x5xf32>, %y: tensor<5xi64>) -> tensor<f32> {
  // expected-error @+1 {{'nn.cross_entropy': labels 5xi64 must have the shape of logits 2x5xf32 without its last (class) axis}}
  %0 = nn.cross_entropy %l, %y : (tensor<2x5xf32>, tensor<5xi64>) -> tensor<f32>
  return %0 : tensor<f32>
}

// -----

func.func @iota_axis() -> tensor<3xi64> {
  // expected-error @+1 {{'nn.iota': axis 1 is out of range for rank 1}}
  %0 = nn.iota axis 1 : tensor<3xi64>
  return %0 : tensor<3xi64>
}

// -----

// A misspelt attribute is an error, not ignored for the default (issue 11).
func.func @misspelt_attribute(%x: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{'nn.gelu' op has no attribute 'approximation' (its attributes: approximate)}}
  %0 = nn.gelu %x {approximation = "tanh"} : tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

func.func @misspelt_epsilon(%x: tensor<2x4xf32>) -> tensor<2x4xf32> {
  // expected-error @+1 {{'nn.layer_norm' op has no attribute 'epsilon' (its attributes: axes, eps)}}
  %0 = nn.layer_norm %x axes [1] {epsilon = 0.5 : f64} : (tensor<2x4xf32>) -> tensor<2x4xf32>
  return %0 : tensor<2x4xf32>
}

// -----

func.func @attribute_on_an_op_without_any(%x: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{'nn.tanh' op has no attribute 'fast' (it takes none)}}
  %0 = nn.tanh %x {fast} : tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

// kiln's own discardable attributes stay legal.
func.func @kiln_attribute(%x: tensor<4xf32>) -> tensor<4xf32> {
  %0 = nn.tanh %x {kiln.note = "kept"} : tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

func.func @dropout_rate_one(%x: tensor<4xf32>, %step: tensor<i64>) -> tensor<4xf32> {
  // expected-error @+1 {{'nn.dropout' op rate must be in [0, 1), got 1}}
  %y = nn.dropout %x, %step {rate = 1.0} : (tensor<4xf32>, tensor<i64>) -> tensor<4xf32>
  return %y : tensor<4xf32>
}
