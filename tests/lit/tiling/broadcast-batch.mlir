// A batch operand broadcast through a unit dimension ([1, 9, 17] against a
// batch of 4) is sliced to [9, 17] and read without the batch: the matmul
// takes the register-tile path (no scalar linalg.generic left).
// RUN: kiln-opt %s --kiln-to-tiled | FileCheck %s

// CHECK-LABEL: func.func @main
// CHECK:       tensor.extract_slice %arg0[0, 0, 0] [1, 9, 17] [1, 1, 1] : tensor<1x9x17xf32> to tensor<9x17xf32>
// CHECK:       scf.for
// CHECK:         arith.mulf {{.*}} : vector<1x8x32x1xf32>
// CHECK-NOT:   linalg.generic
func.func @main(%a: tensor<1x9x17xf32>, %b: tensor<4x17x40xf32>) -> tensor<4x9x40xf32> {
  %0 = nn.matmul %a, %b : (tensor<1x9x17xf32>, tensor<4x17x40xf32>) -> tensor<4x9x40xf32>
  return %0 : tensor<4x9x40xf32>
}
