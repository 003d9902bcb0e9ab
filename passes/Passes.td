//===- Passes.td - every kiln pass, in one place --------------------------===//
#ifndef KILN_PASSES
#define KILN_PASSES

include "mlir/Pass/PassBase.td"

def LowerNNToLinalg : Pass<"kiln-lower-nn-to-linalg", "mlir::func::FuncOp"> {
  let summary = "Lower nn ops to linalg/tensor/arith/math ops on tensors";
  let description = [{
    Every nn op becomes linalg ops that write into a destination tensor
    (`tensor.empty`, filled where a reduction needs an initial value), plus
    tensor reshapes and arith constants. Broadcast operands are read through
    indexing maps, never materialised. An nn op without a lowering is an error.
  }];
  let dependentDialects = ["mlir::linalg::LinalgDialect", "mlir::tensor::TensorDialect",
                           "mlir::arith::ArithDialect", "mlir::math::MathDialect"];
}

def MaterializeResults : Pass<"kiln-materialize-results", "mlir::func::FuncOp"> {
  let summary = "Give every function result its own tensor before bufferization";
  let description = [{
    A result that is a function argument, or a value returned twice, is
    copied (`linalg.copy` into a `tensor.empty`), so every result owns a
    buffer that bufferization can place directly in the caller's output
    buffer (buffer-results-to-out-params with hoist-static-allocs, which
    crashes in MLIR 19 on a returned argument).
  }];
  let dependentDialects = ["mlir::linalg::LinalgDialect", "mlir::tensor::TensorDialect"];
}

def CopiesToLinalg : Pass<"kiln-copies-to-linalg", "mlir::func::FuncOp"> {
  let summary = "Turn memref.copy into linalg.copy";
  let description = [{
    memref.copy between non-contiguous views (a concat's insert_slice, say)
    lowers to a call of `memrefCopy` from MLIR's C runner library, which
    neither the JIT nor AOT artifacts link. As linalg.copy it becomes plain
    loops (LLVM turns contiguous ones back into memcpy).
  }];
  let dependentDialects = ["mlir::linalg::LinalgDialect"];
}

def ApproximateMath : Pass<"kiln-approximate-math"> {
  let summary = "Replace f32 transcendentals by polynomial approximations";
  let description = [{
    exp, log, tanh, erf (and friends) on f32 and vectors of f32 become
    MLIR's polynomial approximations, straight-line code that LLVM
    vectorises; no per-element libm call remains. f64 is left to libm.
    tests/unit/ApproximationTest.cpp measures the error of each.
  }];
  let dependentDialects = ["mlir::arith::ArithDialect", "mlir::math::MathDialect",
                           "mlir::vector::VectorDialect", "mlir::x86vector::X86VectorDialect"];
}

def EmitEntry : Pass<"kiln-emit-entry", "mlir::ModuleOp"> {
  let summary = "Add the ABI entry function around the lowered model";
  let description = [{
    Runs on the LLVM dialect. The model function `entry` (bare-pointer
    convention, one pointer per argument then one per result) becomes
    internal, and a new external function `symbol`
    `i32 (ptr buffers, ptr ctx, ptr workspace)` checks each buffer (non-null,
    64-byte aligned), clears `ctx->status`, calls the model and returns the
    status (docs/abi.md). Every other function becomes internal too, so an
    object exports only the entry.
  }];
  let options = [
    Option<"entry", "entry", "std::string", "\"main\"", "the model function">,
    Option<"symbol", "symbol", "std::string", "\"kiln_main\"", "the exported entry symbol">,
  ];
}

#endif // KILN_PASSES
