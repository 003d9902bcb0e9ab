// A producer computed from indices alone (the causal mask iota >= iota) is
// fused into every consumer, broadcast or not: computing it again costs
// less than reading it back, and read back its booleans kept the consumers
// from being vectorized.
// RUN: kiln-opt %s --kiln-lower-nn-to-linalg --kiln-fuse-elementwise | FileCheck %s

// CHECK-LABEL: func.func @main
// CHECK-COUNT-4: linalg.index
// CHECK-NOT:   tensor<8x8xi1>
func.func @main(%a: tensor<2x8x8xf32>, %b: tensor<2x8x8xf32>) -> (tensor<2x8x8xf32>, tensor<2x8x8xf32>) {
  %r = nn.iota axis 0 : tensor<8x8xi64>
  %c = nn.iota axis 1 : tensor<8x8xi64>
  %m = nn.ge %r, %c : (tensor<8x8xi64>, tensor<8x8xi64>) -> tensor<8x8xi1>
  %z = nn.constant dense<-1.0e9> : tensor<f32>
  %0 = nn.select %m, %a, %z : (tensor<8x8xi1>, tensor<2x8x8xf32>, tensor<f32>) -> tensor<2x8x8xf32>
  %1 = nn.select %m, %b, %z : (tensor<8x8xi1>, tensor<2x8x8xf32>, tensor<f32>) -> tensor<2x8x8xf32>
  return %0, %1 : tensor<2x8x8xf32>, tensor<2x8x8xf32>
}
