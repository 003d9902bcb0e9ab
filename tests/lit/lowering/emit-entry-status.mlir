// With a run-time check (gather), the entry passes its own status slot for the
// model's nn.status argument (and the caller's workspace for nn.workspace):
// [site, offending index, bound]. A non-zero site is KILN_ERR_INDEX_RANGE (3),
// stored with the index and bound into ctx when there is one, and
// kiln_main_error_site names the check's op and source position.
// RUN: kiln-opt %s --kiln-to-llvm | FileCheck %s

// CHECK: llvm.mlir.global internal constant @kiln_main_site_1("nn.gather at {{.*}}emit-entry-status.mlir:[[#@LINE+14]]:8\00")
// CHECK: llvm.func internal @main({{.*}}, %{{.*}}: !llvm.ptr {nn.status}, %{{.*}}: !llvm.ptr {nn.workspace = {{[0-9]+}} : i64})
// CHECK: llvm.func @kiln_main(%[[BUFS:.*]]: !llvm.ptr, %[[CTX:.*]]: !llvm.ptr, %{{.*}}: !llvm.ptr) -> i32
// CHECK: llvm.getelementptr %[[BUFS]][2]
// CHECK-NOT: llvm.getelementptr %[[BUFS]][3]
// CHECK: %[[SLOT:.*]] = llvm.alloca %{{.*}} x i64
// CHECK: llvm.call @main({{.*}}, %[[SLOT]], %{{.*}})
// CHECK: %[[SITE:.*]] = llvm.load %{{.*}} : !llvm.ptr -> i64
// CHECK: llvm.icmp "ne" %[[SITE]]
// CHECK: llvm.mlir.constant(3 : i32)
// CHECK: llvm.func @kiln_main_error_site(%{{.*}}: i32) -> !llvm.ptr
// CHECK: llvm.switch
// CHECK: llvm.mlir.addressof @kiln_main_site_1
func.func @main(%t: tensor<10x4xf32>, %i: tensor<2xi32>) -> tensor<2x4xf32> {
  %0 = nn.gather %t[%i] : (tensor<10x4xf32>, tensor<2xi32>) -> tensor<2x4xf32>
  return %0 : tensor<2x4xf32>
}
