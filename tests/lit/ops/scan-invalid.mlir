// nn.scan's verifier names what is wrong, expected against given: the
// steps of the scanned inputs, the body's arguments, the yielded carries,
// the results.
// RUN: kiln-opt %s -split-input-file -verify-diagnostics

func.func @different_lengths(%a: tensor<5x2xf32>, %b: tensor<4x2xf32>) -> tensor<5x2xf32> {
  // expected-error @+1 {{'nn.scan' op scanned input #1 has 4 steps (leading dimension), expected 5 as scanned input #0}}
  %y = nn.scan over(%a, %b : tensor<5x2xf32>, tensor<4x2xf32>) -> (tensor<5x2xf32>) {
  ^bb0(%x: tensor<2xf32>, %z: tensor<2xf32>):
    nn.yield %x : tensor<2xf32>
  }
  return %y : tensor<5x2xf32>
}

// -----

func.func @slice_type(%a: tensor<5x2xf32>) -> tensor<5x2xf32> {
  // expected-error @+1 {{'nn.scan' op body argument #0 has type 'tensor<5x2xf32>', expected 'tensor<2xf32>'}}
  %y = nn.scan over(%a : tensor<5x2xf32>) -> (tensor<5x2xf32>) {
  ^bb0(%x: tensor<5x2xf32>):
    %s = nn.slice %x[[0, 0] : [1, 2] : [1, 1]] : tensor<5x2xf32> -> tensor<1x2xf32>
    %r = nn.reshape %s : tensor<1x2xf32> -> tensor<2xf32>
    nn.yield %r : tensor<2xf32>
  }
  return %y : tensor<5x2xf32>
}

// -----

func.func @carry_type_changes(%h: tensor<2xf32>, %a: tensor<5x3xf32>) -> tensor<2xf32> {
  %c, %y = nn.scan inits(%h : tensor<2xf32>) over(%a : tensor<5x3xf32>) -> (tensor<2xf32>, tensor<5x3xf32>) {
  ^bb0(%c: tensor<2xf32>, %x: tensor<3xf32>):
    // expected-error @+1 {{'nn.yield' op carry #0 is yielded as 'tensor<3xf32>', expected 'tensor<2xf32>' (its initial value's type)}}
    nn.yield %x, %x : tensor<3xf32>, tensor<3xf32>
  }
  return %c : tensor<2xf32>
}

// -----

func.func @stacked_result_type(%a: tensor<5x3xf32>) -> tensor<3xf32> {
  // expected-error @+1 {{'nn.scan' op result #0 has type 'tensor<3xf32>', expected 'tensor<5x3xf32>'}}
  %y = nn.scan over(%a : tensor<5x3xf32>) -> (tensor<3xf32>) {
  ^bb0(%x: tensor<3xf32>):
    nn.yield %x : tensor<3xf32>
  }
  return %y : tensor<3xf32>
}

// -----

func.func @uses_a_value_from_outside(%a: tensor<5x3xf32>, %w: tensor<3xf32>) -> tensor<5x3xf32> {
  // expected-note @+1 {{required by region isolation constraints}}
  %y = nn.scan over(%a : tensor<5x3xf32>) -> (tensor<5x3xf32>) {
  ^bb0(%x: tensor<3xf32>):
    // expected-error @+1 {{using value defined outside the region}}
    %s = nn.add %x, %w : (tensor<3xf32>, tensor<3xf32>) -> tensor<3xf32>
    nn.yield %s : tensor<3xf32>
  }
  return %y : tensor<5x3xf32>
}

// -----

func.func @nothing_scanned(%h: tensor<2xf32>) -> tensor<2xf32> {
  // expected-error @+1 {{'nn.scan' op scans at least one input (`over`): its leading axis is the steps}}
  %c = "nn.scan"(%h) <{operandSegmentSizes = array<i32: 1, 0, 0>}> ({
  ^bb0(%c: tensor<2xf32>):
    nn.yield %c : tensor<2xf32>
  }) : (tensor<2xf32>) -> tensor<2xf32>
  return %c : tensor<2xf32>
}

// -----

func.func @checkpoint_every_zero(%a: tensor<5x3xf32>) -> tensor<5x3xf32> {
  // expected-error @+1 {{'nn.scan' op checkpoint_every must be at least 1 (save every k-th carry), got 0}}
  %y = nn.scan over(%a : tensor<5x3xf32>) {checkpoint_every = 0 : i64} -> (tensor<5x3xf32>) {
  ^bb0(%x: tensor<3xf32>):
    nn.yield %x : tensor<3xf32>
  }
  return %y : tensor<5x3xf32>
}
