//===- ShapeRules.h - result-type rules of the nn ops ----------*- C++ -*-===//
//
// Each rule computes an op's result type from its operand types and
// attributes, or emits a diagnostic at `loc` (when given) and fails. The ops'
// inferReturnTypes/verifiers and the C++ Graph API call the same rules, so an
// error found while building a graph reads exactly like one found in a file.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_IR_SHAPERULES_H
#define KILN_IR_SHAPERULES_H

#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Location.h"
#include "mlir/Support/LogicalResult.h"
#include <optional>

namespace kiln::nn {
using MaybeLoc = std::optional<mlir::Location>;

/// NumPy broadcasting of two shapes (aligned from the back).
mlir::FailureOr<mlir::RankedTensorType>
inferBroadcast(MaybeLoc loc, llvm::StringRef op, mlir::RankedTensorType lhs,
               mlir::RankedTensorType rhs);

/// The broadcast shape of two shapes, or failure.
mlir::FailureOr<llvm::SmallVector<int64_t>>
broadcastShapes(llvm::ArrayRef<int64_t> a, llvm::ArrayRef<int64_t> b);

mlir::FailureOr<mlir::RankedTensorType>
inferMatmul(MaybeLoc loc, mlir::RankedTensorType a, mlir::RankedTensorType b,
            bool transposeA, bool transposeB);

/// Normalises axes (negative -> positive), rejecting empty lists, duplicates
/// and out-of-range entries.
mlir::FailureOr<llvm::SmallVector<int64_t>>
normalizeAxes(MaybeLoc loc, llvm::StringRef op, llvm::ArrayRef<int64_t> axes,
              int64_t rank);

mlir::FailureOr<mlir::RankedTensorType>
inferReduce(MaybeLoc loc, llvm::StringRef op, mlir::RankedTensorType x,
            llvm::ArrayRef<int64_t> axes, bool keepdims);

mlir::FailureOr<mlir::RankedTensorType>
inferTranspose(MaybeLoc loc, mlir::RankedTensorType x,
               llvm::ArrayRef<int64_t> perm);

mlir::FailureOr<mlir::RankedTensorType>
inferLoss(MaybeLoc loc, llvm::StringRef op, mlir::RankedTensorType prediction,
          mlir::RankedTensorType label);

/// Checks that `from` broadcasts to `to` (NumPy rules).
mlir::LogicalResult verifyBroadcastTo(MaybeLoc loc, mlir::RankedTensorType from,
                                      mlir::RankedTensorType to);

/// Checks that `from` and `to` hold the same number of elements.
mlir::LogicalResult verifyReshape(MaybeLoc loc, mlir::RankedTensorType from,
                                  mlir::RankedTensorType to);

/// "2x3xf32" for diagnostics.
std::string shapeString(mlir::Type t);
} // namespace kiln::nn

#endif
