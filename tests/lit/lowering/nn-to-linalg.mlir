// Each nn op's lowering: linalg ops writing into destinations, broadcasts in
// the indexing maps (size-1 dims read at index 0), never materialised.
// RUN: kiln-opt %s --kiln-lower-nn-to-linalg -split-input-file | FileCheck %s

// CHECK-DAG: #[[ID:.*]] = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-DAG: #[[ROW:.*]] = affine_map<(d0, d1) -> (d1)>
// CHECK-DAG: #[[COL0:.*]] = affine_map<(d0, d1) -> (0, d1)>
// CHECK-LABEL: func @binary_broadcast
// CHECK: %[[E:.*]] = tensor.empty() : tensor<2x3xf32>
// CHECK: linalg.generic {indexing_maps = [#[[ID]], #[[ROW]], #[[ID]]], iterator_types = ["parallel", "parallel"]} ins(%arg0, %arg1 : tensor<2x3xf32>, tensor<3xf32>) outs(%[[E]] : tensor<2x3xf32>)
// CHECK: arith.subf
// CHECK: linalg.generic {indexing_maps = [#[[ID]], #[[COL0]], #[[ID]]]
// CHECK: arith.maximumf
func.func @binary_broadcast(%a: tensor<2x3xf32>, %b: tensor<3xf32>, %c: tensor<1x3xf32>) -> tensor<2x3xf32> {
  %0 = nn.sub %a, %b : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
  %1 = nn.max %0, %c : (tensor<2x3xf32>, tensor<1x3xf32>) -> tensor<2x3xf32>
  return %1 : tensor<2x3xf32>
}

// -----

// CHECK-LABEL: func @unary
// CHECK: linalg.generic
// CHECK: arith.negf
// CHECK: math.exp
// CHECK: arith.addf
// CHECK: arith.divf
// CHECK: linalg.generic
// CHECK: arith.maximumf
func.func @unary(%x: tensor<5xf64>) -> tensor<5xf64> {
  %0 = nn.sigmoid %x : tensor<5xf64>
  %1 = nn.relu %0 : tensor<5xf64>
  return %1 : tensor<5xf64>
}

// -----

// A batch broadcast matmul is one contraction; b's batch of 1 reads index 0.
// CHECK-DAG: #[[A:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d1, d3)>
// CHECK-DAG: #[[B:.*]] = affine_map<(d0, d1, d2, d3) -> (0, d2, d3)>
// CHECK-DAG: #[[C:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2)>
// CHECK-LABEL: func @matmul_broadcast_transposed
// CHECK: %[[Z:.*]] = linalg.fill
// CHECK: linalg.generic {indexing_maps = [#[[A]], #[[B]], #[[C]]], iterator_types = ["parallel", "parallel", "parallel", "reduction"]} ins(%arg0, %arg1 : tensor<4x2x3xf32>, tensor<1x5x3xf32>) outs(%[[Z]] : tensor<4x2x5xf32>)
// CHECK: arith.mulf
// CHECK: arith.addf
func.func @matmul_broadcast_transposed(%a: tensor<4x2x3xf32>, %b: tensor<1x5x3xf32>) -> tensor<4x2x5xf32> {
  %0 = nn.matmul %a, %b {transpose_b} : (tensor<4x2x3xf32>, tensor<1x5x3xf32>) -> tensor<4x2x5xf32>
  return %0 : tensor<4x2x5xf32>
}

// -----

// reduce_mean: a sum into the kept dims, a division by the count, and an
// expand_shape for keepdims.
// CHECK-LABEL: func @reduce_mean_keepdims
// CHECK: %[[S:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "reduction"]{{.*}} outs(%{{.*}} : tensor<2xf32>)
// CHECK: arith.addf
// CHECK: %[[N:.*]] = arith.constant 3.000000e+00 : f32
// CHECK: %[[M:.*]] = linalg.generic {{.*}} ins(%[[S]] : tensor<2xf32>)
// CHECK: arith.divf %{{.*}}, %[[N]]
// CHECK: tensor.expand_shape %[[M]] {{\[\[}}0, 1]] output_shape [2, 1] : tensor<2xf32> into tensor<2x1xf32>
func.func @reduce_mean_keepdims(%x: tensor<2x3xf32>) -> tensor<2x1xf32> {
  %0 = nn.reduce_mean %x axes [-1] keepdims : tensor<2x3xf32> -> tensor<2x1xf32>
  return %0 : tensor<2x1xf32>
}

