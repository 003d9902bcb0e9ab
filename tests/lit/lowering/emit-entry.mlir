// The ABI entry: checks each buffer (null -> 1, misaligned -> 2), clears
// ctx->status, calls the internal model, returns the status.
// RUN: kiln-opt %s --kiln-to-llvm | FileCheck %s

// CHECK: llvm.func internal @main(%{{.*}}: !llvm.ptr {nn.name = "x"}, %{{.*}}: !llvm.ptr {{.*}}, %{{.*}}: !llvm.ptr {nn.name = "y"})
// CHECK: llvm.func @kiln_main(%[[BUFS:.*]]: !llvm.ptr, %[[CTX:.*]]: !llvm.ptr, %{{.*}}: !llvm.ptr) -> i32
// CHECK-DAG: llvm.mlir.constant(1 : i32)
// CHECK-DAG: llvm.mlir.constant(2 : i32)
// CHECK-DAG: llvm.mlir.constant(63 : i64)
// CHECK: llvm.getelementptr %[[BUFS]][0]
// CHECK: llvm.getelementptr %[[BUFS]][1]
// CHECK: llvm.getelementptr %[[BUFS]][2]
// CHECK-NOT: llvm.getelementptr %[[BUFS]][3]
// CHECK: llvm.store %{{.*}}, %[[CTX]] : i32, !llvm.ptr
// CHECK: llvm.call @main
// CHECK: llvm.load %[[CTX]] : !llvm.ptr -> i32
func.func @main(%x: tensor<3xf32> {nn.name = "x"}, %w: tensor<3xf32> {nn.name = "w", nn.param = {init = "ones"}}) -> (tensor<3xf32> {nn.name = "y"}) {
  %0 = nn.mul %x, %w : (tensor<3xf32>, tensor<3xf32>) -> tensor<3xf32>
  return %0 : tensor<3xf32>
}
