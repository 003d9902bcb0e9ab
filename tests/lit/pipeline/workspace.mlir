// A model's temporaries (softmax: max, exponentials, sum) live in the
// workspace after the bufferized phase: no heap allocation remains.
// RUN: kiln-opt %s --kiln-to-bufferized | FileCheck %s --implicit-check-not=memref.alloc --implicit-check-not=memref.dealloc

// CHECK-LABEL: func.func @main(
// CHECK-SAME: %[[WS:[a-z0-9]+]]: memref<192xi8> {nn.workspace = 192 : i64})
// CHECK: memref.view %[[WS]]
func.func @main(%x: tensor<4x3xf32>) -> tensor<4x3xf32> {
  %0 = nn.softmax %x axis -1 : tensor<4x3xf32>
  return %0 : tensor<4x3xf32>
}
