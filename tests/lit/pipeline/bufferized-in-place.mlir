// The neuron bufferizes with its result as a caller-owned out-parameter: the
// bias add and sigmoid (fused by linalg-fuse-elementwise-ops) write straight
// into it; only the matmul's product (a vectorized register tile) is a
// temporary (until matmul epilogue fusion), a view of the workspace. No
// copy, no heap allocation.
// RUN: kiln-opt %s --kiln-to-bufferized | FileCheck %s --implicit-check-not=memref.copy --implicit-check-not=linalg.copy

// CHECK-LABEL: func @main(
// CHECK-SAME: %[[X:[a-z0-9]+]]: memref<8x1xf32> {nn.name = "x"}
// CHECK-SAME: %[[Y:[a-z0-9]+]]: memref<8x1xf32> {nn.name = "y"}
// CHECK-SAME: %[[WS:[a-z0-9]+]]: memref<64xi8> {nn.workspace = 64 : i64})
// CHECK-NOT: ->
// CHECK: %[[T:.*]] = memref.view %[[WS]]{{.*}} to memref<8x1xf32>
// CHECK-NOT: memref.alloc
// CHECK: linalg.fill ins(%{{.*}} : f32) outs(%[[T]] : memref<8x1xf32>)
// CHECK: vector.transfer_write %{{.*}}, %[[T]]
// CHECK: linalg.generic {{.*}} ins(%[[T]], %{{.*}} : memref<8x1xf32>, memref<1xf32>) outs(%[[Y]] : memref<8x1xf32>)
// CHECK: arith.addf
// CHECK: math.exp
// CHECK-NOT: memref.dealloc
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
