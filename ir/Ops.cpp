//===- Ops.cpp - shape rules, verifiers and folds of the nn ops ----------===//
#include "ir/Dialect.h"
#include "ir/NNBuilder.h"
#include "ir/ShapeRules.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/IR/PatternMatch.h"
#include "llvm/ADT/StringExtras.h"

#include <cmath>

using namespace mlir;
using namespace kiln::nn;

#define GET_OP_CLASSES
#include "ir/NNOps.cpp.inc"


/// An op's result type is its shape rule's (ShapeRules.cpp), through
/// InferTypeOpInterface: the verifier (MLIR checks the declared type against
/// the inferred one), NNBuilder (builders without a result type) and the C++
/// Graph (kiln::inferResultType, frontend/Graph.cpp) all use it. A rule that
/// fails has emitted its own message at the op's location.
static LogicalResult result(FailureOr<RankedTensorType> inferred, SmallVectorImpl<Type> &types) {
  if (failed(inferred))
    return failure();
  types.push_back(*inferred);
  return success();
}

static RankedTensorType tensorType(Value v) { return cast<RankedTensorType>(v.getType()); }

LogicalResult kiln::nn::verifyOnlyDeclaredAttributes(Operation *op, ArrayRef<StringRef> declared) {
  for (NamedAttribute attr : op->getDiscardableAttrs()) {
    StringRef name = attr.getName().getValue();
    if (name.starts_with("kiln.") || llvm::is_contained(declared, name))
      continue;
    SmallVector<StringRef> shown; // what a user writes (not operand segment sizes)
    for (StringRef d : declared)
      if (d != "operandSegmentSizes" && d != "resultSegmentSizes")
        shown.push_back(d);
    InFlightDiagnostic diag = op->emitOpError("has no attribute '") << name << "'";
    if (shown.empty())
      diag << " (it takes none)";
    else
      diag << " (its attributes: " << llvm::join(shown, ", ") << ")";
    return diag;
  }
  return success();
}

LogicalResult kiln::nn::verifyResultTypeFromRule(Operation *op, LogicalResult inferred,
                                                 TypeRange types) {
  if (failed(inferred))
    return failure(); // the rule has said why, at the op's location
  if (types != op->getResultTypes())
    return op->emitOpError("result type ")
           << op->getResultTypes() << " differs from the inferred " << types;
  return success();
}

//===----------------------------------------------------------------------===//
// Binary elementwise ops: NumPy broadcasting.
//===----------------------------------------------------------------------===//

