// A row kernel's location records the ops of its group (softmax's four
// loops, one nn op), and the explanation lists them.
// RUN: kiln-opt %s --kiln-lower-nn-to-linalg --kiln-fuse-elementwise --kiln-tile-rows="explain=1" -verify-diagnostics -o /dev/null
func.func @main(%x: tensor<512x300xf32>) -> tensor<512x300xf32> {
  // expected-remark @+1 {{row kernel (one row at a time, rows of 300, 512 rows on the thread pool): nn.softmax at}}
  %0 = nn.softmax %x axis -1 : tensor<512x300xf32>
  return %0 : tensor<512x300xf32>
}
