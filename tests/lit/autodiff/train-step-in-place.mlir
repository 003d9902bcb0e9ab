// An AdamW training step of the neuron updates its parameters and optimizer
// state in place: each update writes its argument (outs(%argument), or a
// vector store into it) and nothing is copied.
// No 1x1 buffer is allocated: the gradient of `a` (x^T g, one register
// tile starting from zero in registers) stays in a vector the update reads.
// RUN: kiln-opt %s "--kiln-make-train-step=optimizer=adamw weight-decay=0.01" --kiln-to-bufferized | FileCheck %s --implicit-check-not=memref.copy --implicit-check-not=linalg.copy

// CHECK-LABEL: func.func @main_train_step(
// CHECK-SAME: %[[A:arg2]]: memref<1x1xf32> {nn.name = "a"
// CHECK-SAME: %[[B:arg3]]: memref<1xf32> {nn.name = "b"
// CHECK-SAME: %[[MA:arg4]]: memref<1x1xf32> {nn.name = "adamw_m_a", nn.param = {init = "zeros"}}
// CHECK-SAME: %[[VA:arg5]]: memref<1x1xf32> {nn.name = "adamw_v_a"
// CHECK-SAME: %[[MB:arg6]]: memref<1xf32> {nn.name = "adamw_m_b"
// CHECK-SAME: %[[VB:arg7]]: memref<1xf32> {nn.name = "adamw_v_b"
// CHECK-SAME: %[[STEP:arg8]]: memref<f32> {nn.name = "adamw_step"
// CHECK-SAME: %{{.*}}: memref<f32> {nn.name = "lr"}
// CHECK-SAME: %{{.*}}: memref<f32> {nn.name = "loss"}) {
// CHECK-NOT: memref.alloc() {{.*}} : memref<1x1xf32>
// CHECK-DAG: outs(%[[STEP]] : memref<f32>)
// CHECK-DAG: vector.transfer_write {{.*}}, %[[MA]][%c0, %c0]
// CHECK-DAG: vector.transfer_write {{.*}}, %[[VA]][%c0, %c0]
// CHECK-DAG: outs(%[[A]] : memref<1x1xf32>)
// CHECK-DAG: outs(%[[MB]] : memref<1xf32>)
// CHECK-DAG: outs(%[[VB]] : memref<1xf32>)
// CHECK-DAG: outs(%[[B]] : memref<1xf32>)
// CHECK: return
func.func @main(%x: tensor<8x1xf32> {nn.name = "x"}, %label: tensor<8x1xf32> {nn.name = "label"},
                %a: tensor<1x1xf32> {nn.name = "a", nn.param = {init = "values", value = dense<0.5> : tensor<1x1xf32>}},
                %b: tensor<1xf32> {nn.name = "b", nn.param = {init = "zeros"}})
    -> (tensor<f32> {nn.name = "loss"}) {
  %ax = nn.matmul %x, %a : (tensor<8x1xf32>, tensor<1x1xf32>) -> tensor<8x1xf32>
  %z = nn.add %ax, %b : (tensor<8x1xf32>, tensor<1xf32>) -> tensor<8x1xf32>
  %y = nn.sigmoid %z : tensor<8x1xf32>
  %l = nn.l1_loss %y, %label : (tensor<8x1xf32>, tensor<8x1xf32>) -> tensor<f32>
  return %l : tensor<f32>
}
