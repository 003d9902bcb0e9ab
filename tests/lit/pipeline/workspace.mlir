// A model's temporaries (softmax over rows longer than a vector piece: a
// row of exponentials, the partial max and sum vectors) live in the
// workspace after the bufferized phase: no heap allocation remains.
// RUN: kiln-opt %s --kiln-to-bufferized | FileCheck %s --implicit-check-not=memref.alloc --implicit-check-not=memref.dealloc

// CHECK-LABEL: func.func @main(
// CHECK-SAME: %[[WS:[a-z0-9]+]]: memref<{{[0-9]+}}xi8> {nn.workspace = {{[0-9]+}} : i64})
// CHECK: memref.view %[[WS]]
func.func @main(%x: tensor<4x300xf32>) -> tensor<4x300xf32> {
  %0 = nn.softmax %x axis -1 : tensor<4x300xf32>
  return %0 : tensor<4x300xf32>
}
