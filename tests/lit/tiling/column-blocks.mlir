// A big plain matmul is split into column blocks: one B panel of K x 128
// packed per block (it stays in L2), and inside a block each 8-row tile of A
// serves all four 32-column tiles before the next; the partial block of 44
// columns gets its own panel. The block loop is the parallel one.
// RUN: kiln-opt %s --kiln-lower-nn-to-linalg --kiln-tile-matmul | FileCheck %s

// CHECK-LABEL: func.func @main
// CHECK:       scf.for {{.*}} = %c0 to %c256 step %c128
// CHECK:         linalg.copy ins(%{{.*}} : tensor<1000x128xf32>)
// CHECK:         scf.for {{.*}} to %c256 step %c8
// CHECK:           scf.for {{.*}} to %c128 step %c32
// CHECK:             scf.for {{.*}} to %c1000 step %c1
// CHECK:       } {kiln.parallel}
// CHECK:       linalg.copy ins(%{{.*}} : tensor<1000x44xf32>)
func.func @main(%a: tensor<256x1000xf32>, %b: tensor<1000x300xf32>) -> tensor<256x300xf32> {
  %0 = nn.matmul %a, %b : (tensor<256x1000xf32>, tensor<1000x300xf32>) -> tensor<256x300xf32>
  return %0 : tensor<256x300xf32>
}
