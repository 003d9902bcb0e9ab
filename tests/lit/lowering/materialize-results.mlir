// A returned argument or a value returned twice gets its own tensor.
// RUN: kiln-opt %s --kiln-materialize-results | FileCheck %s

// CHECK-LABEL: func @results
// CHECK: %[[M:.*]] = nn.mul
// CHECK: %[[E1:.*]] = tensor.empty() : tensor<2xf32>
// CHECK: %[[C1:.*]] = linalg.copy ins(%[[M]] : tensor<2xf32>) outs(%[[E1]] : tensor<2xf32>)
// CHECK: %[[E2:.*]] = tensor.empty() : tensor<2xf32>
// CHECK: %[[C2:.*]] = linalg.copy ins(%arg0 : tensor<2xf32>) outs(%[[E2]] : tensor<2xf32>)
// CHECK: return %[[M]], %[[C1]], %[[C2]]
func.func @results(%x: tensor<2xf32>) -> (tensor<2xf32>, tensor<2xf32>, tensor<2xf32>) {
  %0 = nn.mul %x, %x : (tensor<2xf32>, tensor<2xf32>) -> tensor<2xf32>
  return %0, %0, %x : tensor<2xf32>, tensor<2xf32>, tensor<2xf32>
}
