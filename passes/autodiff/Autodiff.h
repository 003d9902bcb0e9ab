//===- Autodiff.h - reverse-mode differentiation of nn functions -*- C++ -*-===//
#ifndef KILN_PASSES_AUTODIFF_AUTODIFF_H
#define KILN_PASSES_AUTODIFF_AUTODIFF_H

#include "ir/Dialect.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"

namespace kiln {

/// Appends, at `b`'s insertion point, the reverse pass of the nn ops in
/// `body` (which must already compute `outputs`): `seeds[i]` is the
/// cotangent of `outputs[i]` (null: that output does not count). Returns the
/// cotangent of each of `wrt` (a zero constant where none reaches it).
/// Only ops on a path from `wrt` to a seeded output get a backward rule, and
/// integer, boolean and stop_gradient edges carry none. An op without a
/// rule on such a path is an error at that op.
mlir::FailureOr<llvm::SmallVector<mlir::Value>>
reverseMode(mlir::OpBuilder &b, mlir::Block &body, mlir::ArrayRef<mlir::Value> outputs,
            mlir::ArrayRef<mlir::Value> seeds, mlir::ArrayRef<mlir::Value> wrt);

/// Backpropagation through time for `scan` (passes/autodiff/ScanGradient.cpp):
/// reverseMode's rule for nn.scan, which runs reverse mode over the body.
mlir::LogicalResult scanVjp(mlir::OpBuilder &b, nn::ScanOp scan, mlir::ArrayRef<mlir::Value> resultGrads,
                            llvm::SmallVectorImpl<mlir::Value> &operandGrads);

/// Adds `name` beside `f`: it takes f's arguments, then one cotangent
/// `d_<output>` per non-scalar result of f (rank-0 results are seeded with
/// 1), and returns f's results followed by `d_<argument>` for each of `wrt`
/// (argument indices). f must be a kiln model (readSignature). With `of`
/// (an output's name) only that output is differentiated: it alone is
/// seeded (and takes a cotangent if it is not rank 0); the others count as
/// constants.
mlir::FailureOr<mlir::func::FuncOp> differentiate(mlir::func::FuncOp f,
                                                  llvm::ArrayRef<unsigned> wrt,
                                                  llvm::StringRef name,
                                                  llvm::StringRef of = "");

/// The argument indices named by `names`; empty `names` selects every
/// parameter (or, if f has none, every float argument). Unknown or
/// non-float names are errors at f.
mlir::FailureOr<llvm::SmallVector<unsigned>> selectArguments(mlir::func::FuncOp f,
                                                             llvm::ArrayRef<std::string> names);

} // namespace kiln

#endif
