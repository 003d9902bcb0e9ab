// RUN: kiln-opt %s --split-input-file --kiln-parallelize-loops | FileCheck %s

// A marked tile loop becomes an outlined chunk body and a call of the
// runtime's pool. The packed panel (allocated before the loop, used only in
// it, overwritten first by each iteration) moves to each thread's scratch;
// the output and the input travel as descriptors in the args struct.
// CHECK-LABEL: func.func private @main_parallel_0(
// CHECK-SAME:    %[[BEGIN:.*]]: index, %[[END:.*]]: index, %[[ARGS:.*]]: !llvm.ptr, %[[SCRATCH:.*]]: !llvm.ptr)
// CHECK:         llvm.load
// CHECK:         builtin.unrealized_conversion_cast %{{.*}} : !llvm.struct<{{.*}}> to memref<64x48xf32>
// CHECK:         %[[BYTES:.*]] = builtin.unrealized_conversion_cast %{{.*}} : !llvm.struct<{{.*}}> to memref<1024xi8>
// CHECK:         %[[PANEL:.*]] = memref.view %[[BYTES]]
// CHECK-SAME:      to memref<16x16xf32>
// CHECK:         %[[FIRST:.*]] = arith.muli %[[BEGIN]], %c16
// CHECK:         %[[LO:.*]] = arith.addi %c0, %[[FIRST]]
// CHECK:         %[[LAST:.*]] = arith.muli %[[END]], %c16
// CHECK:         %[[HI:.*]] = arith.addi %c0, %[[LAST]]
// CHECK:         scf.for %{{.*}} = %[[LO]] to %[[HI]] step %c16
// CHECK:           linalg.copy {{.*}} outs(%[[PANEL]] : memref<16x16xf32>)
// CHECK-LABEL: func.func @main(
// CHECK-NOT:     memref.alloc
// CHECK:         llvm.store
// CHECK:         %[[TRIPS:.*]] = arith.divsi
// CHECK:         %[[FN:.*]] = constant @main_parallel_0
// CHECK:         call @kiln_rt1_parallel_for(%[[FN]], %[[TRIPS]], %{{.*}}, %c1024)
// CHECK-NOT:     scf.for
// CHECK:       func.func private @kiln_rt1_parallel_for((index, index, !llvm.ptr, !llvm.ptr) -> (), index, !llvm.ptr, index)
func.func @main(%b: memref<16x48xf32>, %out: memref<64x48xf32>) {
  %c0 = arith.constant 0 : index
  %c16 = arith.constant 16 : index
  %c48 = arith.constant 48 : index
  %panel = memref.alloc() {alignment = 64 : i64} : memref<16x16xf32>
  scf.for %n = %c0 to %c48 step %c16 {
    %src = memref.subview %b[0, %n] [16, 16] [1, 1] : memref<16x48xf32> to memref<16x16xf32, strided<[48, 1], offset: ?>>
    linalg.copy ins(%src : memref<16x16xf32, strided<[48, 1], offset: ?>>) outs(%panel : memref<16x16xf32>)
    %dst = memref.subview %out[0, %n] [16, 16] [1, 1] : memref<64x48xf32> to memref<16x16xf32, strided<[48, 1], offset: ?>>
    linalg.copy ins(%panel : memref<16x16xf32>) outs(%dst : memref<16x16xf32, strided<[48, 1], offset: ?>>)
  } {kiln.parallel}
  return
}

// -----

// Unmarked loops, loops of one iteration, and loops whose buffer is read
// before it is written in an iteration (it carries values between
// iterations) stay as they are; the markers go.
// CHECK-LABEL: func.func @stays
// CHECK-NOT:     kiln_rt1_parallel_for
// CHECK:         scf.for
// CHECK:         scf.for
// CHECK:         scf.for
// CHECK-NOT:     kiln.parallel
func.func @stays(%out: memref<64xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c16 = arith.constant 16 : index
  %c64 = arith.constant 64 : index
  %cst = arith.constant 1.0 : f32
  scf.for %i = %c0 to %c64 step %c16 {
    %dst = memref.subview %out[%i] [16] [1] : memref<64xf32> to memref<16xf32, strided<[1], offset: ?>>
    linalg.fill ins(%cst : f32) outs(%dst : memref<16xf32, strided<[1], offset: ?>>)
  }
  scf.for %i = %c0 to %c16 step %c16 {
    %dst = memref.subview %out[%i] [16] [1] : memref<64xf32> to memref<16xf32, strided<[1], offset: ?>>
    linalg.fill ins(%cst : f32) outs(%dst : memref<16xf32, strided<[1], offset: ?>>)
  } {kiln.parallel}
  %carried = memref.alloc() : memref<16xf32>
  scf.for %i = %c0 to %c64 step %c16 {
    %dst = memref.subview %out[%i] [16] [1] : memref<64xf32> to memref<16xf32, strided<[1], offset: ?>>
    linalg.copy ins(%carried : memref<16xf32>) outs(%dst : memref<16xf32, strided<[1], offset: ?>>)
    linalg.fill ins(%cst : f32) outs(%carried : memref<16xf32>)
  } {kiln.parallel}
  return
}