// Binary ops and comparisons: the result type must be what the op's shape
// rule (ShapeRules) infers from the two operand types.
#define KILN_VERIFY_BY_RULE(OpT, infer)                                                        \
  LogicalResult OpT::inferReturnTypes(MLIRContext *, std::optional<Location> loc,             \
                                      Adaptor adaptor, SmallVectorImpl<Type> &types) {        \
    return result(infer(loc, getOperationName(), tensorType(adaptor.getLhs()),                 \
                        tensorType(adaptor.getRhs())),                                         \
                  types);                                                                      \
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

LogicalResult SelectOp::inferReturnTypes(MLIRContext *, std::optional<Location> loc, Adaptor adaptor,
                                         SmallVectorImpl<Type> &types) {
  return result(inferSelect(loc, tensorType(adaptor.getCond()), tensorType(adaptor.getA()),
                            tensorType(adaptor.getB())),
                types);
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

LogicalResult MatmulOp::inferReturnTypes(MLIRContext *, std::optional<Location> loc, Adaptor adaptor,
                                         SmallVectorImpl<Type> &types) {
  return result(inferMatmul(loc, tensorType(adaptor.getA()), tensorType(adaptor.getB()),
                            adaptor.getTransposeA(), adaptor.getTransposeB()),
                types);
}

//===----------------------------------------------------------------------===//
// Reductions and softmax
//===----------------------------------------------------------------------===//

#define KILN_REDUCE_VERIFY(OpT)                                                                \
  LogicalResult OpT::inferReturnTypes(MLIRContext *, std::optional<Location> loc,             \
                                      Adaptor adaptor, SmallVectorImpl<Type> &types) {        \
    return result(inferReduce(loc, getOperationName(), tensorType(adaptor.getX()),             \
                              adaptor.getAxes(), adaptor.getKeepdims()),                       \
                  types);                                                                      \
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

LogicalResult BatchNormOp::inferReturnTypes(MLIRContext *, std::optional<Location> loc, Adaptor adaptor,
                                            SmallVectorImpl<Type> &types) {
  RankedTensorType x = tensorType(adaptor.getX());
  if (failed(verifyBatchNorm(loc, x, tensorType(adaptor.getGamma()), tensorType(adaptor.getBeta()),
                             tensorType(adaptor.getMean()), tensorType(adaptor.getVariance()))))
    return failure();
  types.append({x, adaptor.getMean().getType(), adaptor.getVariance().getType()});
  return success();
}

LogicalResult BatchNormOp::verify() {
  double eps = getEps().convertToDouble(), momentum = getMomentum().convertToDouble();
  if (!(eps >= 0) || std::isinf(eps))
    return emitOpError("eps must be a finite number >= 0, got ") << eps;
  if (!(momentum >= 0 && momentum <= 1))
    return emitOpError("momentum must be in [0, 1], got ") << momentum;
  return success();
}

LogicalResult LayerNormOp::inferReturnTypes(MLIRContext *, std::optional<Location>, Adaptor adaptor,
                                            SmallVectorImpl<Type> &types) {
  types.push_back(adaptor.getX().getType());
  return success();
}

LogicalResult LayerNormOp::verify() {
  auto typeOr = [](Value v) { return v ? cast<RankedTensorType>(v.getType()) : RankedTensorType(); };
  if (getEps().convertToDouble() < 0)
    return emitOpError("eps must not be negative");
  return verifyLayerNorm(getLoc(), getX().getType(), typeOr(getGamma()), typeOr(getBeta()),
                         getAxes());
}

static RankedTensorType typeOrNull(Value v) {
  return v ? cast<RankedTensorType>(v.getType()) : RankedTensorType();
}

LogicalResult AttentionOp::inferReturnTypes(MLIRContext *, std::optional<Location> loc, Adaptor adaptor,
                                            SmallVectorImpl<Type> &types) {
  return result(inferAttention(loc, tensorType(adaptor.getQ()), tensorType(adaptor.getK()),
                               tensorType(adaptor.getV()), typeOrNull(adaptor.getMask()),
                               typeOrNull(adaptor.getBias())),
                types);
}

LogicalResult Conv2dOp::inferReturnTypes(MLIRContext *, std::optional<Location> loc, Adaptor adaptor,
                                         SmallVectorImpl<Type> &types) {
  return result(inferConv2d(loc, tensorType(adaptor.getX()), tensorType(adaptor.getW()), adaptor.getStrides(),
                            adaptor.getPadding(), adaptor.getDilations(), adaptor.getGroups()),
                types);
}

LogicalResult Conv2dBackwardInputOp::inferReturnTypes(MLIRContext *, std::optional<Location> loc, Adaptor adaptor,
                                                      SmallVectorImpl<Type> &types) {
  return result(inferConv2dBackwardInput(loc, tensorType(adaptor.getGrad()), tensorType(adaptor.getW()),
                                         adaptor.getInputSize(), adaptor.getStrides(), adaptor.getPadding(),
                                         adaptor.getDilations(), adaptor.getGroups()),
                types);
}

LogicalResult Conv2dBackwardWeightOp::inferReturnTypes(MLIRContext *, std::optional<Location> loc, Adaptor adaptor,
                                                       SmallVectorImpl<Type> &types) {
  return result(inferConv2dBackwardWeight(loc, tensorType(adaptor.getX()), tensorType(adaptor.getGrad()),
                                          adaptor.getKernelSize(), adaptor.getStrides(), adaptor.getPadding(),
                                          adaptor.getDilations(), adaptor.getGroups()),
                types);
}

LogicalResult MaxPool2dOp::inferReturnTypes(MLIRContext *, std::optional<Location> loc, Adaptor adaptor,
                                            SmallVectorImpl<Type> &types) {
  return result(inferPool2d(loc, getOperationName(), tensorType(adaptor.getX()), adaptor.getKernel(),
                            adaptor.getStrides(), adaptor.getPadding()),
                types);
}

LogicalResult AvgPool2dOp::inferReturnTypes(MLIRContext *, std::optional<Location> loc, Adaptor adaptor,
                                            SmallVectorImpl<Type> &types) {
  return result(inferPool2d(loc, getOperationName(), tensorType(adaptor.getX()), adaptor.getKernel(),
                            adaptor.getStrides(), adaptor.getPadding()),
                types);
}

LogicalResult MaxPool2dBackwardOp::inferReturnTypes(MLIRContext *, std::optional<Location> loc, Adaptor adaptor,
                                                    SmallVectorImpl<Type> &types) {
  RankedTensorType x = tensorType(adaptor.getX());
  auto out = inferPool2d(loc, getOperationName(), x, adaptor.getKernel(), adaptor.getStrides(), adaptor.getPadding());
  if (failed(out))
    return failure();
  if (*out != tensorType(adaptor.getGrad()))
    return emitOptionalError(loc, "'", getOperationName(), "': x ", shapeString(x), " pools to ", shapeString(*out),
                             " but grad is ", shapeString(tensorType(adaptor.getGrad())));
  types.push_back(x);
  return success();
}

LogicalResult AvgPool2dBackwardOp::inferReturnTypes(MLIRContext *, std::optional<Location> loc, Adaptor adaptor,
                                                    SmallVectorImpl<Type> &types) {
  RankedTensorType grad = tensorType(adaptor.getGrad());
  ArrayRef<int64_t> size = adaptor.getInputSize();
  if (grad.getRank() != 4 || size.size() != 2 || size[0] < 0 || size[1] < 0)
    return emitOptionalError(loc, "'", getOperationName(), "': needs grad [N, C, Ho, Wo] and input_size [H, W], got ",
                             shapeString(grad), " and ", size.size(), " sizes");
  auto x = RankedTensorType::get({grad.getDimSize(0), grad.getDimSize(1), size[0], size[1]}, grad.getElementType());
  auto out = inferPool2d(loc, getOperationName(), x, adaptor.getKernel(), adaptor.getStrides(), adaptor.getPadding());
  if (failed(out))
    return failure();
  if (*out != grad)
    return emitOptionalError(loc, "'", getOperationName(), "': an input of ", shapeString(x), " pools to ",
                             shapeString(*out), " but grad is ", shapeString(grad));
  types.push_back(x);
  return success();
}

/// nn.attention's and nn.attention_backward's scale: finite when given,
/// else 1 / sqrt(D).
static LogicalResult verifyAttentionScale(Operation *op, FloatAttr scale) {
  if (scale && !std::isfinite(scale.getValueAsDouble()))
    return op->emitOpError("scale must be finite, got ") << scale.getValueAsDouble();
  return success();
}
static double attentionScale(FloatAttr scale, RankedTensorType q) {
  if (scale)
    return scale.getValueAsDouble();
  int64_t d = q.getShape().back();
  return d > 0 ? 1 / std::sqrt(double(d)) : 1.0; // D = 0: every score is 0 anyway
}

LogicalResult AttentionOp::verify() { return verifyAttentionScale(*this, getScaleAttr()); }
double AttentionOp::getScaleValue() { return attentionScale(getScaleAttr(), getQ().getType()); }

LogicalResult AttentionBackwardOp::inferReturnTypes(MLIRContext *, std::optional<Location> loc, Adaptor adaptor,
                                                    SmallVectorImpl<Type> &types) {
  RankedTensorType q = tensorType(adaptor.getQ()), k = tensorType(adaptor.getK()), v = tensorType(adaptor.getV());
  auto out = inferAttention(loc, q, k, v, typeOrNull(adaptor.getMask()), typeOrNull(adaptor.getBias()));
  if (failed(out))
    return failure();
  for (auto [name, value] : {std::pair{"out", adaptor.getOut()}, std::pair{"grad", adaptor.getGrad()}})
    if (tensorType(value) != *out)
      return emitOptionalError(loc, "'nn.attention_backward': ", name, " is ", shapeString(tensorType(value)),
                               " but the attention's result is ", shapeString(*out));
  types.append({q, k, v});
  return success();
}

LogicalResult AttentionBackwardOp::verify() { return verifyAttentionScale(*this, getScaleAttr()); }
double AttentionBackwardOp::getScaleValue() { return attentionScale(getScaleAttr(), getQ().getType()); }

LogicalResult DropoutOp::verify() {
  double rate = getRate().convertToDouble();
  if (!(rate >= 0 && rate < 1))
    return emitOpError("rate must be in [0, 1), got ") << rate;
  return success();
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

LogicalResult GatherOp::inferReturnTypes(MLIRContext *, std::optional<Location> loc, Adaptor adaptor,
                                         SmallVectorImpl<Type> &types) {
  return result(inferGather(loc, tensorType(adaptor.getTable()), tensorType(adaptor.getIndices())),
                types);
}

LogicalResult ConcatOp::inferReturnTypes(MLIRContext *, std::optional<Location> loc, Adaptor adaptor,
                                         SmallVectorImpl<Type> &types) {
  SmallVector<RankedTensorType> inputs;
  for (Value v : adaptor.getInputs())
    inputs.push_back(tensorType(v));
  return result(inferConcat(loc, inputs, adaptor.getAxis()), types);
}

LogicalResult SliceOp::inferReturnTypes(MLIRContext *, std::optional<Location> loc, Adaptor adaptor,
                                        SmallVectorImpl<Type> &types) {
  return result(inferSlice(loc, tensorType(adaptor.getX()), adaptor.getStarts(), adaptor.getStops(),
                           adaptor.getSteps()),
                types);
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

LogicalResult TransposeOp::inferReturnTypes(MLIRContext *, std::optional<Location> loc, Adaptor adaptor,
                                            SmallVectorImpl<Type> &types) {
  return result(inferTranspose(loc, tensorType(adaptor.getX()), adaptor.getPerm()), types);
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

LogicalResult ConstantOp::inferReturnTypes(MLIRContext *, std::optional<Location>, Adaptor adaptor,
                                           SmallVectorImpl<Type> &types) {
  types.push_back(adaptor.getValue().getType());
  return success();
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
  LogicalResult OpT::inferReturnTypes(MLIRContext *, std::optional<Location> loc,             \
                                      Adaptor adaptor, SmallVectorImpl<Type> &types) {        \
    return result(inferLoss(loc, getOperationName(), tensorType(adaptor.getPrediction()),      \
                            tensorType(adaptor.getLabel())),                                   \
                  types);                                                                      \
  }
KILN_LOSS_VERIFY(L1LossOp)
KILN_LOSS_VERIFY(MseLossOp)
#undef KILN_LOSS_VERIFY

LogicalResult CrossEntropyOp::inferReturnTypes(MLIRContext *, std::optional<Location> loc,
                                               Adaptor adaptor, SmallVectorImpl<Type> &types) {
  return result(inferCrossEntropy(loc, tensorType(adaptor.getLogits()), tensorType(adaptor.getLabels())),
                types);
}

//===----------------------------------------------------------------------===//
// nn.scan
//===----------------------------------------------------------------------===//

namespace {
/// `t` without its leading dimension (a scanned input's slice).
RankedTensorType sliceType(RankedTensorType t) {
  return RankedTensorType::get(t.getShape().drop_front(), t.getElementType());
}
/// `t` with a leading dimension of `length` (a stacked step output).
RankedTensorType stackedType(RankedTensorType t, int64_t length) {
  SmallVector<int64_t> shape{length};
  shape.append(t.getShape().begin(), t.getShape().end());
  return RankedTensorType::get(shape, t.getElementType());
}
} // namespace

int64_t ScanOp::getLength() {
  return getXs().empty() ? 0 : cast<RankedTensorType>(getXs().front().getType()).getDimSize(0);
}

LogicalResult ScanOp::verify() {
  if (getXs().empty())
    return emitOpError("scans at least one input (`over`): its leading axis is the steps");
  int64_t length = getLength();
  for (auto [i, x] : llvm::enumerate(getXs())) {
    auto t = cast<RankedTensorType>(x.getType());
    if (t.getRank() == 0)
      return emitOpError("scanned input #") << i << " is rank 0: it needs a leading axis of steps";
    if (t.getDimSize(0) != length)
      return emitOpError("scanned input #") << i << " has " << t.getDimSize(0) << " steps (leading dimension), "
                                            << "expected " << length << " as scanned input #0";
  }
  if (std::optional<int64_t> k = getCheckpointEvery(); k && *k < 1)
    return emitOpError("checkpoint_every must be at least 1 (save every k-th carry), got ") << *k;
  Block &body = getBody().front();
  SmallVector<Type> expected;
  for (Value v : getInits())
    expected.push_back(v.getType());
  for (Value v : getXs())
    expected.push_back(sliceType(cast<RankedTensorType>(v.getType())));
  for (Value v : getConsts())
    expected.push_back(v.getType());
  if (body.getNumArguments() != expected.size())
    return emitOpError("body takes ") << body.getNumArguments() << " arguments, expected " << expected.size()
                                      << " (" << getInits().size() << " carries, " << getXs().size()
                                      << " slices, " << getConsts().size() << " consts)";
  for (auto [i, pair] : llvm::enumerate(llvm::zip(body.getArgumentTypes(), expected)))
    if (std::get<0>(pair) != std::get<1>(pair))
      return emitOpError("body argument #") << i << " has type " << std::get<0>(pair) << ", expected "
                                            << std::get<1>(pair);
  auto yield = dyn_cast<YieldOp>(body.getTerminator());
  if (!yield)
    return emitOpError("body must end with nn.yield");
  unsigned carries = getInits().size();
  if (yield.getValues().size() < carries)
    return yield.emitOpError("yields ") << yield.getValues().size() << " values, expected at least the "
                                        << carries << " carries";
  for (unsigned i = 0; i < carries; ++i)
    if (yield.getValues()[i].getType() != getInits()[i].getType())
      return yield.emitOpError("carry #") << i << " is yielded as " << yield.getValues()[i].getType()
                                          << ", expected " << getInits()[i].getType() << " (its initial value's type)";
  unsigned outputs = yield.getValues().size() - carries;
  if (getNumResults() != carries + outputs)
    return emitOpError("has ") << getNumResults() << " results, expected " << carries + outputs << " ("
                               << carries << " carries and " << outputs << " stacked step outputs)";
  for (unsigned i = 0; i < getNumResults(); ++i) {
    Type want = i < carries ? getInits()[i].getType()
                            : Type(stackedType(cast<RankedTensorType>(yield.getValues()[i].getType()), length));
    if (getResult(i).getType() != want)
      return emitOpError("result #") << i << " has type " << getResult(i).getType() << ", expected " << want;
  }
  return success();
}