// -----

// CHECK-LABEL: func @reduce_max
// CHECK: arith.constant 0xFF800000 : f32
// CHECK: linalg.fill
// CHECK: linalg.generic {{.*}} iterator_types = ["reduction", "reduction"]
// CHECK: arith.maximumf
func.func @reduce_max(%x: tensor<2x3xf32>) -> tensor<f32> {
  %0 = nn.reduce_max %x axes [0, 1] : tensor<2x3xf32> -> tensor<f32>
  return %0 : tensor<f32>
}

// -----

// softmax: max over the axis, exp(x - max), sum, divide.
// CHECK-LABEL: func @softmax
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "reduction"]
// CHECK: arith.maximumf
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "parallel"]
// CHECK: arith.subf
// CHECK: math.exp
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "reduction"]
// CHECK: arith.addf
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "parallel"]
// CHECK: arith.divf
func.func @softmax(%x: tensor<4x7xf32>) -> tensor<4x7xf32> {
  %0 = nn.softmax %x axis -1 : tensor<4x7xf32>
  return %0 : tensor<4x7xf32>
}

// -----

// CHECK-LABEL: func @shapes
// CHECK: tensor.collapse_shape %arg0 {{\[\[}}0, 1]] : tensor<2x3xf32> into tensor<6xf32>
// CHECK: tensor.expand_shape %{{.*}} {{\[\[}}0, 1, 2]] output_shape [3, 1, 2] : tensor<6xf32> into tensor<3x1x2xf32>
// CHECK: linalg.transpose ins(%arg0 : tensor<2x3xf32>) outs(%{{.*}} : tensor<3x2xf32>) permutation = [1, 0]
// CHECK: linalg.generic {{.*}} ins(%arg1 : tensor<3xf32>) outs(%{{.*}} : tensor<4x3xf32>)
// CHECK: arith.constant dense<[1.000000e+00, 2.000000e+00]> : tensor<2xf32>
func.func @shapes(%x: tensor<2x3xf32>, %y: tensor<3xf32>) -> (tensor<3x1x2xf32>, tensor<3x2xf32>, tensor<4x3xf32>, tensor<2xf32>) {
  %0 = nn.reshape %x : tensor<2x3xf32> -> tensor<3x1x2xf32>
  %1 = nn.transpose %x perm [1, 0] : tensor<2x3xf32> -> tensor<3x2xf32>
  %2 = nn.broadcast_to %y : tensor<3xf32> -> tensor<4x3xf32>
  %3 = nn.constant dense<[1.0, 2.0]> : tensor<2xf32>
  return %0, %1, %2, %3 : tensor<3x1x2xf32>, tensor<3x2xf32>, tensor<4x3xf32>, tensor<2xf32>
}

// -----

// A loss is one reduction over every element to a rank-0 tensor, then /N.
// CHECK-LABEL: func @l1_loss
// CHECK: linalg.generic {{.*}} iterator_types = ["reduction", "reduction"]{{.*}} ins(%arg0, %arg1 : tensor<2x3xf32>, tensor<2x3xf32>) outs(%{{.*}} : tensor<f32>)
// CHECK: arith.subf
// CHECK: math.absf
// CHECK: arith.addf
// CHECK: %[[N:.*]] = arith.constant 6.000000e+00 : f32
// CHECK: arith.divf %{{.*}}, %[[N]]
func.func @l1_loss(%p: tensor<2x3xf32>, %l: tensor<2x3xf32>) -> tensor<f32> {
  %0 = nn.l1_loss %p, %l : (tensor<2x3xf32>, tensor<2x3xf32>) -> tensor<f32>
  return %0 : tensor<f32>
}

// -----

