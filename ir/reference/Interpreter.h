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
#include <vector>

namespace kiln::nn {

struct RefTensor {
  std::vector<int64_t> shape;
  std::vector<double> data; // row-major; integers and booleans as exact doubles
};

/// Runs `func` on `args` (one per argument, shapes checked). Emits a
/// diagnostic at the offending op and fails on an op it does not know.
mlir::FailureOr<std::vector<RefTensor>> interpret(mlir::func::FuncOp func,
                                                  const std::vector<RefTensor> &args);

} // namespace kiln::nn

#endif
