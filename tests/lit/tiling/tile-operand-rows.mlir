// kiln-lower-vectors: a register tile's multiply of two broadcasting reads
// (the A column across the tile's columns, the B row across its rows) is
// built row by row: one splat per A element, one vector load per B row,
// read once and reused. The generic lowering built each broadcast element
// by element through n-D transposes (about 1000 ops per tile and k step).
// RUN: kiln-opt %s --kiln-lower-vectors --split-input-file | FileCheck %s

// CHECK-LABEL: func.func @tile_4x16
// CHECK-COUNT-4: memref.load %{{.*}} : memref<4x1xf32, strided<[64, 1], offset: ?>>
// CHECK:         %[[B:.*]] = vector.transfer_read %{{.*}} {in_bounds = [true]} : memref<1x16xf32, strided<[64, 1], offset: ?>>, vector<16xf32>
// CHECK-NOT:     vector.transfer_read
// CHECK-NOT:     vector.transpose
// CHECK-NOT:     vector.extract {{.*}} : f32
// CHECK:         vector.fma
func.func @tile_4x16(%a: memref<4x1xf32, strided<[64, 1], offset: ?>>,
                     %b: memref<1x16xf32, strided<[64, 1], offset: ?>>,
                     %acc: vector<4x16xf32>) -> vector<4x16xf32> {
  %c0 = arith.constant 0 : index
  %pad = arith.constant 0.0 : f32
  %x = vector.transfer_read %a[%c0, %c0], %pad {in_bounds = [true, true, true], permutation_map = affine_map<(d0, d1) -> (d0, 0, d1)>} : memref<4x1xf32, strided<[64, 1], offset: ?>>, vector<4x16x1xf32>
  %y = vector.transfer_read %b[%c0, %c0], %pad {in_bounds = [true, true, true], permutation_map = affine_map<(d0, d1) -> (0, d1, d0)>} : memref<1x16xf32, strided<[64, 1], offset: ?>>, vector<4x16x1xf32>
  %p = arith.mulf %x, %y : vector<4x16x1xf32>
  %q = vector.shape_cast %p : vector<4x16x1xf32> to vector<4x16xf32>
  %r = arith.addf %acc, %q : vector<4x16xf32>
  return %r : vector<4x16xf32>
}

// -----

// A transposed B (its columns strided in memory) is read lane by lane.
// CHECK-LABEL: func.func @strided_b
// CHECK-COUNT-16: memref.load %{{.*}} : memref<16x1xf32, strided<[64, 1], offset: ?>>
// CHECK:         vector.from_elements
// CHECK-NOT:     vector.transpose
// CHECK:         vector.fma
func.func @strided_b(%a: memref<4x1xf32, strided<[64, 1], offset: ?>>,
                     %b: memref<16x1xf32, strided<[64, 1], offset: ?>>,
                     %acc: vector<4x16xf32>) -> vector<4x16xf32> {
  %c0 = arith.constant 0 : index
  %pad = arith.constant 0.0 : f32
  %x = vector.transfer_read %a[%c0, %c0], %pad {in_bounds = [true, true, true], permutation_map = affine_map<(d0, d1) -> (d0, 0, d1)>} : memref<4x1xf32, strided<[64, 1], offset: ?>>, vector<4x16x1xf32>
  %y = vector.transfer_read %b[%c0, %c0], %pad {in_bounds = [true, true, true], permutation_map = affine_map<(d0, d1) -> (0, d0, d1)>} : memref<16x1xf32, strided<[64, 1], offset: ?>>, vector<4x16x1xf32>
  %p = arith.mulf %x, %y : vector<4x16x1xf32>
  %q = vector.shape_cast %p : vector<4x16x1xf32> to vector<4x16xf32>
  %r = arith.addf %acc, %q : vector<4x16xf32>
  return %r : vector<4x16xf32>
}