// The remaining elementwise ops, one body each.
// CHECK-LABEL: func @elementwise_bodies
// CHECK: arith.negf
// CHECK: math.absf
// CHECK: math.exp
// CHECK: math.log
// CHECK: math.sqrt
// CHECK: math.rsqrt
// CHECK: math.tanh
// CHECK: arith.addf
// CHECK: arith.mulf
// CHECK: arith.divf
// CHECK: arith.minimumf
func.func @elementwise_bodies(%x: tensor<4xf32>) -> tensor<4xf32> {
  %0 = nn.neg %x : tensor<4xf32>
  %1 = nn.abs %0 : tensor<4xf32>
  %2 = nn.exp %1 : tensor<4xf32>
  %3 = nn.log %2 : tensor<4xf32>
  %4 = nn.sqrt %3 : tensor<4xf32>
  %5 = nn.rsqrt %4 : tensor<4xf32>
  %6 = nn.tanh %5 : tensor<4xf32>
  %7 = nn.add %6, %x : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  %8 = nn.mul %7, %x : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  %9 = nn.div %8, %x : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  %10 = nn.min %9, %x : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  return %10 : tensor<4xf32>
}

// -----

// CHECK-LABEL: func @reduce_sum_and_mse
// CHECK: linalg.generic {{.*}} iterator_types = ["reduction", "parallel"]{{.*}} outs(%{{.*}} : tensor<3xf64>)
// CHECK: arith.addf
// CHECK: linalg.generic {{.*}} iterator_types = ["reduction"]{{.*}} outs(%{{.*}} : tensor<f64>)
// CHECK: arith.subf
// CHECK: arith.mulf
// CHECK: arith.addf
func.func @reduce_sum_and_mse(%x: tensor<2x3xf64>, %p: tensor<3xf64>) -> (tensor<3xf64>, tensor<f64>) {
  %0 = nn.reduce_sum %x axes [0] : tensor<2x3xf64> -> tensor<3xf64>
  %1 = nn.mse_loss %0, %p : (tensor<3xf64>, tensor<3xf64>) -> tensor<f64>
  return %0, %1 : tensor<3xf64>, tensor<f64>
}

// -----

// gather clamps its reads and checks its indices against [0, 10): whether
// one is outside and which, returned with the site (1: the function's first
// check, described in nn.error_sites) and the bound as a hidden nn.status
// result [site, index, bound].
// CHECK-LABEL: func @gather
// CHECK-SAME: -> (tensor<2x4xf32>, tensor<3xi64> {nn.status}) attributes {nn.error_sites = ["nn.gather at {{.*}}:8"]}
// CHECK: linalg.generic {{.*}} iterator_types = ["reduction"]{{.*}} ins(%arg1 : tensor<2xi64>) outs(%{{.*}} : tensor<i1>)
// CHECK: arith.cmpi slt
// CHECK: arith.cmpi sge
// CHECK: linalg.generic {{.*}} iterator_types = ["reduction"]{{.*}} ins(%arg1 : tensor<2xi64>) outs(%{{.*}} : tensor<i64>)
// CHECK: arith.select
// CHECK: %[[BAD:.*]] = tensor.extract %{{.*}}[] : tensor<i1>
// CHECK: %[[INDEX:.*]] = tensor.extract %{{.*}}[] : tensor<i64>
// CHECK: linalg.generic {{.*}} ins(%arg1 : tensor<2xi64>)
// CHECK: arith.maxsi
// CHECK: arith.minsi
// CHECK: tensor.extract %arg0
// CHECK: %[[ONE:.*]] = arith.constant 1 : i64
// CHECK: %[[SITE:.*]] = arith.select %[[BAD]], %[[ONE]], %{{.*}} : i64
// CHECK: %[[IDX:.*]] = arith.select %[[BAD]], %[[INDEX]], %{{.*}} : i64
// CHECK: %[[TEN:.*]] = arith.constant 10 : i64
// CHECK: %[[BOUND:.*]] = arith.select %[[BAD]], %[[TEN]], %{{.*}} : i64
// CHECK: %[[S:.*]] = tensor.from_elements %[[SITE]], %[[IDX]], %[[BOUND]] : tensor<3xi64>
// CHECK: return %{{.*}}, %[[S]]
func.func @gather(%t: tensor<10x4xf32>, %i: tensor<2xi64>) -> tensor<2x4xf32> {
  %0 = nn.gather %t[%i] : (tensor<10x4xf32>, tensor<2xi64>) -> tensor<2x4xf32>
  return %0 : tensor<2x4xf32>
}

// -----

