// RUN: kiln-opt %s --split-input-file --pass-pipeline='builtin.module(func.func(kiln-empty-buffer-args))' | FileCheck %s

// A zero-sized 2-D buffer argument is passed as memref<0xf32> and viewed
// with its shape again; the workspace and non-empty buffers stay as they are.
// CHECK-LABEL: func @used
// CHECK-SAME: (%[[A:.*]]: memref<0xf32>, %[[W:.*]]: memref<3x4xf32>)
// CHECK: %[[V:.*]] = memref.reinterpret_cast %[[A]] to offset: [0], sizes: [3, 0], strides: [0, 1] : memref<0xf32> to memref<3x0xf32>
// CHECK: memref.copy %[[V]]
func.func @used(%a: memref<3x0xf32>, %w: memref<3x4xf32>) {
  %e = memref.alloc() : memref<3x0xf32>
  memref.copy %a, %e : memref<3x0xf32> to memref<3x0xf32>
  return
}

// -----

// Unused (an empty output; an empty leading dimension too): only the type
// changes.
// CHECK-LABEL: func @unused
// CHECK-SAME: (%{{.*}}: memref<0xf32> {nn.name = "y"}, %{{.*}}: memref<0xf32>)
// CHECK-NOT: reinterpret_cast
func.func @unused(%y: memref<2x0x3xf32> {nn.name = "y"}, %z: memref<0x5xf32>) {
  return
}

// -----

// Arguments that are no buffers (an outlined parallel body's) are left alone.
// CHECK-LABEL: func @not_buffers
// CHECK-SAME: (%{{.*}}: index, %{{.*}}: i64)
func.func @not_buffers(%i: index, %n: i64) {
  return
}
