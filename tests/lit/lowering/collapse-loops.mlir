// kiln-collapse-loops: loops that walk every operand contiguously become one
// loop; a broadcast operand keeps its own dims; a transpose or a strided
// view is left alone.
// RUN: kiln-opt %s --split-input-file --pass-pipeline='builtin.module(func.func(kiln-collapse-loops))' | FileCheck %s

// CHECK-LABEL: func.func @elementwise
// CHECK-DAG:     memref.collapse_shape %{{.*}} {{\[\[}}0, 1, 2]] : memref<4x6x8xf32> into memref<192xf32>
// CHECK:         linalg.generic {{.*}}iterator_types = ["parallel"]
func.func @elementwise(%x: memref<4x6x8xf32>, %y: memref<4x6x8xf32>) {
  linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d1, d2)>, affine_map<(d0, d1, d2) -> (d0, d1, d2)>],
                  iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%x : memref<4x6x8xf32>) outs(%y : memref<4x6x8xf32>) {
  ^bb0(%in: f32, %out: f32):
    %t = math.tanh %in : f32
    linalg.yield %t : f32
  }
  return
}

// -----

// The bias is read along the last dim only: the first two loops merge.
// CHECK-LABEL: func.func @bias
// CHECK:         memref.collapse_shape %{{.*}} {{\[\[}}0, 1], [2]] : memref<4x6x8xf32> into memref<24x8xf32>
// CHECK:         linalg.generic {{.*}}iterator_types = ["parallel", "parallel"]
func.func @bias(%x: memref<4x6x8xf32>, %b: memref<8xf32>, %y: memref<4x6x8xf32>) {
  linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d1, d2)>, affine_map<(d0, d1, d2) -> (d2)>,
                                   affine_map<(d0, d1, d2) -> (d0, d1, d2)>],
                  iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%x, %b : memref<4x6x8xf32>, memref<8xf32>) outs(%y : memref<4x6x8xf32>) {
  ^bb0(%in: f32, %c: f32, %out: f32):
    %s = arith.addf %in, %c : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// CHECK-LABEL: func.func @transpose
// CHECK-NOT:     memref.collapse_shape
func.func @transpose(%x: memref<4x6x8xf32>, %y: memref<8x4x6xf32>) {
  linalg.transpose ins(%x : memref<4x6x8xf32>) outs(%y : memref<8x4x6xf32>) permutation = [2, 0, 1]
  return
}

// -----

// CHECK-LABEL: func.func @strided_view
// CHECK-NOT:     memref.collapse_shape
func.func @strided_view(%x: memref<4x6xf32, strided<[8, 1], offset: ?>>, %y: memref<4x6xf32>) {
  linalg.copy ins(%x : memref<4x6xf32, strided<[8, 1], offset: ?>>) outs(%y : memref<4x6xf32>)
  return
}

// -----

// linalg.reduce is left alone: generalized and collapsed, it crashed MLIR 19
// (a softmax over [1, 512, 512], whose row kernel kept such a reduce).
// CHECK-LABEL: func.func @reduce_left_alone
// CHECK-NOT:     memref.collapse_shape
// CHECK:         linalg.reduce
func.func @reduce_left_alone(%a: memref<4x3x64xf32>, %b: memref<4x3xf32>) {
  linalg.reduce ins(%a : memref<4x3x64xf32>) outs(%b : memref<4x3xf32>) dimensions = [2]
    (%in: f32, %init: f32) {
      %0 = arith.addf %in, %init : f32
      linalg.yield %0 : f32
    }
  return
}
