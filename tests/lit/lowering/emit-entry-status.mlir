// With a run-time check (gather), the entry passes its own status slot for the
// model's nn.status argument (and the caller's workspace for nn.workspace)
// and returns a non-zero code from the slot.
// RUN: kiln-opt %s --kiln-to-llvm | FileCheck %s

// CHECK: llvm.func internal @main({{.*}}, %{{.*}}: !llvm.ptr {nn.status}, %{{.*}}: !llvm.ptr {nn.workspace = 64 : i64})
// CHECK: llvm.func @kiln_main(%[[BUFS:.*]]: !llvm.ptr, %{{.*}}: !llvm.ptr, %{{.*}}: !llvm.ptr) -> i32
// CHECK: llvm.getelementptr %[[BUFS]][2]
// CHECK-NOT: llvm.getelementptr %[[BUFS]][3]
// CHECK: %[[SLOT:.*]] = llvm.alloca %{{.*}} x i32
// CHECK: llvm.call @main({{.*}}, %[[SLOT]], %{{.*}})
// CHECK: %[[CODE:.*]] = llvm.load %[[SLOT]] : !llvm.ptr -> i32
// CHECK: llvm.icmp "ne" %[[CODE]]
func.func @main(%t: tensor<10x4xf32>, %i: tensor<2xi32>) -> tensor<2x4xf32> {
  %0 = nn.gather %t[%i] : (tensor<10x4xf32>, tensor<2xi32>) -> tensor<2x4xf32>
  return %0 : tensor<2x4xf32>
}
