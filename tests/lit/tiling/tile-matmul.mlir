// A 19x13 @ 13x37 matmul becomes 8x32 register tiles over a k loop, with
// the partial tiles peeled: every tile is vectorized at a static shape
// (8x32, 8x5, 3x32, 3x5), no masks.
// RUN: kiln-opt %s --kiln-lower-nn-to-linalg --kiln-tile-matmul --canonicalize | FileCheck %s

// CHECK-LABEL: func @main
// CHECK: scf.for %[[I:.*]] = %c0 to %c16 step %c8
// CHECK:   scf.for %{{.*}} = %c0 to %c13 step %c1
// CHECK:     vector.transfer_read {{.*}} : tensor<8x1xf32>, vector<8x32x1xf32>
// CHECK:     vector.transfer_read {{.*}} : tensor<1x32xf32>, vector<8x32x1xf32>
// CHECK:     arith.mulf {{.*}} : vector<8x32x1xf32>
// CHECK:     arith.addf {{.*}} : vector<8x32xf32>
// CHECK:   scf.for
// CHECK:     arith.addf {{.*}} : vector<8x5xf32>
// CHECK: scf.for
// CHECK:   arith.addf {{.*}} : vector<3x32xf32>
// CHECK: scf.for
// CHECK:   arith.addf {{.*}} : vector<3x5xf32>
// CHECK-NOT: linalg.generic
func.func @main(%a: tensor<19x13xf32>, %b: tensor<13x37xf32>) -> tensor<19x37xf32> {
  %0 = nn.matmul %a, %b : (tensor<19x13xf32>, tensor<13x37xf32>) -> tensor<19x37xf32>
  return %0 : tensor<19x37xf32>
}

// The cost model: with AVX2's 16 registers the tile is 4 rows x 16 columns
// (8 accumulators); a matrix-vector product gets one row of 16 AVX-512
// vectors (256 columns).
// RUN: kiln-opt %s --kiln-lower-nn-to-linalg "--kiln-tile-matmul=vector-bits=256" --canonicalize | FileCheck %s --check-prefix=AVX2
// AVX2: arith.addf {{.*}} : vector<4x16xf32>
// RUN: kiln-opt %s -split-input-file --kiln-lower-nn-to-linalg --kiln-tile-matmul --canonicalize | FileCheck %s --check-prefix=GEMV
// GEMV: arith.addf {{.*}} : vector<1x256xf32>

// -----

func.func @gemv(%a: tensor<1x64xf32>, %b: tensor<64x512xf32>) -> tensor<1x512xf32> {
  %0 = nn.matmul %a, %b : (tensor<1x64xf32>, tensor<64x512xf32>) -> tensor<1x512xf32>
  return %0 : tensor<1x512xf32>
}
