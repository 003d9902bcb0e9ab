//===- Ops.cpp - shape rules, verifiers and folds of the nn ops ----------===//
#include "ir/Dialect.h"
#include "ir/NNBuilder.h"
#include "ir/ShapeRules.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/IR/PatternMatch.h"

using namespace mlir;
using namespace kiln::nn;

#define GET_OP_CLASSES
#include "ir/NNOps.cpp.inc"


/// An op whose result type follows a shape rule: the rule has already
/// emitted its own message if it failed; otherwise the declared type must
/// equal the inferred one.
static LogicalResult verifyResultType(Operation *op, FailureOr<RankedTensorType> inferred) {
  if (failed(inferred))
    return failure();
  Type declared = op->getResult(0).getType();
  if (declared != *inferred)
    return op->emitOpError("result type ")
           << declared << " differs from the inferred " << *inferred;
  return success();
}

//===----------------------------------------------------------------------===//
// Binary elementwise ops: NumPy broadcasting.
//===----------------------------------------------------------------------===//

// Binary ops and comparisons: the result type must be what the op's shape
// rule (ShapeRules) infers from the two operand types.
#define KILN_VERIFY_BY_RULE(OpT, infer)                                                        \
  LogicalResult OpT::verify() {                                                                \
    return verifyResultType(                                                                   \
        *this, infer(getLoc(), getOperationName(), getLhs().getType(), getRhs().getType()));   \
  }
KILN_VERIFY_BY_RULE(AddOp, inferBroadcast)
KILN_VERIFY_BY_RULE(SubOp, inferBroadcast)
KILN_VERIFY_BY_RULE(MulOp, inferBroadcast)
KILN_VERIFY_BY_RULE(DivOp, inferBroadcast)
KILN_VERIFY_BY_RULE(MaxOp, inferBroadcast)
KILN_VERIFY_BY_RULE(MinOp, inferBroadcast)
KILN_VERIFY_BY_RULE(PowOp, inferBroadcast)

/// True if `attr` is a constant whose elements all equal `value`.
static bool isSplatOf(Attribute attr, double value) {
  auto dense = dyn_cast_or_null<DenseElementsAttr>(attr);
  if (!dense || !dense.isSplat() || !isa<FloatType>(dense.getElementType()))
    return false;
  return dense.getSplatValue<APFloat>().convertToDouble() == value;
}

/// x + 0 -> x and 0 + x -> x when no broadcast changes x's shape. (A -0.0
/// input then stays -0.0 where IEEE gives +0.0; the values compare equal.)
OpFoldResult AddOp::fold(FoldAdaptor adaptor) {
  if (isSplatOf(adaptor.getRhs(), 0.0) && getLhs().getType() == getType())
    return getLhs();
  if (isSplatOf(adaptor.getLhs(), 0.0) && getRhs().getType() == getType())
    return getRhs();
  return {};
}

/// x * 1 -> x. x * 0 is deliberately not folded: NaN * 0 and inf * 0 are NaN.
OpFoldResult MulOp::fold(FoldAdaptor adaptor) {
  if (isSplatOf(adaptor.getRhs(), 1.0) && getLhs().getType() == getType())
    return getLhs();
  if (isSplatOf(adaptor.getLhs(), 1.0) && getRhs().getType() == getType())
    return getRhs();
  return {};
}

//===----------------------------------------------------------------------===//
// Comparisons, select, cast
//===----------------------------------------------------------------------===//

KILN_VERIFY_BY_RULE(EqOp, inferCompare)
KILN_VERIFY_BY_RULE(NeOp, inferCompare)
KILN_VERIFY_BY_RULE(LtOp, inferCompare)
KILN_VERIFY_BY_RULE(LeOp, inferCompare)
KILN_VERIFY_BY_RULE(GtOp, inferCompare)
KILN_VERIFY_BY_RULE(GeOp, inferCompare)
#undef KILN_VERIFY_BY_RULE

LogicalResult SelectOp::verify() {
  return verifyResultType(*this, inferSelect(getLoc(), getCond().getType(), getA().getType(),
                                             getB().getType()));
}

LogicalResult CastOp::verify() {
  if (getX().getType().getShape() != getType().getShape())
    return emitOpError("changes the shape from ")
           << shapeString(getX().getType()) << " to " << shapeString(getType())
           << "; a cast changes only the element type";
  return success();
}

OpFoldResult CastOp::fold(FoldAdaptor) {
  if (getX().getType() == getType())
    return getX();
  return {};
}

//===----------------------------------------------------------------------===//
// MatmulOp
//===----------------------------------------------------------------------===//

