// An elementwise consumer with two transcendentals per element (an erf and
// an exp, as in GELU's derivative) is not made a matmul's epilogue: their
// polynomials would spill the tile's accumulators. It stays a kernel of
// its own; a bias add and ReLU still ride along in registers.
// RUN: kiln-opt %s --kiln-to-fused --kiln-tile-matmul="explain=1" -o /dev/null 2>&1 | FileCheck %s

// CHECK-DAG: remark: matmul kernel 64x64x24 {{.*}}; no epilogue: its consumer computes transcendentals
// CHECK-DAG: remark: matmul kernel 64x64x24 {{.*}}; epilogue in registers: {{.*}}nn.add
func.func @main(%x: tensor<64x24xf32>, %w: tensor<24x64xf32>, %v: tensor<24x64xf32>, %b: tensor<64xf32>, %o: tensor<64x8xf32>) -> (tensor<64x8xf32>, tensor<64x8xf32>) {
  %0 = nn.matmul %x, %w : (tensor<64x24xf32>, tensor<24x64xf32>) -> tensor<64x64xf32>
  %e = nn.exp %0 : tensor<64x64xf32>
  %f = nn.erf %0 : tensor<64x64xf32>
  %1 = nn.mul %e, %f : (tensor<64x64xf32>, tensor<64x64xf32>) -> tensor<64x64xf32>
  %2 = nn.matmul %1, %o : (tensor<64x64xf32>, tensor<64x8xf32>) -> tensor<64x8xf32>
  %3 = nn.matmul %x, %v : (tensor<64x24xf32>, tensor<24x64xf32>) -> tensor<64x64xf32>
  %4 = nn.add %3, %b : (tensor<64x64xf32>, tensor<64xf32>) -> tensor<64x64xf32>
  %5 = nn.relu %4 : tensor<64x64xf32>
  %6 = nn.matmul %5, %o : (tensor<64x64xf32>, tensor<64x8xf32>) -> tensor<64x8xf32>
  return %2, %6 : tensor<64x8xf32>, tensor<64x8xf32>
}
