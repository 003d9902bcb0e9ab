// f32 transcendentals become polynomials (no math op, no libm call left);
// f64 is left to libm.
// RUN: kiln-opt %s --kiln-approximate-math | FileCheck %s

// CHECK-LABEL: func @f32
// CHECK-NOT: math.exp
// CHECK-NOT: math.tanh
// CHECK-NOT: math.log
// CHECK: arith.mulf
// CHECK: return
func.func @f32(%x: f32) -> (f32, f32, f32) {
  %0 = math.exp %x : f32
  %1 = math.tanh %x : f32
  %2 = math.log %x : f32
  return %0, %1, %2 : f32, f32, f32
}

// CHECK-LABEL: func @f64
// CHECK: math.exp %{{.*}} : f64
func.func @f64(%x: f64) -> f64 {
  %0 = math.exp %x : f64
  return %0 : f64
}
