//===- SourceLimits.h - limits on model text checked before parsing -*- C++ -*-===//
//
// MLIR's parser recurses once per nested bracket, so text nested thousands
// deep (10,000 parentheses, a type nested 20,000 levels) overflows the
// stack: a crash with no message. Real models nest a few levels; text over
// kMaxNesting is refused with its position before the parser sees it
// (docs/reliability.md).
//
//===----------------------------------------------------------------------===//
#ifndef KILN_IR_SOURCELIMITS_H
#define KILN_IR_SOURCELIMITS_H

#include "mlir/IR/MLIRContext.h"
#include "mlir/Support/LogicalResult.h"
#include "llvm/ADT/StringRef.h"

namespace kiln::nn {

/// The deepest nesting of (), [], {} and <> that model text may have.
inline constexpr int kMaxNesting = 256;

/// Fails, with an error at the line and column where the nesting first
/// exceeds kMaxNesting (brackets in strings and comments do not count), if
/// `text` nests deeper.
mlir::LogicalResult checkNesting(llvm::StringRef text, llvm::StringRef sourceName,
                                 mlir::MLIRContext *context);

} // namespace kiln::nn

#endif
