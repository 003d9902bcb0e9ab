//===- GraphDot.h - the nn graph as a Graphviz picture -----------*- C++ -*-===//
#ifndef KILN_IR_GRAPHDOT_H
#define KILN_IR_GRAPHDOT_H

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "llvm/Support/raw_ostream.h"

namespace kiln::nn {

/// Writes `func` as a Graphviz DOT digraph: one node per op (op name, result
/// shape and dtype; the source location as its tooltip), inputs, parameters
/// and outputs drawn in their own shapes and colours, one edge per use.
void writeGraphDot(mlir::func::FuncOp func, llvm::raw_ostream &os);

} // namespace kiln::nn

#endif
