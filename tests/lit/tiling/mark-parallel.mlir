// The output-tile loops of a matmul worth threads (here every matmul:
// parallel-min-flops=0) are marked kiln.parallel for kiln-parallelize-loops;
// the k loop never is (a reduction is not split across threads). A small
// matmul under the default threshold stays unmarked.
// RUN: kiln-opt %s --kiln-lower-nn-to-linalg --kiln-tile-matmul="parallel-min-flops=0" | FileCheck %s
// RUN: kiln-opt %s --kiln-lower-nn-to-linalg --kiln-tile-matmul | FileCheck %s --check-prefix=SMALL

// CHECK-LABEL: func @main
// CHECK:       scf.for {{.*}} to %c16 step %c8
// CHECK:         scf.for {{.*}} to %c64 step %c32
// CHECK:           scf.for {{.*}} to %c24 step %c1
// CHECK:           }
// CHECK-NOT:       kiln.parallel
// CHECK:         } {kiln.parallel}
// CHECK:       } {kiln.kernel = "matmul 16x64x24", kiln.parallel}
// SMALL-NOT: kiln.parallel
func.func @main(%a: tensor<16x24xf32>, %b: tensor<24x64xf32>) -> tensor<16x64xf32> {
  %0 = nn.matmul %a, %b : (tensor<16x24xf32>, tensor<24x64xf32>) -> tensor<16x64xf32>
  return %0 : tensor<16x64xf32>
}
