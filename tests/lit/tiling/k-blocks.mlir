// A long-K matmul without an epilogue runs over K blocks of 256 (a loop
// not on the pool), each over the column tiles of 32 (the loop on the
// thread pool): A's slice for the block (128 x 256) serves every column
// tile before the next block's is read, a 256 x 32 panel of B (32 KiB,
// within L1) is packed per column tile and every 8-row tile reads it in
// turn, accumulating into the column's strip of the result. The zero fill
// stays before the loops; the K loop is the kernel and states its flops.
// RUN: kiln-opt %s --split-input-file --kiln-lower-nn-to-linalg --kiln-tile-matmul | FileCheck %s

// CHECK-LABEL: func.func @main
// CHECK:       %[[ZERO:.*]] = linalg.fill
// CHECK:       scf.for %[[K:.*]] = %c0 to %c2048 step %c256 iter_args(%[[C:.*]] = %[[ZERO]])
// CHECK:         tensor.extract_slice %{{.*}}[0, %[[K]]] [128, 256]
// CHECK:         scf.for %[[N:.*]] = %c0 to %c512 step %c32 iter_args(%[[R:.*]] = %[[C]])
// CHECK:           %[[STRIP:.*]] = tensor.extract_slice %[[R]][0, %[[N]]] [128, 32]
// CHECK:           tensor.extract_slice %{{.*}}[%[[K]], %[[N]]] [256, 32]
// CHECK:           linalg.copy ins(%{{.*}} : tensor<256x32xf32>)
// CHECK:           scf.for {{.*}} to %c128 step %c8 iter_args(%{{.*}} = %[[STRIP]])
// CHECK:             scf.for {{.*}} to %c256 step %c1
// CHECK:           tensor.insert_slice %{{.*}} into %[[R]][0, %[[N]]] [128, 32]
// CHECK:         } {kiln.parallel}
// CHECK:       } {kiln.kernel = "matmul 128x512x2048", kiln.kernel_flops = 268435456 : i64}
func.func @main(%a: tensor<128x2048xf32>, %b: tensor<2048x512xf32>) -> tensor<128x512xf32> {
  %0 = nn.matmul %a, %b : (tensor<128x2048xf32>, tensor<2048x512xf32>) -> tensor<128x512xf32>
  return %0 : tensor<128x512xf32>
}

// -----

// K below four blocks keeps whole-K register tiles.
// CHECK-LABEL: func.func @short_k
// CHECK-NOT:   step %c256
func.func @short_k(%a: tensor<128x512xf32>, %b: tensor<512x128xf32>) -> tensor<128x128xf32> {
  %0 = nn.matmul %a, %b : (tensor<128x512xf32>, tensor<512x128xf32>) -> tensor<128x128xf32>
  return %0 : tensor<128x128xf32>
}

// -----

// A constant B keeps its panels packed at compile time (here a splat, whose
// panel folds to a 1024 x 32 constant, whole K): K blocks would copy each
// block's panel again at every call.
// CHECK-LABEL: func.func @constant_b
// CHECK:       arith.constant dense<1.000000e+00> : tensor<1024x32xf32>
// CHECK-NOT:   step %c256
func.func @constant_b(%a: tensor<128x1024xf32>) -> tensor<128x64xf32> {
  %b = arith.constant dense<1.0> : tensor<1024x64xf32>
  %0 = nn.matmul %a, %b : (tensor<128x1024xf32>, tensor<1024x64xf32>) -> tensor<128x64xf32>
  return %0 : tensor<128x64xf32>
}

// -----

// A B invariant in the loop around the product (a recurrence's weight) is
// packed once before the loop, not per step in K blocks.
// CHECK-LABEL: func.func @loop_invariant_b
// CHECK:       linalg.transpose {{.*}} outs(%{{.*}} : tensor<2x1024x32xf32>)
// CHECK:       scf.for
// CHECK-NOT:   step %c256
func.func @loop_invariant_b(%a: tensor<4x128x1024xf32>, %b: tensor<1024x64xf32>) -> tensor<128x64xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %z = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<128x64xf32>
  %init = linalg.fill ins(%z : f32) outs(%e : tensor<128x64xf32>) -> tensor<128x64xf32>
  %r = scf.for %i = %c0 to %c4 step %c1 iter_args(%acc = %init) -> tensor<128x64xf32> {
    %x = tensor.extract_slice %a[%i, 0, 0] [1, 128, 1024] [1, 1, 1] : tensor<4x128x1024xf32> to tensor<128x1024xf32>
    %p = nn.matmul %x, %b : (tensor<128x1024xf32>, tensor<1024x64xf32>) -> tensor<128x64xf32>
    %s = nn.add %acc, %p : (tensor<128x64xf32>, tensor<128x64xf32>) -> tensor<128x64xf32>
    scf.yield %s : tensor<128x64xf32>
  }
  return %r : tensor<128x64xf32>
}

// -----

// A's rows spanning more than 1 MiB (512 rows 4 KiB apart): each K block's
// slice of A is copied contiguous before the column tiles read it.
// CHECK-LABEL: func.func @far_apart_rows
// CHECK:       scf.for %[[K:.*]] = %c0 to %c1024 step %c256
// CHECK:         %[[SLICE:.*]] = tensor.extract_slice %{{.*}}[0, %[[K]]] [512, 256]
// CHECK:         linalg.copy ins(%[[SLICE]] : tensor<512x256xf32{{.*}}>) outs(%{{.*}} : tensor<512x256xf32>)
// CHECK:         scf.for {{.*}} to %c64 step %c32
func.func @far_apart_rows(%a: tensor<512x1024xf32>, %b: tensor<1024x64xf32>) -> tensor<512x64xf32> {
  %0 = nn.matmul %a, %b : (tensor<512x1024xf32>, tensor<1024x64xf32>) -> tensor<512x64xf32>
  return %0 : tensor<512x64xf32>
}
