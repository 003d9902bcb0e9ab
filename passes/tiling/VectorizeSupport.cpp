//===- VectorizeSupport.cpp - shared by the tiling passes ----------------===//
#include "passes/tiling/VectorizeSupport.h"

#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

using namespace mlir;

namespace kiln {

std::optional<std::string> whyNotVectorizable(linalg::GenericOp op) {
  for (Value operand : op->getOperands())
    if (getElementTypeOrSelf(operand.getType()).isInteger(1))
      return std::string("it reads a boolean mask (bits in vectors, bytes in memory)");
  for (Operation &inner : op.getRegion().front().without_terminator())
    if (inner.getDialect() && inner.getDialect()->getNamespace() == "math" &&
        llvm::any_of(inner.getOperandTypes(), [](Type t) { return !getElementTypeOrSelf(t).isF32(); }))
      return std::string("it has math on a type other than f32 (libm, per element)");
  return std::nullopt;
}

LogicalResult canonicalizeWith(func::FuncOp f, RewritePatternSet extra) {
  MLIRContext *ctx = f.getContext();
  for (Dialect *dialect : ctx->getLoadedDialects())
    dialect->getCanonicalizationPatterns(extra);
  for (RegisteredOperationName name : ctx->getRegisteredOperations())
    name.getCanonicalizationPatterns(extra, ctx);
  return applyPatternsAndFoldGreedily(f, std::move(extra));
}

} // namespace kiln
