// kiln-sink-temporaries: a tensor.empty hoisted out of a parallel loop
// goes back in, one copy per use (allocated inside, each iteration's own);
// a use in an ordinary loop, or outside every loop, keeps the hoisted one.
// RUN: kiln-opt %s --pass-pipeline='builtin.module(func.func(kiln-sink-temporaries))' | FileCheck %s

// CHECK-LABEL: func.func @sink
// CHECK:         %[[OUTER:.*]] = tensor.empty() : tensor<16xf32>
// CHECK:         scf.for
// CHECK:           %[[INNER:.*]] = tensor.empty() : tensor<16xf32>
// CHECK:           linalg.fill ins(%{{.*}} : f32) outs(%[[INNER]] : tensor<16xf32>)
// CHECK:         } {kiln.parallel}
// CHECK:         scf.for
// CHECK:           linalg.fill ins(%{{.*}} : f32) outs(%[[OUTER]] : tensor<16xf32>)
// CHECK-NOT:     {kiln.parallel}
func.func @sink(%out: tensor<64xf32>) -> tensor<64xf32> {
  %c0 = arith.constant 0 : index
  %c16 = arith.constant 16 : index
  %c64 = arith.constant 64 : index
  %cst = arith.constant 1.0 : f32
  %tmp = tensor.empty() : tensor<16xf32>
  %r = scf.for %i = %c0 to %c64 step %c16 iter_args(%acc = %out) -> (tensor<64xf32>) {
    %f = linalg.fill ins(%cst : f32) outs(%tmp : tensor<16xf32>) -> tensor<16xf32>
    %w = tensor.insert_slice %f into %acc[%i] [16] [1] : tensor<16xf32> into tensor<64xf32>
    scf.yield %w : tensor<64xf32>
  } {kiln.parallel}
  %s = scf.for %i = %c0 to %c64 step %c16 iter_args(%acc = %r) -> (tensor<64xf32>) {
    %f = linalg.fill ins(%cst : f32) outs(%tmp : tensor<16xf32>) -> tensor<16xf32>
    %w = tensor.insert_slice %f into %acc[%i] [16] [1] : tensor<16xf32> into tensor<64xf32>
    scf.yield %w : tensor<64xf32>
  }
  return %s : tensor<64xf32>
}
