// RUN: kiln-opt %s --split-input-file --kiln-split-scan-rows="threads=2 parallel-min-flops=0 explain=true" -verify-diagnostics | FileCheck %s

// An RNN step on 16 rows, for two threads: a parallel loop over two blocks
// of 8 rows, each running the whole scan on its rows (inits and the scanned
// input sliced by row, the weights shared), its stacked output inserted
// into the block's rows of the whole. Windows over all rows end at the
// block's last row.
// CHECK-LABEL: func.func @rnn(
// CHECK:         %[[ALL:.*]] = tensor.empty() : tensor<5x16x4xf32>
// CHECK:         scf.for %[[K:.*]] = %c0 to %c2 step %c1 iter_args(%[[INTO:.*]] = %[[ALL]])
// CHECK:           %[[FIRST:.*]] = arith.muli %[[K]], %c8
// CHECK:           %[[H0:.*]] = tensor.extract_slice %arg0[%[[FIRST]], 0] [8, 4] [1, 1] : tensor<16x4xf32> to tensor<8x4xf32>
// CHECK:           %[[XS:.*]] = tensor.extract_slice %arg1[0, %[[FIRST]], 0] [5, 8, 3] [1, 1, 1] : tensor<5x16x3xf32> to tensor<5x8x3xf32>
// CHECK:           %[[S:.*]]:2 = nn.scan inits(%[[H0]] : tensor<8x4xf32>) over(%[[XS]] : tensor<5x8x3xf32>) consts(%arg2, %arg3 : tensor<3x4xf32>, tensor<4x4xf32>) -> (tensor<8x4xf32>, tensor<5x8x4xf32>)
// CHECK:             nn.matmul {{.*}} -> tensor<8x4xf32>
// CHECK:             nn.slice %{{.*}}{{\[\[}}0, 0] : [8, 2] : [1, 1]] : tensor<8x4xf32> -> tensor<8x2xf32>
// CHECK:             nn.slice_scatter %{{.*}} into{{\[\[}}0, 2] : [8, 4] : [1, 1]] : tensor<8x2xf32> -> tensor<8x4xf32>
// CHECK:             nn.sub {{.*}} : (tensor<f32>, tensor<8x4xf32>) -> tensor<8x4xf32>
// CHECK:           tensor.insert_slice %[[S]]#1 into %[[INTO]][0, %[[FIRST]], 0] [5, 8, 4] [1, 1, 1]
// CHECK:         } {kiln.kernel = "recurrence of 5 steps, 16 rows in 2 blocks", kiln.kernel_flops = {{[0-9]+}} : i64, kiln.parallel}
func.func @rnn(%h0: tensor<16x4xf32>, %xs: tensor<5x16x3xf32>, %w: tensor<3x4xf32>, %u: tensor<4x4xf32>) -> tensor<5x16x4xf32> {
  // expected-remark @+1 {{recurrence of 5 steps, 16 rows in 2 blocks (8 rows each) on the thread pool}}
  %h, %hs = nn.scan inits(%h0 : tensor<16x4xf32>) over(%xs : tensor<5x16x3xf32>) consts(%w, %u : tensor<3x4xf32>, tensor<4x4xf32>) -> (tensor<16x4xf32>, tensor<5x16x4xf32>) {
  ^bb0(%c: tensor<16x4xf32>, %x: tensor<16x3xf32>, %wc: tensor<3x4xf32>, %uc: tensor<4x4xf32>):
    %p = nn.matmul %x, %wc : (tensor<16x3xf32>, tensor<3x4xf32>) -> tensor<16x4xf32>
    %q = nn.matmul %c, %uc {transpose_b} : (tensor<16x4xf32>, tensor<4x4xf32>) -> tensor<16x4xf32>
    %s = nn.add %p, %q : (tensor<16x4xf32>, tensor<16x4xf32>) -> tensor<16x4xf32>
    %g = nn.slice %s[[0, 0] : [16, 2] : [1, 1]] : tensor<16x4xf32> -> tensor<16x2xf32>
    %z = nn.slice_scatter %g into[[0, 2] : [16, 4] : [1, 1]] : tensor<16x2xf32> -> tensor<16x4xf32>
    %one = nn.constant dense<1.0> : tensor<f32>
    %m = nn.sub %one, %z : (tensor<f32>, tensor<16x4xf32>) -> tensor<16x4xf32>
    %n = nn.tanh %m : tensor<16x4xf32>
    nn.yield %n, %n : tensor<16x4xf32>, tensor<16x4xf32>
  }
  return %hs : tensor<5x16x4xf32>
}

