// Temporaries become views of one workspace argument; buffers whose live
// ranges (alloc to dealloc) do not overlap share an offset.
// RUN: kiln-opt %s --kiln-plan-workspace | FileCheck %s

// CHECK-LABEL: func.func @main(
// CHECK-SAME: %[[WS:[a-z0-9]+]]: memref<128xi8> {nn.workspace = 128 : i64})
// CHECK-NOT: memref.alloc
// CHECK-NOT: memref.dealloc
// CHECK: memref.view %[[WS]][%c0{{(_[0-9]+)?}}][] : memref<128xi8> to memref<16xf32>
// CHECK: memref.view %[[WS]][%c0{{(_[0-9]+)?}}][] : memref<128xi8> to memref<16xf32>
// CHECK: memref.view %[[WS]][%c64][] : memref<128xi8> to memref<3xf32>
func.func @main(%in: memref<16xf32>, %out: memref<16xf32>) {
  %a = memref.alloc() {alignment = 64 : i64} : memref<16xf32>
  linalg.copy ins(%in : memref<16xf32>) outs(%a : memref<16xf32>)
  linalg.copy ins(%a : memref<16xf32>) outs(%out : memref<16xf32>)
  memref.dealloc %a : memref<16xf32>
  %b = memref.alloc() {alignment = 64 : i64} : memref<16xf32>
  %c = memref.alloc() {alignment = 64 : i64} : memref<3xf32>
  linalg.copy ins(%out : memref<16xf32>) outs(%b : memref<16xf32>)
  linalg.copy ins(%b : memref<16xf32>) outs(%out : memref<16xf32>)
  memref.dealloc %b : memref<16xf32>
  memref.dealloc %c : memref<3xf32>
  return
}

