// The neuron bufferizes with its result as a caller-owned out-parameter and
// every op writing straight into it: no allocation, no copy.
// RUN: kiln-opt %s --kiln-to-bufferized | FileCheck %s --implicit-check-not=memref.alloc --implicit-check-not=memref.copy

// CHECK-LABEL: func @main(
// CHECK-SAME: %[[X:[a-z0-9]+]]: memref<8x1xf32> {nn.name = "x"}
// CHECK-SAME: %[[Y:[a-z0-9]+]]: memref<8x1xf32> {nn.name = "y"})
// CHECK-NOT: ->
// CHECK: linalg.fill ins(%{{.*}} : f32) outs(%[[Y]] : memref<8x1xf32>)
// CHECK: linalg.generic {{.*}} outs(%[[Y]] : memref<8x1xf32>)
// CHECK: linalg.generic {{.*}} outs(%[[Y]] : memref<8x1xf32>)
// CHECK: linalg.generic {{.*}} outs(%[[Y]] : memref<8x1xf32>)
// CHECK: return
func.func @main(%x: tensor<8x1xf32> {nn.name = "x"},
                %a: tensor<1x1xf32> {nn.name = "a", nn.param = {init = "ones"}},
                %b: tensor<1xf32> {nn.name = "b", nn.param = {init = "zeros"}})
    -> (tensor<8x1xf32> {nn.name = "y"}) {
  %ax = nn.matmul %x, %a : (tensor<8x1xf32>, tensor<1x1xf32>) -> tensor<8x1xf32>
  %z = nn.add %ax, %b : (tensor<8x1xf32>, tensor<1xf32>) -> tensor<8x1xf32>
  %y = nn.sigmoid %z : tensor<8x1xf32>
  return %y : tensor<8x1xf32>
}
