// kiln-profile-kernels (only with --profile): every top-level kernel of the
// entry is bracketed by two clock reads whose difference, and a call, are
// added to its row of @kiln_profile_counters; the last row times the whole
// call. The entry's nn.profile describes each row: the matmul with the bias
// as its epilogue (its packing copies, tiles and peeled edge one kernel;
// 2 x 64 x 40 x 24 + 64 x 40 FLOPs) and the softmax.
// RUN: kiln-opt %s --kiln-to-bufferized --kiln-profile-kernels | FileCheck %s

// CHECK: memref.global "private" @kiln_profile_counters : memref<3x2xi64> = dense<0>
// CHECK: func.func private @kiln_rt1_profile_now() -> i64
// CHECK-LABEL: func.func @main
// CHECK-SAME:    nn.profile = "[{\22bytes\22:{{[0-9]+}},\22flops\22:125440,\22id\22:0,\22kind\22:\22matmul\22,\22ops\22:\22nn.matmul at {{.*}}, nn.add at {{.*}}\22},{{.*}}\22id\22:1,\22kind\22:\22row\22,\22ops\22:\22nn.softmax at
// CHECK:         %[[COUNTERS:.*]] = memref.get_global @kiln_profile_counters
// CHECK:         %[[CALL:.*]] = call @kiln_rt1_profile_now()
// CHECK:         %[[T0:.*]] = call @kiln_rt1_profile_now()
// CHECK-NEXT:    linalg.copy
// CHECK:         %[[T1:.*]] = call @kiln_rt1_profile_now()
// CHECK:         %[[NS:.*]] = memref.load %[[COUNTERS]][%c0
// CHECK:         arith.subi %[[T1]], %[[T0]]
// CHECK:         call @kiln_rt1_profile_now()
// CHECK:         call @kiln_rt1_profile_now()
// CHECK:         memref.load %[[COUNTERS]][%c2
// CHECK:         arith.subi %{{.*}}, %[[CALL]]
// CHECK:         return
func.func @main(%x: tensor<64x24xf32>, %w: tensor<24x40xf32>, %b: tensor<40xf32>) -> tensor<64x40xf32> {
  %0 = nn.matmul %x, %w : (tensor<64x24xf32>, tensor<24x40xf32>) -> tensor<64x40xf32>
  %1 = nn.add %0, %b : (tensor<64x40xf32>, tensor<40xf32>) -> tensor<64x40xf32>
  %2 = nn.softmax %1 axis -1 : tensor<64x40xf32>
  return %2 : tensor<64x40xf32>
}
