// kiln-chunk-elementwise: a big elementwise kernel that no other tiling
// took (GELU here, 2048 x 512) is split along its outermost loop into 64
// chunks of 32 rows, the chunk loop marked for the thread pool. Small
// kernels stay whole, and so do reductions over rows (chunks of columns
// would read a cache line for two floats).
// RUN: kiln-opt %s --kiln-to-tiled | FileCheck %s

// CHECK-LABEL: func.func @big_elementwise
// CHECK:       scf.for %{{.*}} = %c0 to %c2048 step %c32
// CHECK:         math.erf
// CHECK:       } {kiln.parallel}
func.func @big_elementwise(%x: tensor<2048x512xf32>, %y: tensor<2048x512xf32>) -> tensor<2048x512xf32> {
  %0 = nn.gelu %x : tensor<2048x512xf32>
  %1 = nn.mul %0, %y : (tensor<2048x512xf32>, tensor<2048x512xf32>) -> tensor<2048x512xf32>
  %2 = nn.exp %1 : tensor<2048x512xf32>
  %3 = nn.reduce_sum %2 axes [0] : tensor<2048x512xf32> -> tensor<512xf32>
  %4 = nn.reshape %0 : tensor<2048x512xf32> -> tensor<1048576xf32>
  %5 = nn.reduce_sum %4 axes [0] : tensor<1048576xf32> -> tensor<f32>
  %6 = nn.add %1, %5 : (tensor<2048x512xf32>, tensor<f32>) -> tensor<2048x512xf32>
  %7 = nn.reshape %3 : tensor<512xf32> -> tensor<1x512xf32>
  %8 = nn.add %6, %7 : (tensor<2048x512xf32>, tensor<1x512xf32>) -> tensor<2048x512xf32>
  return %8 : tensor<2048x512xf32>
}

// CHECK-LABEL: func.func @small_and_column_reduction
// CHECK-NOT:   kiln.parallel
func.func @small_and_column_reduction(%x: tensor<64x128xf32>, %big: tensor<2048x512xf32>) -> (tensor<64x128xf32>, tensor<512xf32>) {
  %0 = nn.tanh %x : tensor<64x128xf32>
  %1 = nn.reduce_sum %big axes [0] : tensor<2048x512xf32> -> tensor<512xf32>
  return %0, %1 : tensor<64x128xf32>, tensor<512xf32>
}

// An op reading an operand backwards (a convolution kernel's taps reversed:
// index 2 - kh) is not chunked: MLIR's tiling would compute its slices as if
// every index only grew.
// CHECK-LABEL: func.func @reads_backwards
// CHECK-NOT:   scf.for
// CHECK:       linalg.generic {indexing_maps = [#{{.*}}, #{{.*}}], iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel"]}
func.func @reads_backwards(%g: tensor<1x256x3x3xf32>, %w: tensor<256x64x3x3xf32>) -> tensor<1x256x3x3xf32> {
  %0 = nn.conv2d_backward_input %g, %w input_size [3, 3] strides [1, 1] padding [1, 1, 1, 1] dilations [1, 1] groups 4 : (tensor<1x256x3x3xf32>, tensor<256x64x3x3xf32>) -> tensor<1x256x3x3xf32>
  return %0 : tensor<1x256x3x3xf32>
}

// A transpose reads its input across the grain: row by row it would read
// one float per cache line (a 2048x512 transpose ran at 1.6 GB/s). Its
// chunks (at least 16 rows, one cache line of each input row) are split into
// blocks of 64 columns, so a block's input lines stay in L1 while it is
// written (about 3x faster). An elementwise op reading along its rows is not
// split into blocks.
// CHECK-LABEL: func.func @transpose_in_blocks
// CHECK:       scf.for %{{.*}} = %c0 to %c512 step %c16
// CHECK:         scf.for %{{.*}} = %c0 to %c2048 step %c64
// CHECK:           linalg.transpose ins(%{{.*}} : tensor<64x16xf32>) outs(%{{.*}} : tensor<16x64xf32>) permutation = [1, 0]
// CHECK:       } {kiln.parallel}
func.func @transpose_in_blocks(%w: tensor<2048x512xf32>, %x: tensor<7x512xf32>) -> tensor<7x2048xf32> {
  %t = nn.transpose %w perm [1, 0] : tensor<2048x512xf32> -> tensor<512x2048xf32>
  %y = nn.matmul %x, %t : (tensor<7x512xf32>, tensor<512x2048xf32>) -> tensor<7x2048xf32>
  return %y : tensor<7x2048xf32>
}

// A returned result is chunked like any other (a weight gradient's
// transpose); one returned as an update written in place into an argument
// (`nn.updates`: a training step's parameter) stays whole, since
// kiln-update-in-place plans the write on the whole op.
// CHECK-LABEL: func.func @returned_transpose
// CHECK:       scf.for
// CHECK:         linalg.transpose
// CHECK:       } {kiln.parallel}
func.func @returned_transpose(%g: tensor<512x2048xf32>) -> tensor<2048x512xf32> {
  %t = nn.transpose %g perm [1, 0] : tensor<512x2048xf32> -> tensor<2048x512xf32>
  return %t : tensor<2048x512xf32>
}

// CHECK-LABEL: func.func @returned_update
// CHECK-NOT:   scf.for
// CHECK:       return
func.func @returned_update(%p: tensor<2048x512xf32>, %g: tensor<2048x512xf32>) -> (tensor<2048x512xf32> {nn.updates = 0 : i64}) {
  %0 = nn.sub %p, %g : (tensor<2048x512xf32>, tensor<2048x512xf32>) -> tensor<2048x512xf32>
  return %0 : tensor<2048x512xf32>
}