LogicalResult MatmulOp::verify() {
  return verifyResultType(*this, inferMatmul(getLoc(), getA().getType(), getB().getType(),
                                             getTransposeA(), getTransposeB()));
}

//===----------------------------------------------------------------------===//
// Reductions and softmax
//===----------------------------------------------------------------------===//

#define KILN_REDUCE_VERIFY(OpT)                                                                \
  LogicalResult OpT::verify() {                                                                \
    return verifyResultType(*this, inferReduce(getLoc(), getOperationName(), getX().getType(), \
                                               getAxes(), getKeepdims()));                     \
  }
KILN_REDUCE_VERIFY(ReduceSumOp)
KILN_REDUCE_VERIFY(ReduceMeanOp)
KILN_REDUCE_VERIFY(ReduceMaxOp)
#undef KILN_REDUCE_VERIFY

LogicalResult SoftmaxOp::verify() {
  int64_t rank = getX().getType().getRank();
  if (rank == 0)
    return emitOpError("needs an operand of rank >= 1");
  return normalizeAxes(getLoc(), getOperationName(), {getAxisAttr().getInt()}, rank);
}

LogicalResult LogSoftmaxOp::verify() {
  int64_t rank = getX().getType().getRank();
  if (rank == 0)
    return emitOpError("needs an operand of rank >= 1");
  return normalizeAxes(getLoc(), getOperationName(), {getAxisAttr().getInt()}, rank);
}

LogicalResult LayerNormOp::verify() {
  auto typeOr = [](Value v) { return v ? cast<RankedTensorType>(v.getType()) : RankedTensorType(); };
  if (getX().getType() != getType())
    return emitOpError("result type ") << getType() << " differs from the input's " << getX().getType();
  if (getEps().convertToDouble() < 0)
    return emitOpError("eps must not be negative");
  return verifyLayerNorm(getLoc(), getX().getType(), typeOr(getGamma()), typeOr(getBeta()),
                         getAxes());
}

LogicalResult GeluOp::verify() {
  if (getApproximate() != "none" && getApproximate() != "tanh")
    return emitOpError("approximate must be \"none\" or \"tanh\", got \"")
           << getApproximate() << "\"";
  return success();
}

//===----------------------------------------------------------------------===//
// Indexing: gather, concat, slice, iota
//===----------------------------------------------------------------------===//

LogicalResult GatherOp::verify() {
  return verifyResultType(*this,
                          inferGather(getLoc(), getTable().getType(), getIndices().getType()));
}

LogicalResult ConcatOp::verify() {
  SmallVector<RankedTensorType> types;
  for (Value v : getInputs())
    types.push_back(cast<RankedTensorType>(v.getType()));
  return verifyResultType(*this, inferConcat(getLoc(), types, getAxisAttr().getInt()));
}

LogicalResult SliceOp::verify() {
  return verifyResultType(*this, inferSlice(getLoc(), getX().getType(), getStarts(), getStops(),
                                            getSteps()));
}

LogicalResult IotaOp::verify() {
  int64_t rank = getType().getRank();
  if (rank == 0)
    return emitOpError("needs a result of rank >= 1");
  return normalizeAxes(getLoc(), getOperationName(), {getAxisAttr().getInt()}, rank);
}

LogicalResult SliceScatterOp::verify() {
  auto sliced = inferSlice(getLoc(), getType(), getStarts(), getStops(), getSteps());
  if (failed(sliced))
    return failure();
  if (*sliced != getSrc().getType())
    return emitOpError("source ") << getSrc().getType() << " does not fill the slice "
                                  << *sliced << " of the result";
  return success();
}

LogicalResult ScatterAddOp::verify() {
  auto expected = inferGather(getLoc(), getType(), getIndices().getType());
  if (failed(expected))
    return failure();
  if (*expected != getUpdates().getType())
    return emitOpError("updates ") << getUpdates().getType() << " must be " << *expected
                                   << " (the indices' shape followed by the rows' shape)";
  return success();
}

//===----------------------------------------------------------------------===//
// ReshapeOp
//===----------------------------------------------------------------------===//

LogicalResult ReshapeOp::verify() {
  return verifyReshape(getLoc(), getX().getType(), getType());
}

OpFoldResult ReshapeOp::fold(FoldAdaptor adaptor) {
  if (getX().getType() == getType())
    return getX();
  if (auto dense = dyn_cast_or_null<DenseElementsAttr>(adaptor.getX()))
    return dense.reshape(getType());
  return {};
}

namespace {
/// reshape(reshape(x)) -> reshape(x): only the final shape matters.
struct FoldReshapeChain : OpRewritePattern<ReshapeOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(ReshapeOp op, PatternRewriter &rewriter) const override {
    auto inner = op.getX().getDefiningOp<ReshapeOp>();
    if (!inner)
      return failure();
    rewriter.replaceOpWithNewOp<ReshapeOp>(op, op.getType(), inner.getX());
    return success();
  }
};
} // namespace

