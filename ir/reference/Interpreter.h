//===- Interpreter.h - the reference interpreter of the nn dialect -*- C++ -*-===//
//
// A plain, obviously correct, double-precision evaluation of every nn op,
// one case per op in Interpreter.cpp. It is the oracle the numeric tests
// compare compiled code against; it shares no code with the lowering.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_IR_REFERENCE_INTERPRETER_H
#define KILN_IR_REFERENCE_INTERPRETER_H

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "llvm/ADT/STLFunctionalExtras.h"
#include <vector>

namespace kiln::nn {

struct RefTensor {
  std::vector<int64_t> shape;
  std::vector<double> data; // row-major; integers and booleans as exact doubles
};

/// Sees each op's results as soon as they are computed and may replace
/// them: the numerics bisector puts the compiled code's values in, so that
/// each kernel is judged on its own inputs.
using OpObserver = llvm::function_ref<void(mlir::Operation *op, llvm::ArrayRef<const RefTensor *> operands,
                                            llvm::ArrayRef<RefTensor *> results)>;

/// Runs `func` on `args` (one per argument, shapes checked). Emits a
/// diagnostic at the offending op and fails on an op it does not know.
/// The observer sees the ops of the function's block; with
/// `observeScanBodies`, also those of every nn.scan's body, once per step
/// (kiln report's attention maps of a decoder).
mlir::FailureOr<std::vector<RefTensor>> interpret(mlir::func::FuncOp func,
                                                  const std::vector<RefTensor> &args,
                                                  OpObserver observe = nullptr,
                                                  bool observeScanBodies = false);

} // namespace kiln::nn

#endif
