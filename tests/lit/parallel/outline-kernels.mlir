// RUN: kiln-opt %s --split-input-file --kiln-outline-kernels | FileCheck %s
// RUN: kiln-opt %s --split-input-file --kiln-outline-kernels=max-function-ops=1 | FileCheck %s --check-prefix=EACH

// Consecutive kernels share one noinline function. It is passed the
// workspace, not the views: they are recomputed inside, so LLVM still sees
// both slices as offsets from one pointer.
// CHECK-LABEL: func.func private @main_kernel_0(
// CHECK-SAME:    %[[WS:.*]]: memref<512xi8>, %[[OUT:.*]]: memref<64xf32>)
// CHECK-SAME:    attributes {kiln.outlined, passthrough = ["noinline"]}
// CHECK:         %[[A:.*]] = memref.view %[[WS]][%{{.*}}][] : memref<512xi8> to memref<64xf32>
// CHECK:         %[[B:.*]] = memref.view %[[WS]][%{{.*}}][] : memref<512xi8> to memref<64xf32>
// CHECK:         linalg.fill {{.*}} outs(%[[A]] : memref<64xf32>)
// CHECK:         linalg.copy ins(%[[A]] : memref<64xf32>) outs(%[[B]] : memref<64xf32>)
// CHECK:         scf.for
// CHECK:           memref.load %[[B]]
// CHECK:           memref.store %{{.*}}, %[[OUT]]
// The views only the kernel used are gone from the caller.
// CHECK-LABEL: func.func @main(
// CHECK-SAME:    %[[OUT2:.*]]: memref<64xf32>, %[[WS2:.*]]: memref<512xi8>)
// CHECK-NEXT:    call @main_kernel_0(%[[WS2]], %[[OUT2]])
// CHECK-NEXT:    return

// Or one function each.
// EACH-LABEL: func.func private @main_kernel_0(
// EACH:         linalg.fill
// EACH-LABEL: func.func private @main_kernel_1(
// EACH:         linalg.copy
// EACH-LABEL: func.func private @main_kernel_2(
// EACH:         scf.for
// EACH-LABEL: func.func @main(
// EACH-NEXT:    call @main_kernel_0
// EACH-NEXT:    call @main_kernel_1
// EACH-NEXT:    call @main_kernel_2
func.func @main(%out: memref<64xf32>, %ws: memref<512xi8>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c64 = arith.constant 64 : index
  %c256 = arith.constant 256 : index
  %one = arith.constant 1.0 : f32
  %a = memref.view %ws[%c0][] : memref<512xi8> to memref<64xf32>
  %b = memref.view %ws[%c256][] : memref<512xi8> to memref<64xf32>
  linalg.fill ins(%one : f32) outs(%a : memref<64xf32>)
  linalg.copy ins(%a : memref<64xf32>) outs(%b : memref<64xf32>)
  scf.for %i = %c0 to %c64 step %c1 {
    %v = memref.load %b[%i] : memref<64xf32>
    memref.store %v, %out[%i] : memref<64xf32>
  }
  return
}

// -----

// An op with effects between two kernels keeps its place: the kernels go
// to two functions, called before and after it.
// CHECK-LABEL: func.func private @ordered_kernel_0(
// CHECK:         linalg.fill
// CHECK-LABEL: func.func private @ordered_kernel_1(
// CHECK:         linalg.copy
// CHECK-LABEL: func.func @ordered(
// CHECK-NEXT:    call @ordered_kernel_0
// CHECK-NEXT:    call @kiln_rt1_profile_now
// CHECK-NEXT:    call @ordered_kernel_1
func.func private @kiln_rt1_profile_now() -> i64
func.func @ordered(%a: memref<64xf32>, %b: memref<64xf32>) {
  %one = arith.constant 1.0 : f32
  linalg.fill ins(%one : f32) outs(%a : memref<64xf32>)
  %t = func.call @kiln_rt1_profile_now() : () -> i64
  linalg.copy ins(%a : memref<64xf32>) outs(%b : memref<64xf32>)
  return
}

// -----

// A parallel loop's call moves into a kernel with the stores that fill its
// args struct; the caller keeps the struct's stack slot and passes it.
// CHECK-LABEL: func.func private @pool_kernel_0(
// CHECK-SAME:    %[[X:.*]]: memref<64xf32>, %[[SLOT:.*]]: !llvm.ptr)
// CHECK:         %[[FIELD:.*]] = llvm.getelementptr %[[SLOT]][0, 0]
// CHECK:         llvm.store %{{.*}}, %[[FIELD]]
// CHECK:         call @kiln_rt1_parallel_for(%{{.*}}, %{{.*}}, %[[SLOT]], %{{.*}})
// CHECK-LABEL: func.func @pool(
// CHECK:         %[[SLOT2:.*]] = llvm.alloca
// CHECK-NEXT:    call @pool_kernel_0(%{{.*}}, %[[SLOT2]])
// CHECK-NEXT:    return
func.func private @pool_body(%begin: index, %end: index, %args: !llvm.ptr, %scratch: !llvm.ptr) attributes {kiln.outlined} {
  return
}
func.func private @kiln_rt1_parallel_for((index, index, !llvm.ptr, !llvm.ptr) -> (), index, !llvm.ptr, index)
func.func @pool(%x: memref<64xf32>) {
  %one = llvm.mlir.constant(1 : i64) : i64
  %slot = llvm.alloca %one x !llvm.struct<(struct<(ptr, ptr, i64, array<1 x i64>, array<1 x i64>)>)> {alignment = 8 : i64} : (i64) -> !llvm.ptr
  %desc = builtin.unrealized_conversion_cast %x : memref<64xf32> to !llvm.struct<(ptr, ptr, i64, array<1 x i64>, array<1 x i64>)>
  %field = llvm.getelementptr %slot[0, 0] : (!llvm.ptr) -> !llvm.ptr, !llvm.struct<(struct<(ptr, ptr, i64, array<1 x i64>, array<1 x i64>)>)>
  llvm.store %desc, %field : !llvm.struct<(ptr, ptr, i64, array<1 x i64>, array<1 x i64>)>, !llvm.ptr
  %fn = func.constant @pool_body : (index, index, !llvm.ptr, !llvm.ptr) -> ()
  %c4 = arith.constant 4 : index
  %c0 = arith.constant 0 : index
  func.call @kiln_rt1_parallel_for(%fn, %c4, %slot, %c0) : ((index, index, !llvm.ptr, !llvm.ptr) -> (), index, !llvm.ptr, index) -> ()
  return
}

// -----

// A kernel over a buffer no call can pass as a bare pointer (dynamic
// shape) stays in its function.
// CHECK-LABEL: func.func @dynamic(
// CHECK-NOT:     call
// CHECK:         linalg.fill
func.func @dynamic(%a: memref<?xf32>) {
  %one = arith.constant 1.0 : f32
  linalg.fill ins(%one : f32) outs(%a : memref<?xf32>)
  return
}