// -----

// Only the used results become the loop's: here the final carry alone.
// CHECK-LABEL: func.func @final_state_only(
// CHECK:         scf.for {{.*}} -> (tensor<16x4xf32>)
// CHECK:           nn.scan {{.*}} -> (tensor<8x4xf32>, tensor<5x8x4xf32>)
// CHECK:           tensor.insert_slice %{{.*}}#0 into %{{.*}}[%{{.*}}, 0] [8, 4] [1, 1]
func.func @final_state_only(%h0: tensor<16x4xf32>, %xs: tensor<5x16x4xf32>) -> tensor<16x4xf32> {
  // expected-remark @+1 {{recurrence of 5 steps, 16 rows in 2 blocks (8 rows each) on the thread pool}}
  %h, %hs = nn.scan inits(%h0 : tensor<16x4xf32>) over(%xs : tensor<5x16x4xf32>) -> (tensor<16x4xf32>, tensor<5x16x4xf32>) {
  ^bb0(%c: tensor<16x4xf32>, %x: tensor<16x4xf32>):
    %s = nn.add %c, %x : (tensor<16x4xf32>, tensor<16x4xf32>) -> tensor<16x4xf32>
    nn.yield %s, %s : tensor<16x4xf32>, tensor<16x4xf32>
  }
  return %h : tensor<16x4xf32>
}

// -----

// A sum over the rows (a batch mean inside the step) mixes them: whole.
// CHECK-LABEL: func.func @sum_over_rows(
// CHECK-NOT:     scf.for
// CHECK:         nn.scan inits(%{{.*}} : tensor<16x4xf32>)
func.func @sum_over_rows(%h0: tensor<16x4xf32>, %xs: tensor<5x16x4xf32>) -> tensor<16x4xf32> {
  // expected-remark @+1 {{scan over 5 steps stays whole: its body's 'nn.reduce_sum' does not keep the rows apart}}
  %h, %hs = nn.scan inits(%h0 : tensor<16x4xf32>) over(%xs : tensor<5x16x4xf32>) -> (tensor<16x4xf32>, tensor<5x16x4xf32>) {
  ^bb0(%c: tensor<16x4xf32>, %x: tensor<16x4xf32>):
    %m = nn.reduce_sum %c axes [0] keepdims : tensor<16x4xf32> -> tensor<1x4xf32>
    %s = nn.add %m, %x : (tensor<1x4xf32>, tensor<16x4xf32>) -> tensor<16x4xf32>
    nn.yield %s, %s : tensor<16x4xf32>, tensor<16x4xf32>
  }
  return %h : tensor<16x4xf32>
}

// -----

// A const with one value per row (the encoder's states of a decoder) is
// not shared by the rows: whole.
// CHECK-LABEL: func.func @per_row_const(
// CHECK-NOT:     scf.for
func.func @per_row_const(%h0: tensor<16x4xf32>, %xs: tensor<5x16x4xf32>, %e: tensor<16x4xf32>) -> tensor<16x4xf32> {
  // expected-remark @+1 {{scan over 5 steps stays whole: its body's 'nn.add' does not keep the rows apart}}
  %h, %hs = nn.scan inits(%h0 : tensor<16x4xf32>) over(%xs : tensor<5x16x4xf32>) consts(%e : tensor<16x4xf32>) -> (tensor<16x4xf32>, tensor<5x16x4xf32>) {
  ^bb0(%c: tensor<16x4xf32>, %x: tensor<16x4xf32>, %ec: tensor<16x4xf32>):
    %s = nn.add %c, %ec : (tensor<16x4xf32>, tensor<16x4xf32>) -> tensor<16x4xf32>
    nn.yield %s, %s : tensor<16x4xf32>, tensor<16x4xf32>
  }
  return %h : tensor<16x4xf32>
}

