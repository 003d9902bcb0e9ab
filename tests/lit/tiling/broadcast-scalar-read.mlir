// kiln-lower-vectors: a transfer_read of one element broadcast along the
// row (a row's label or max in a row kernel) is one scalar load and a
// broadcast, not a loop of 96 insertelements.
// RUN: kiln-opt %s --kiln-lower-vectors | FileCheck %s

// CHECK-LABEL: func.func @label
// CHECK:         %[[X:.*]] = memref.load %{{.*}}[%{{.*}}, %{{.*}}] : memref<1x1xi64, strided<[1, 1], offset: ?>>
// CHECK:         vector.splat %[[X]] : vector<1x96xi64>
// CHECK-NOT:     vector.transfer_read
func.func @label(%m: memref<1x1xi64, strided<[1, 1], offset: ?>>) -> vector<1x96xi64> {
  %c0 = arith.constant 0 : index
  %pad = arith.constant 0 : i64
  %v = vector.transfer_read %m[%c0, %c0], %pad {in_bounds = [true, true], permutation_map = affine_map<(d0, d1) -> (d0, 0)>} : memref<1x1xi64, strided<[1, 1], offset: ?>>, vector<1x96xi64>
  return %v : vector<1x96xi64>
}

// A read of a whole row stays a vector read.
// CHECK-LABEL: func.func @row
// CHECK:         vector.transfer_read
func.func @row(%m: memref<1x96xf32>) -> vector<1x96xf32> {
  %c0 = arith.constant 0 : index
  %pad = arith.constant 0.0 : f32
  %v = vector.transfer_read %m[%c0, %c0], %pad {in_bounds = [true, true]} : memref<1x96xf32>, vector<1x96xf32>
  return %v : vector<1x96xf32>
}
