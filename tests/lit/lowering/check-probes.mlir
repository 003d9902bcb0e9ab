// kiln-profile-kernels with check (kiln run --check): after each kernel,
// every buffer it writes goes to the checker's probe (kernel, slot, aligned
// address, offset) and its row lists the probes, its source ops one by one
// and the phase that formed it. The matmul's packed B panels are its own
// (no later op uses them) and are not probed; its output, a workspace slot,
// is addressed from the workspace's start plus the slot's byte shift.
// perturb-kernel=0 plants 1e-3 x max(|x|, 1) in element [0, 0] of the
// matmul's output before its probe.
// RUN: kiln-opt %s --kiln-to-bufferized --kiln-profile-kernels="check=1 perturb-kernel=0" | FileCheck %s

// CHECK: func.func private @kiln_rt1_check_probe(index, index, index, index)
// CHECK-LABEL: func.func @main
// CHECK-SAME: \22phase\22:\22fused\22,\22probes\22:[{\22dtype\22:\22f32\22,\22shape\22:[64,40],\22slot\22:0,\22strides\22:[40,1]}],\22sources\22:[\22nn.matmul at {{.*}}check-probes.mlir:{{[0-9]+}}:8\22,\22nn.add at
// CHECK-SAME: \22phase\22:\22tiled\22,\22probes\22:[{\22dtype\22:\22f32\22,\22shape\22:[64,40],\22slot\22:0,{{.*}}\22sources\22:[\22nn.softmax at
// CHECK:      %[[OUT:[a-z_0-9]+]] = memref.view %[[WS:arg4]][%[[SHIFT:[a-z_0-9]+]]][] : memref<{{[0-9]+}}xi8> to memref<64x40xf32>
// The planted error, then the probe of kernel 0, slot 0:
// CHECK:      %[[X:[0-9]+]] = memref.load %[[OUT]][%[[Z:[a-z_0-9]+]], %[[Z]]] : memref<64x40xf32>
// CHECK:      %[[ABS:[0-9]+]] = math.absf %[[X]]
// CHECK:      %[[SIZE:[0-9]+]] = arith.maximumf %[[ABS]]
// CHECK:      %[[DELTA:[0-9]+]] = arith.mulf %[[SIZE]]
// CHECK:      %[[MOVED:[0-9]+]] = arith.addf %[[X]], %[[DELTA]]
// CHECK:      memref.store %[[MOVED]], %[[OUT]][%[[Z]], %[[Z]]]
// CHECK:      %[[BASE:[a-z_0-9]+]] = memref.extract_aligned_pointer_as_index %[[WS]]
// CHECK:      %[[ADDR:[0-9]+]] = arith.addi %[[BASE]], %[[SHIFT]]
// CHECK:      %{{[a-z_0-9]+}}, %[[OFFSET:[a-z_0-9]+]], %{{.*}} = memref.extract_strided_metadata %[[OUT]]
// CHECK:      call @kiln_rt1_check_probe(%{{.*}}, %{{.*}}, %[[ADDR]], %[[OFFSET]])
// The second kernel writes the output argument; no error planted there.
// CHECK-NOT:  math.absf
// CHECK:      memref.extract_aligned_pointer_as_index %arg3
// CHECK:      call @kiln_rt1_check_probe
func.func @main(%x: tensor<64x24xf32>, %w: tensor<24x40xf32>, %b: tensor<40xf32>) -> tensor<64x40xf32> {
  %0 = nn.matmul %x, %w : (tensor<64x24xf32>, tensor<24x40xf32>) -> tensor<64x40xf32>
  %1 = nn.add %0, %b : (tensor<64x40xf32>, tensor<40xf32>) -> tensor<64x40xf32>
  %2 = nn.softmax %1 axis -1 : tensor<64x40xf32>
  return %2 : tensor<64x40xf32>
}