// -----

// A product that contracts over the rows (h^T h) mixes them: whole.
// CHECK-LABEL: func.func @contracts_rows(
// CHECK-NOT:     scf.for
func.func @contracts_rows(%h0: tensor<16x4xf32>, %xs: tensor<5x16x4xf32>) -> tensor<16x4xf32> {
  // expected-remark @+1 {{scan over 5 steps stays whole: its body's 'nn.matmul' does not keep the rows apart}}
  %h, %hs = nn.scan inits(%h0 : tensor<16x4xf32>) over(%xs : tensor<5x16x4xf32>) -> (tensor<16x4xf32>, tensor<5x16x4xf32>) {
  ^bb0(%c: tensor<16x4xf32>, %x: tensor<16x4xf32>):
    %g = nn.matmul %c, %x {transpose_a} : (tensor<16x4xf32>, tensor<16x4xf32>) -> tensor<4x4xf32>
    %s = nn.matmul %x, %g : (tensor<16x4xf32>, tensor<4x4xf32>) -> tensor<16x4xf32>
    nn.yield %s, %s : tensor<16x4xf32>, tensor<16x4xf32>
  }
  return %h : tensor<16x4xf32>
}

// -----

// 13 rows (a prime) make no two equal blocks of 8 or more: whole.
// CHECK-LABEL: func.func @prime_rows(
// CHECK-NOT:     scf.for
func.func @prime_rows(%h0: tensor<13x4xf32>, %xs: tensor<5x13x4xf32>) -> tensor<13x4xf32> {
  // expected-remark @+1 {{scan over 5 steps stays whole: 13 rows do not make 2-thread blocks of at least 8}}
  %h, %hs = nn.scan inits(%h0 : tensor<13x4xf32>) over(%xs : tensor<5x13x4xf32>) -> (tensor<13x4xf32>, tensor<5x13x4xf32>) {
  ^bb0(%c: tensor<13x4xf32>, %x: tensor<13x4xf32>):
    %s = nn.add %c, %x : (tensor<13x4xf32>, tensor<13x4xf32>) -> tensor<13x4xf32>
    nn.yield %s, %s : tensor<13x4xf32>, tensor<13x4xf32>
  }
  return %h : tensor<13x4xf32>
}

// -----

// A window of a shared value (a gate's part of a bias) is shared too and
// keeps its bounds; only windows over rows end at the block's last row.
// CHECK-LABEL: func.func @shared_slice(
// CHECK:         nn.scan {{.*}} -> (tensor<8x4xf32>, tensor<5x8x4xf32>)
// CHECK:           nn.slice %{{.*}}{{\[\[}}4] : [8] : [1]] : tensor<8xf32> -> tensor<4xf32>
// CHECK:           nn.add {{.*}} : (tensor<8x4xf32>, tensor<4xf32>) -> tensor<8x4xf32>
func.func @shared_slice(%h0: tensor<16x4xf32>, %xs: tensor<5x16x4xf32>, %b: tensor<8xf32>) -> tensor<5x16x4xf32> {
  // expected-remark @+1 {{recurrence of 5 steps, 16 rows in 2 blocks (8 rows each) on the thread pool}}
  %h, %hs = nn.scan inits(%h0 : tensor<16x4xf32>) over(%xs : tensor<5x16x4xf32>) consts(%b : tensor<8xf32>) -> (tensor<16x4xf32>, tensor<5x16x4xf32>) {
  ^bb0(%c: tensor<16x4xf32>, %x: tensor<16x4xf32>, %bc: tensor<8xf32>):
    %part = nn.slice %bc[[4] : [8] : [1]] : tensor<8xf32> -> tensor<4xf32>
    %s = nn.add %c, %part : (tensor<16x4xf32>, tensor<4xf32>) -> tensor<16x4xf32>
    %t = nn.add %s, %x : (tensor<16x4xf32>, tensor<16x4xf32>) -> tensor<16x4xf32>
    nn.yield %t, %t : tensor<16x4xf32>, tensor<16x4xf32>
  }
  return %hs : tensor<5x16x4xf32>
}