// A slice is a strided extract_slice; a negative step reverses the window.
// CHECK-DAG: #[[REV:.*]] = affine_map<(d0, d1) -> (d0, -d1 + 3)>
// CHECK-LABEL: func @slice
// CHECK: %[[W:.*]] = tensor.extract_slice %arg0[1, 0] [3, 4] [2, 1] : tensor<7x4xf32> to tensor<3x4xf32>
// CHECK: linalg.generic {indexing_maps = [#[[REV]], #{{.*}}]{{.*}} ins(%[[W]]
func.func @slice(%x: tensor<7x4xf32>) -> tensor<3x4xf32> {
  %0 = nn.slice %x[[1, -1] : [7, -5] : [2, -1]] : tensor<7x4xf32> -> tensor<3x4xf32>
  return %0 : tensor<3x4xf32>
}

// -----

// CHECK-LABEL: func @concat
// CHECK: %[[E:.*]] = tensor.empty() : tensor<2x5xf32>
// CHECK: %[[A:.*]] = tensor.insert_slice %arg0 into %[[E]][0, 0] [2, 2] [1, 1]
// CHECK: tensor.insert_slice %arg1 into %[[A]][0, 2] [2, 3] [1, 1]
func.func @concat(%a: tensor<2x2xf32>, %b: tensor<2x3xf32>) -> tensor<2x5xf32> {
  %0 = nn.concat %a, %b axis 1 : (tensor<2x2xf32>, tensor<2x3xf32>) -> tensor<2x5xf32>
  return %0 : tensor<2x5xf32>
}

// -----

// CHECK-LABEL: func @mask_and_cast
// CHECK: linalg.index 0
// CHECK: linalg.index 1
// CHECK: arith.cmpi sge
// CHECK: arith.select
// CHECK: arith.fptosi
// CHECK: arith.cmpf une
func.func @mask_and_cast(%x: tensor<3x3xf32>) -> (tensor<3x3xi32>, tensor<3x3xi1>) {
  %r = nn.iota axis 0 : tensor<3x3xi64>
  %c = nn.iota axis 1 : tensor<3x3xi64>
  %m = nn.ge %r, %c : (tensor<3x3xi64>, tensor<3x3xi64>) -> tensor<3x3xi1>
  %s = nn.select %m, %x, %x : (tensor<3x3xi1>, tensor<3x3xf32>, tensor<3x3xf32>) -> tensor<3x3xf32>
  %i = nn.cast %s : tensor<3x3xf32> -> tensor<3x3xi32>
  %b = nn.cast %s : tensor<3x3xf32> -> tensor<3x3xi1>
  return %i, %b : tensor<3x3xi32>, tensor<3x3xi1>
}

// -----

// CHECK-LABEL: func @normalizations
// CHECK: math.rsqrt
// CHECK: math.erf
// CHECK: math.tanh
// CHECK: math.log
// CHECK: math.powf
func.func @normalizations(%x: tensor<2x4xf32>) -> (tensor<2x4xf32>, tensor<2x4xf32>, tensor<2x4xf32>, tensor<2x4xf32>, tensor<2x4xf32>) {
  %0 = nn.layer_norm %x axes [-1] : (tensor<2x4xf32>) -> tensor<2x4xf32>
  %1 = nn.gelu %x : tensor<2x4xf32>
  %2 = nn.gelu %x {approximate = "tanh"} : tensor<2x4xf32>
  %3 = nn.log_softmax %x axis -1 : tensor<2x4xf32>
  %4 = nn.pow %x, %x : (tensor<2x4xf32>, tensor<2x4xf32>) -> tensor<2x4xf32>
  return %0, %1, %2, %3, %4 : tensor<2x4xf32>, tensor<2x4xf32>, tensor<2x4xf32>, tensor<2x4xf32>, tensor<2x4xf32>
}

// -----

// CHECK-LABEL: func @cross_entropy
// CHECK-SAME: -> (tensor<f32>, tensor<3xi64> {nn.status})
// CHECK: arith.maximumf
// CHECK: math.exp
// CHECK: tensor.extract %arg0
// CHECK: math.log
func.func @cross_entropy(%l: tensor<3x5xf32>, %y: tensor<3xi32>) -> tensor<f32> {
  %0 = nn.cross_entropy %l, %y : (tensor<3x5xf32>, tensor<3xi32>) -> tensor<f32>
  return %0 : tensor<f32>
}