void ReshapeOp::getCanonicalizationPatterns(RewritePatternSet &results, MLIRContext *context) {
  results.add<FoldReshapeChain>(context);
}

//===----------------------------------------------------------------------===//
// TransposeOp
//===----------------------------------------------------------------------===//

LogicalResult TransposeOp::verify() {
  return verifyResultType(*this, inferTranspose(getLoc(), getX().getType(), getPerm()));
}

/// The permutation with negative entries made positive.
static SmallVector<int64_t> normalizedPerm(ArrayRef<int64_t> perm) {
  SmallVector<int64_t> out;
  for (int64_t p : perm)
    out.push_back(p < 0 ? p + (int64_t)perm.size() : p);
  return out;
}

OpFoldResult TransposeOp::fold(FoldAdaptor) {
  SmallVector<int64_t> perm = normalizedPerm(getPerm());
  for (int64_t i = 0; i < (int64_t)perm.size(); ++i)
    if (perm[i] != i)
      return {};
  return getX();
}

namespace {
/// transpose(transpose(x, p1), p2) -> transpose(x, p1∘p2) (folded away when
/// the composition is the identity).
struct ComposeTransposes : OpRewritePattern<TransposeOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(TransposeOp op, PatternRewriter &rewriter) const override {
    auto inner = op.getX().getDefiningOp<TransposeOp>();
    if (!inner)
      return failure();
    SmallVector<int64_t> p1 = normalizedPerm(inner.getPerm()), p2 = normalizedPerm(op.getPerm());
    SmallVector<int64_t> composed;
    for (int64_t p : p2)
      composed.push_back(p1[p]);
    rewriter.replaceOpWithNewOp<TransposeOp>(op, op.getType(), inner.getX(),
                                             rewriter.getDenseI64ArrayAttr(composed));
    return success();
  }
};
} // namespace

void TransposeOp::getCanonicalizationPatterns(RewritePatternSet &results, MLIRContext *context) {
  results.add<ComposeTransposes>(context);
}

//===----------------------------------------------------------------------===//
// BroadcastToOp, ConstantOp
//===----------------------------------------------------------------------===//

LogicalResult BroadcastToOp::verify() {
  return verifyBroadcastTo(getLoc(), getX().getType(), getType());
}

OpFoldResult BroadcastToOp::fold(FoldAdaptor adaptor) {
  if (getX().getType() == getType())
    return getX();
  if (auto dense = dyn_cast_or_null<DenseElementsAttr>(adaptor.getX()); dense && dense.isSplat())
    return DenseElementsAttr::get(getType(), dense.getSplatValue<Attribute>());
  return {};
}

OpFoldResult ConstantOp::fold(FoldAdaptor) { return getValue(); }

ParseResult ConstantOp::parse(OpAsmParser &parser, OperationState &result) {
  Attribute value;
  if (parser.parseOptionalAttrDict(result.attributes))
    return failure();
  llvm::SMLoc valueLoc = parser.getCurrentLocation();
  if (parser.parseAttribute(value))
    return failure();
  auto elements = dyn_cast<ElementsAttr>(value);
  if (!elements)
    return parser.emitError(valueLoc,
                            "nn.constant needs a tensor value such as dense<1.0> : tensor<2xf32>");
  result.addAttribute("value", elements);
  result.addTypes(elements.getType());
  return success();
}

void ConstantOp::print(OpAsmPrinter &p) {
  p.printOptionalAttrDict((*this)->getAttrs(), /*elidedAttrs=*/{"value"});
  p << ' ';
  p.printAttribute(getValue());
}

LogicalResult ConstantOp::verify() {
  if (getValue().getType() != getType())
    return emitOpError("value type ") << getValue().getType() << " differs from result type "
                                      << getType();
  return success();
}

//===----------------------------------------------------------------------===//
// Losses
//===----------------------------------------------------------------------===//

#define KILN_LOSS_VERIFY(OpT)                                                                  \
  LogicalResult OpT::verify() {                                                                \
    return verifyResultType(*this, inferLoss(getLoc(), getOperationName(),                     \
                                             getPrediction().getType(), getLabel().getType()));\
  }
KILN_LOSS_VERIFY(L1LossOp)
KILN_LOSS_VERIFY(MseLossOp)
#undef KILN_LOSS_VERIFY

LogicalResult CrossEntropyOp::verify() {
  return verifyResultType(*this, inferCrossEntropy(getLoc(), getLogits().getType(),
                                                   getLabels().getType()));
}
