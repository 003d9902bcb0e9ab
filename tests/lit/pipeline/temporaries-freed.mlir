// Temporaries that cannot live in an output are allocated and freed.
// RUN: kiln-opt %s --kiln-to-bufferized | FileCheck %s

// CHECK-LABEL: func @main
// CHECK: %[[T:.*]] = memref.alloc() {{.*}} : memref<4xf32>
// CHECK: memref.dealloc %[[T]]
func.func @main(%x: tensor<4x3xf32>) -> tensor<4x3xf32> {
  %0 = nn.softmax %x axis -1 : tensor<4x3xf32>
  return %0 : tensor<4x3xf32>
}
