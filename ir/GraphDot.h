//===- GraphDot.h - the nn graph as a Graphviz picture -----------*- C++ -*-===//
#ifndef KILN_IR_GRAPHDOT_H
#define KILN_IR_GRAPHDOT_H

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "llvm/ADT/STLFunctionalExtras.h"
#include "llvm/Support/raw_ostream.h"

namespace kiln::nn {

/// Writes `func` as a Graphviz DOT digraph: one node per op (op name, result
/// shape and dtype; the source location as its tooltip), inputs, parameters
/// and outputs drawn in their own shapes and colours, one edge per use.
/// With `onNode`, each op and argument node also gets its DOT name as its
/// `id` (kept by Graphviz's SVG output) and is passed to `onNode` with its
/// location, so that a picture can be linked back to the source.
void writeGraphDot(mlir::func::FuncOp func, llvm::raw_ostream &os,
                   llvm::function_ref<void(llvm::StringRef id, mlir::Location)> onNode = nullptr);

} // namespace kiln::nn

#endif
