// A B of 768 KiB is packed whole, the rows outside, only where the target's
// L2 holds twice that and A (2 MiB here) is at least half of it: with
// column blocks A would stream from memory once per block. With a 1 MiB L2
// (the default) or a small A, B goes in column blocks of K x 128.
// RUN: kiln-opt %s --split-input-file --kiln-lower-nn-to-linalg --kiln-tile-matmul | FileCheck %s --check-prefix=L2-1M
// RUN: kiln-opt %s --split-input-file --kiln-lower-nn-to-linalg --kiln-tile-matmul="l2-bytes=2097152" | FileCheck %s --check-prefix=L2-2M

// L2-1M-LABEL: func.func @big_a
// L2-1M:       scf.for {{.*}} = %c0 to %c768 step %c128
// L2-1M:         linalg.copy ins(%{{.*}} : tensor<256x128xf32>{{.*}})
// L2-2M-LABEL: func.func @big_a
// L2-2M:       linalg.transpose ins(%{{.*}} : tensor<256x24x32xf32>) outs(%{{.*}} : tensor<24x256x32xf32>)
// L2-2M:       scf.for {{.*}} = %c0 to %c2048 step %c8
// L2-2M:         scf.for {{.*}} = %c0 to %c768 step %c32
// L2-2M-NOT:   linalg.copy
func.func @big_a(%a: tensor<2048x256xf32>, %b: tensor<256x768xf32>) -> tensor<2048x768xf32> {
  %0 = nn.matmul %a, %b : (tensor<2048x256xf32>, tensor<256x768xf32>) -> tensor<2048x768xf32>
  return %0 : tensor<2048x768xf32>
}

// -----

// L2-1M-LABEL: func.func @small_a
// L2-1M:       scf.for {{.*}} = %c0 to %c768 step %c128
// L2-2M-LABEL: func.func @small_a
// L2-2M:       scf.for {{.*}} = %c0 to %c768 step %c128
// L2-2M:         linalg.copy ins(%{{.*}} : tensor<256x128xf32>{{.*}})
func.func @small_a(%a: tensor<64x256xf32>, %b: tensor<256x768xf32>) -> tensor<64x768xf32> {
  %0 = nn.matmul %a, %b : (tensor<64x256xf32>, tensor<256x768xf32>) -> tensor<64x768xf32>
  return %0 : tensor<64x768xf32>
}