// -----

// Shared weights of 4 MiB (an LSTM's W_hh at H = 512) still split: each
// block streams them at every step, but runs its own gates.
// CHECK-LABEL: func.func @four_mib_weight(
// CHECK:         nn.scan {{.*}} -> (tensor<8x512xf32>, tensor<3x8x512xf32>)
// CHECK:         } {kiln.kernel = "recurrence of 3 steps, 16 rows in 2 blocks"
func.func @four_mib_weight(%h0: tensor<16x512xf32>, %xs: tensor<3x16x2048xf32>, %w: tensor<512x2048xf32>) -> tensor<16x512xf32> {
  // expected-remark @+1 {{recurrence of 3 steps, 16 rows in 2 blocks (8 rows each) on the thread pool}}
  %h, %hs = nn.scan inits(%h0 : tensor<16x512xf32>) over(%xs : tensor<3x16x2048xf32>) consts(%w : tensor<512x2048xf32>) -> (tensor<16x512xf32>, tensor<3x16x512xf32>) {
  ^bb0(%c: tensor<16x512xf32>, %x: tensor<16x2048xf32>, %wc: tensor<512x2048xf32>):
    %p = nn.matmul %c, %wc : (tensor<16x512xf32>, tensor<512x2048xf32>) -> tensor<16x2048xf32>
    %s = nn.add %p, %x : (tensor<16x2048xf32>, tensor<16x2048xf32>) -> tensor<16x2048xf32>
    %g = nn.slice %s[[0, 0] : [16, 512] : [1, 1]] : tensor<16x2048xf32> -> tensor<16x512xf32>
    %t = nn.tanh %g : tensor<16x512xf32>
    nn.yield %t, %t : tensor<16x512xf32>, tensor<16x512xf32>
  }
  return %h : tensor<16x512xf32>
}

// -----

// More than 4 MiB of shared weights (5 MiB) keep the scan whole, split by
// columns inside each step.
// CHECK-LABEL: func.func @five_mib_weight(
// CHECK-NOT:     scf.for
func.func @five_mib_weight(%h0: tensor<16x640xf32>, %xs: tensor<3x16x2048xf32>, %w: tensor<640x2048xf32>) -> tensor<16x640xf32> {
  // expected-remark @+1 {{scan over 3 steps stays whole: every block would read all 5120 KiB of its weights at every step (more than the 4 MiB up to which a split was measured faster)}}
  %h, %hs = nn.scan inits(%h0 : tensor<16x640xf32>) over(%xs : tensor<3x16x2048xf32>) consts(%w : tensor<640x2048xf32>) -> (tensor<16x640xf32>, tensor<3x16x640xf32>) {
  ^bb0(%c: tensor<16x640xf32>, %x: tensor<16x2048xf32>, %wc: tensor<640x2048xf32>):
    %p = nn.matmul %c, %wc : (tensor<16x640xf32>, tensor<640x2048xf32>) -> tensor<16x2048xf32>
    %s = nn.add %p, %x : (tensor<16x2048xf32>, tensor<16x2048xf32>) -> tensor<16x2048xf32>
    %g = nn.slice %s[[0, 0] : [16, 640] : [1, 1]] : tensor<16x2048xf32> -> tensor<16x640xf32>
    %t = nn.tanh %g : tensor<16x640xf32>
    nn.yield %t, %t : tensor<16x640xf32>, tensor<16x640xf32>
  }
  return %h : tensor<16x640xf32>
}