// -----

// Values computed from constants alone (a broadcast hoisted out of the row
// loop) are recomputed in the body, not passed: the loop still goes to the pool.
// CHECK-LABEL: func.func private @splat_parallel_0(
// CHECK:         %[[C:.*]] = arith.constant dense<1.000000e+00> : vector<16xf32>
// CHECK:         vector.broadcast %[[C]] : vector<16xf32> to vector<1x16xf32>
// CHECK:         scf.for
// CHECK-LABEL: func.func @splat(
// CHECK:         call @kiln_rt1_parallel_for
func.func @splat(%out: memref<64x16xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c64 = arith.constant 64 : index
  %ones = arith.constant dense<1.0> : vector<16xf32>
  %row = vector.broadcast %ones : vector<16xf32> to vector<1x16xf32>
  scf.for %i = %c0 to %c64 step %c1 {
    vector.transfer_write %row, %out[%i, %c0] {in_bounds = [true, true]} : vector<1x16xf32>, memref<64x16xf32>
  } {kiln.parallel}
  return
}

// -----

// The outlined body's name never takes a user's function's.
// CHECK-LABEL: func.func @taken_parallel_0(
// CHECK-LABEL: func.func private @taken_parallel_0_0(
// CHECK-LABEL: func.func @taken(
// CHECK:         constant @taken_parallel_0_0
func.func @taken_parallel_0() {
  return
}
func.func @taken(%out: memref<64xf32>) {
  %c0 = arith.constant 0 : index
  %c16 = arith.constant 16 : index
  %c64 = arith.constant 64 : index
  %cst = arith.constant 1.0 : f32
  scf.for %i = %c0 to %c64 step %c16 {
    %dst = memref.subview %out[%i] [16] [1] : memref<64xf32> to memref<16xf32, strided<[1], offset: ?>>
    linalg.fill ins(%cst : f32) outs(%dst : memref<16xf32, strided<[1], offset: ?>>)
  } {kiln.parallel}
  return
}

// -----

// A buffer used only inside an inner loop, whose every iteration overwrites
// it first (a temporary of one block of keys in flash attention), is
// private to the outer loop's iterations too: it moves to scratch. One
// read before the write in the inner loop would carry values between its
// iterations, and the loop would stay serial (the next function).
// CHECK-LABEL: func.func private @inner_parallel_0(
// CHECK:         memref.view
// CHECK-SAME:      to memref<16xf32>
// CHECK-LABEL: func.func @inner(
// CHECK-NOT:     memref.alloc
// CHECK:         call @kiln_rt1_parallel_for(%{{.*}}, %{{.*}}, %{{.*}}, %c64{{.*}})
func.func @inner(%out: memref<64x64xf32>) {
  %c0 = arith.constant 0 : index
  %c16 = arith.constant 16 : index
  %c64 = arith.constant 64 : index
  %cst = arith.constant 1.0 : f32
  %block = memref.alloc() {alignment = 64 : i64} : memref<16xf32>
  scf.for %i = %c0 to %c64 step %c16 {
    scf.for %j = %c0 to %c64 step %c16 {
      linalg.fill ins(%cst : f32) outs(%block : memref<16xf32>)
      %dst = memref.subview %out[%i, %j] [1, 16] [1, 1] : memref<64x64xf32> to memref<16xf32, strided<[1], offset: ?>>
      linalg.copy ins(%block : memref<16xf32>) outs(%dst : memref<16xf32, strided<[1], offset: ?>>)
    }
  } {kiln.parallel}
  return
}

// CHECK-LABEL: func.func @inner_carried(
// CHECK:         memref.alloc
// CHECK-NOT:     call @kiln_rt1_parallel_for
// CHECK:         return
func.func @inner_carried(%out: memref<64x64xf32>) {
  %c0 = arith.constant 0 : index
  %c16 = arith.constant 16 : index
  %c64 = arith.constant 64 : index
  %cst = arith.constant 1.0 : f32
  %block = memref.alloc() {alignment = 64 : i64} : memref<16xf32>
  scf.for %i = %c0 to %c64 step %c16 {
    scf.for %j = %c0 to %c64 step %c16 {
      %dst = memref.subview %out[%i, %j] [1, 16] [1, 1] : memref<64x64xf32> to memref<16xf32, strided<[1], offset: ?>>
      linalg.copy ins(%block : memref<16xf32>) outs(%dst : memref<16xf32, strided<[1], offset: ?>>)
      linalg.fill ins(%cst : f32) outs(%block : memref<16xf32>)
    }
  } {kiln.parallel}
  return
}
