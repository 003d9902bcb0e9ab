//===- VectorizeSupport.cpp - shared by the tiling passes ----------------===//
#include "passes/tiling/VectorizeSupport.h"
#include "ir/Dialect.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/Utils/Utils.h"
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

/// An index expression that never falls as a loop index rises: sums and
/// non-negative multiples of loop indices and constants.
static bool nonDecreasing(AffineExpr e) {
  if (isa<AffineDimExpr, AffineConstantExpr, AffineSymbolExpr>(e))
    return true;
  auto binary = dyn_cast<AffineBinaryOpExpr>(e);
  if (!binary)
    return false;
  if (e.getKind() == AffineExprKind::Add)
    return nonDecreasing(binary.getLHS()) && nonDecreasing(binary.getRHS());
  if (e.getKind() == AffineExprKind::Mul) {
    auto constant = dyn_cast<AffineConstantExpr>(binary.getRHS());
    return constant && constant.getValue() >= 0 && nonDecreasing(binary.getLHS());
  }
  return false; // floordiv, ceildiv, mod
}

bool returnsInPlaceUpdate(Operation *op) {
  auto f = op->getParentOfType<func::FuncOp>();
  return f && llvm::any_of(op->getUses(), [&](OpOperand &use) {
           return isa<func::ReturnOp>(use.getOwner()) &&
                  f.getResultAttr(use.getOperandNumber(), nn::kUpdatesAttr);
         });
}

bool readsAgainstTheLoops(linalg::LinalgOp op) {
  for (AffineMap map : op.getIndexingMapsArray())
    for (AffineExpr e : map.getResults())
      if (!nonDecreasing(e))
        return true;
  return false;
}

SmallVector<Value> indicesAt(OpBuilder &b, Location loc, AffineMap map, ArrayRef<Value> loopValues) {
  SmallVector<Value> result;
  for (AffineExpr e : map.getResults())
    result.push_back(getValueOrCreateConstantIndexOp(
        b, loc,
        affine::makeComposedFoldedAffineApply(b, loc, AffineMap::get(map.getNumDims(), 0, e),
                                              getAsOpFoldResult(loopValues))));
  return result;
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
