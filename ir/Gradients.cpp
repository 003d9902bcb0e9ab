//===- Gradients.cpp - the vector-Jacobian product of every nn op --------===//
//
// One short rule per op, found by its name: given g, the cotangent of the
// result, push one cotangent per operand (null: no gradient). Rules build nn
// ops, so the backward pass is ordinary nn IR that every later phase treats
// like the forward pass. At a kink (relu and abs at 0, ties of max/min) the
// derivative is 0. Broadcast operands get their gradient summed back to
// their own shape (NNBuilder::unbroadcast).
//
//===----------------------------------------------------------------------===//
#include "ir/AttentionComposite.h"
#include "ir/BatchNormComposite.h"
#include "ir/Dialect.h"
#include "ir/NNBuilder.h"
#include "ir/ShapeRules.h"

#include <cmath>

using namespace mlir;

namespace kiln::nn {

namespace {
RankedTensorType typeOf(Value v) { return cast<RankedTensorType>(v.getType()); }
Type elementOf(Value v) { return typeOf(v).getElementType(); }
/// The result's cotangent, or failure if the single result got none.
Value g0(ArrayRef<Value> gs) { return gs.empty() ? Value() : gs.front(); }
/// d(result)/d(x) == f'(x) elementwise: push g * f'.
LogicalResult chain(NNBuilder &b, ArrayRef<Value> gs, SmallVectorImpl<Value> &out, Value dydx) {
  out.push_back(b.mul(g0(gs), dydx));
  return success();
}
/// A reduced gradient (shape without `axes`) broadcast back over `full`.
Value expandReduced(NNBuilder &b, Value g, RankedTensorType full, ArrayRef<int64_t> axes) {
  SmallVector<int64_t> kept(full.getShape());
  for (int64_t a : axes)
    kept[a] = 1;
  return b.broadcastTo(b.reshape(g, kept), full.getShape());
}
} // namespace

//===--- unary ------------------------------------------------------------===//

LogicalResult NegOp::vjp(NNBuilder &b, ArrayRef<Value> gs, SmallVectorImpl<Value> &out) {
  out.push_back(b.neg(g0(gs)));
  return success();
}
LogicalResult AbsOp::vjp(NNBuilder &b, ArrayRef<Value> gs, SmallVectorImpl<Value> &out) {
  // sign(x), 0 at 0.
  Value zero = b.scalar(0, elementOf(getX()));
  Value sign = b.sub(b.indicator(b.gt(getX(), zero), elementOf(getX())),
                     b.indicator(b.lt(getX(), zero), elementOf(getX())));
  return chain(b, gs, out, sign);
}
LogicalResult ExpOp::vjp(NNBuilder &b, ArrayRef<Value> gs, SmallVectorImpl<Value> &out) {
  return chain(b, gs, out, getResult());
}
LogicalResult LogOp::vjp(NNBuilder &b, ArrayRef<Value> gs, SmallVectorImpl<Value> &out) {
  out.push_back(b.div(g0(gs), getX()));
  return success();
}
LogicalResult SqrtOp::vjp(NNBuilder &b, ArrayRef<Value> gs, SmallVectorImpl<Value> &out) {
  out.push_back(b.div(g0(gs), b.mul(b.scalar(2, elementOf(getX())), getResult())));
  return success();
}
LogicalResult RsqrtOp::vjp(NNBuilder &b, ArrayRef<Value> gs, SmallVectorImpl<Value> &out) {
  Value y = getResult(); // d/dx x^-1/2 = -1/2 y^3
  return chain(b, gs, out, b.mul(b.scalar(-0.5, elementOf(y)), b.mul(y, b.mul(y, y))));
}
LogicalResult ErfOp::vjp(NNBuilder &b, ArrayRef<Value> gs, SmallVectorImpl<Value> &out) {
  Type t = elementOf(getX()); // 2/sqrt(pi) e^(-x^2)
  Value e = b.exp(b.neg(b.mul(getX(), getX())));
  return chain(b, gs, out, b.mul(b.scalar(2 / std::sqrt(M_PI), t), e));
}
LogicalResult TanhOp::vjp(NNBuilder &b, ArrayRef<Value> gs, SmallVectorImpl<Value> &out) {
  Value y = getResult();
  return chain(b, gs, out, b.sub(b.scalar(1, elementOf(y)), b.mul(y, y)));
}
LogicalResult SigmoidOp::vjp(NNBuilder &b, ArrayRef<Value> gs, SmallVectorImpl<Value> &out) {
  Value y = getResult();
  return chain(b, gs, out, b.mul(y, b.sub(b.scalar(1, elementOf(y)), y)));
}
LogicalResult ReluOp::vjp(NNBuilder &b, ArrayRef<Value> gs, SmallVectorImpl<Value> &out) {
  Value zero = b.scalar(0, elementOf(getX()));
  out.push_back(b.select(b.gt(getX(), zero), g0(gs), zero));
  return success();
}

//===--- binary (broadcasting) ----------------------------------------------===//

LogicalResult AddOp::vjp(NNBuilder &b, ArrayRef<Value> gs, SmallVectorImpl<Value> &out) {
  out.push_back(b.unbroadcast(g0(gs), getLhs().getType()));
  out.push_back(b.unbroadcast(g0(gs), getRhs().getType()));
  return success();
}
LogicalResult SubOp::vjp(NNBuilder &b, ArrayRef<Value> gs, SmallVectorImpl<Value> &out) {
  out.push_back(b.unbroadcast(g0(gs), getLhs().getType()));
  out.push_back(b.unbroadcast(b.neg(g0(gs)), getRhs().getType()));
  return success();
}
LogicalResult MulOp::vjp(NNBuilder &b, ArrayRef<Value> gs, SmallVectorImpl<Value> &out) {
  out.push_back(b.unbroadcast(b.mul(g0(gs), getRhs()), getLhs().getType()));
  out.push_back(b.unbroadcast(b.mul(g0(gs), getLhs()), getRhs().getType()));
  return success();
}
LogicalResult DivOp::vjp(NNBuilder &b, ArrayRef<Value> gs, SmallVectorImpl<Value> &out) {
  Value ga = b.div(g0(gs), getRhs());
  out.push_back(b.unbroadcast(ga, getLhs().getType()));
  out.push_back(b.unbroadcast(b.neg(b.mul(ga, getResult())), getRhs().getType()));
  return success();
}
LogicalResult MaxOp::vjp(NNBuilder &b, ArrayRef<Value> gs, SmallVectorImpl<Value> &out) {
  Type t = elementOf(getLhs()); // ties: 0 to both
  out.push_back(b.unbroadcast(b.mul(g0(gs), b.indicator(b.gt(getLhs(), getRhs()), t)), getLhs().getType()));
  out.push_back(b.unbroadcast(b.mul(g0(gs), b.indicator(b.gt(getRhs(), getLhs()), t)), getRhs().getType()));
  return success();
}
LogicalResult MinOp::vjp(NNBuilder &b, ArrayRef<Value> gs, SmallVectorImpl<Value> &out) {
  Type t = elementOf(getLhs());
  out.push_back(b.unbroadcast(b.mul(g0(gs), b.indicator(b.lt(getLhs(), getRhs()), t)), getLhs().getType()));
  out.push_back(b.unbroadcast(b.mul(g0(gs), b.indicator(b.lt(getRhs(), getLhs()), t)), getRhs().getType()));
  return success();
}
LogicalResult PowOp::vjp(NNBuilder &b, ArrayRef<Value> gs, SmallVectorImpl<Value> &out) {
  Type t = elementOf(getLhs());
  Value a = getLhs(), p = getRhs(), g = g0(gs);
  // d/da = p a^(p-1); d/dp = a^p ln a (taken as 0 where a <= 0).
  Value da = b.mul(g, b.mul(p, b.pow(a, b.sub(p, b.scalar(1, t)))));
  Value zero = b.scalar(0, t);
  Value positive = b.gt(a, zero);
  Value safeLog = b.log(b.select(positive, a, b.scalar(1, t)));
  Value dp = b.mul(g, b.select(positive, b.mul(getResult(), safeLog), zero));
  out.push_back(b.unbroadcast(da, cast<RankedTensorType>(a.getType())));
  out.push_back(b.unbroadcast(dp, cast<RankedTensorType>(p.getType())));
  return success();
}

//===--- matmul ---------------------------------------------------------===//

LogicalResult MatmulOp::vjp(NNBuilder &b, ArrayRef<Value> gs, SmallVectorImpl<Value> &out) {
  // C = op(A) op(B). d op(A) = g op(B)^T, d op(B) = op(A)^T g; a transposed
  // operand takes the transpose of that, written as one matmul each.
  Value g = g0(gs), A = getA(), B = getB();
  bool ta = getTransposeA(), tb = getTransposeB();
  Value dA = ta ? b.matmul(B, g, tb, true) : b.matmul(g, B, false, !tb);
  Value dB = tb ? b.matmul(g, A, true, ta) : b.matmul(A, g, !ta, false);
  out.push_back(b.unbroadcast(dA, getA().getType()));
  out.push_back(b.unbroadcast(dB, getB().getType()));
  return success();
}

//===--- reductions, softmax, normalization ---------------------------------===//

LogicalResult ReduceSumOp::vjp(NNBuilder &b, ArrayRef<Value> gs, SmallVectorImpl<Value> &out) {
  auto axes = normalizedAxes(getAxes(), getX().getType().getRank());
  out.push_back(expandReduced(b, g0(gs), getX().getType(), axes));
  return success();
}
LogicalResult ReduceMeanOp::vjp(NNBuilder &b, ArrayRef<Value> gs, SmallVectorImpl<Value> &out) {
  auto axes = normalizedAxes(getAxes(), getX().getType().getRank());
  int64_t n = 1;
  for (int64_t a : axes)
    n *= getX().getType().getDimSize(a);
  Value scaled = b.div(g0(gs), b.scalar(double(n), elementOf(getX())));
  out.push_back(expandReduced(b, scaled, getX().getType(), axes));
  return success();
}
LogicalResult ReduceMaxOp::vjp(NNBuilder &b, ArrayRef<Value> gs, SmallVectorImpl<Value> &out) {
  // Shared evenly among the maxima (as PyTorch's amax).
  auto axes = normalizedAxes(getAxes(), getX().getType().getRank());
  Type t = elementOf(getX());
  Value y = expandReduced(b, getResult(), getX().getType(), axes);
  Value mask = b.indicator(b.eq(getX(), y), t);
  Value count = expandReduced(b, b.reduceSum(mask, axes, false), getX().getType(), axes);
  out.push_back(b.div(b.mul(expandReduced(b, g0(gs), getX().getType(), axes), mask), count));
  return success();
}
LogicalResult SoftmaxOp::vjp(NNBuilder &b, ArrayRef<Value> gs, SmallVectorImpl<Value> &out) {
  Value y = getResult(), g = g0(gs);
  int64_t axis = getAxisAttr().getInt();
  Value dot = b.reduceSum(b.mul(g, y), {axis}, /*keepdims=*/true);
  out.push_back(b.mul(y, b.sub(g, dot)));
  return success();
}
LogicalResult LogSoftmaxOp::vjp(NNBuilder &b, ArrayRef<Value> gs, SmallVectorImpl<Value> &out) {
  Value g = g0(gs);
  Value sum = b.reduceSum(g, {getAxisAttr().getInt()}, /*keepdims=*/true);
  out.push_back(b.sub(g, b.mul(b.exp(getResult()), sum)));
  return success();
}
LogicalResult AttentionOp::vjp(NNBuilder &b, ArrayRef<Value> gs, SmallVectorImpl<Value> &out) {
  // dq, dk, dv by nn.attention_backward (flash attention's backward pass
  // where the scores are big); a bias's gradient, the scores' cotangent
  // summed to its shape, from the composite: where the bias needs none,
  // dead-code elimination removes it, [Lq, Lk] scores and all.
  auto backward = b.builder().create<AttentionBackwardOp>(b.location(), getQ(), getK(), getV(), getMask(),
                                                          getBias(), getResult(), g0(gs), getCausalAttr(),
                                                          getScaleAttr());
  out.append({backward.getDq(), backward.getDk(), backward.getDv()});
  if (getMask())
    out.push_back(Value());
  if (getBias())
    out.push_back(b.unbroadcast(attentionGradientsComposite(b, AttentionParts::of(*this), g0(gs)).scores,
                                typeOf(getBias())));
  return success();
}
LogicalResult Conv2dOp::vjp(NNBuilder &b, ArrayRef<Value> gs, SmallVectorImpl<Value> &out) {
  // dx: the cotangent spread back over the windows (the transposed
  // convolution); dw: the windows of x times the cotangent, summed.
  RankedTensorType x = typeOf(getX()), w = typeOf(getW());
  OpBuilder &ob = b.builder();
  out.push_back(ob.create<Conv2dBackwardInputOp>(
      b.location(), g0(gs), getW(), ob.getDenseI64ArrayAttr({x.getDimSize(2), x.getDimSize(3)}), getStridesAttr(),
      getPaddingAttr(), getDilationsAttr(), getGroupsAttr()));
  out.push_back(ob.create<Conv2dBackwardWeightOp>(
      b.location(), getX(), g0(gs), ob.getDenseI64ArrayAttr({w.getDimSize(2), w.getDimSize(3)}), getStridesAttr(),
      getPaddingAttr(), getDilationsAttr(), getGroupsAttr()));
  return success();
}
LogicalResult MaxPool2dOp::vjp(NNBuilder &b, ArrayRef<Value> gs, SmallVectorImpl<Value> &out) {
  // Each window's cotangent to its first maximum.
  out.push_back(b.builder().create<MaxPool2dBackwardOp>(b.location(), getX(), g0(gs), getKernelAttr(),
                                                        getStridesAttr(), getPaddingAttr()));
  return success();
}
LogicalResult AvgPool2dOp::vjp(NNBuilder &b, ArrayRef<Value> gs, SmallVectorImpl<Value> &out) {
  // Each window's cotangent over its count, to every position it averaged.
  RankedTensorType x = typeOf(getX());
  OpBuilder &ob = b.builder();
  out.push_back(ob.create<AvgPool2dBackwardOp>(b.location(), g0(gs),
                                               ob.getDenseI64ArrayAttr({x.getDimSize(2), x.getDimSize(3)}),
                                               getKernelAttr(), getStridesAttr(), getPaddingAttr(),
                                               getCountIncludePadAttr()));
  return success();
}
LogicalResult BatchNormOp::vjp(NNBuilder &b, ArrayRef<Value> gs, SmallVectorImpl<Value> &out) {
  // The running statistics (results 1 and 2, operands 3 and 4) are state:
  // only the first result's cotangent flows, to x, gamma and beta
  // (ir/BatchNormComposite.cpp).
  Value g = g0(gs) ? g0(gs) : b.zerosLike(getResult());
  BatchNormGradients d = batchNormGradientsComposite(b, *this, g);
  out.append({d.x, d.gamma, d.beta, Value(), Value()});
  return success();
}
LogicalResult LayerNormOp::vjp(NNBuilder &b, ArrayRef<Value> gs, SmallVectorImpl<Value> &out) {
  // xhat = (x - mean) rstd; dy = g gamma;
  // dx = rstd (dy - mean(dy) - xhat mean(dy xhat)); dgamma = sum(g xhat); dbeta = sum(g).
  Value x = getX(), g = g0(gs);
  Type t = elementOf(x);
  auto axes = normalizedAxes(getAxes(), typeOf(x).getRank());
  Value mean = b.reduceMean(x, axes, true);
  Value centered = b.sub(x, mean);
  Value var = b.reduceMean(b.mul(centered, centered), axes, true);
  Value rstd = b.div(b.scalar(1, t), b.sqrt(b.add(var, b.scalar(getEps().convertToDouble(), t))));
  Value xhat = b.mul(centered, rstd);
  Value dy = getGamma() ? b.mul(g, getGamma()) : g;
  Value dx = b.mul(rstd, b.sub(b.sub(dy, b.reduceMean(dy, axes, true)),
                               b.mul(xhat, b.reduceMean(b.mul(dy, xhat), axes, true))));
  out.push_back(dx);
  if (getGamma())
    out.push_back(b.unbroadcast(b.mul(g, xhat), typeOf(getGamma())));
  if (getBeta())
    out.push_back(b.unbroadcast(g, typeOf(getBeta())));
  return success();
}
LogicalResult DropoutOp::vjp(NNBuilder &b, ArrayRef<Value> gs, SmallVectorImpl<Value> &out) {
  // Linear in x with a fixed mask: the same dropout of the cotangent.
  out.push_back(b.builder().create<DropoutOp>(b.location(), g0(gs).getType(), g0(gs), getStep(), getRateAttr(),
                                              getSeedAttr()));
  out.push_back(Value()); // step
  return success();
}
LogicalResult GeluOp::vjp(NNBuilder &b, ArrayRef<Value> gs, SmallVectorImpl<Value> &out) {
  Value x = getX();
  Type t = elementOf(x);
  Value half = b.scalar(0.5, t), one = b.scalar(1, t);
  if (getApproximate() == "tanh") {
    // y = x/2 (1 + tanh u), u = k (x + c x^3): y' = (1 + tanh u)/2 + x/2 (1 - tanh^2 u) k (1 + 3c x^2)
    Value k = b.scalar(std::sqrt(2 / M_PI), t), c = b.scalar(0.044715, t);
    Value x2 = b.mul(x, x);
    Value th = b.tanh(b.mul(k, b.add(x, b.mul(c, b.mul(x2, x)))));
    Value du = b.mul(k, b.add(one, b.mul(b.scalar(3 * 0.044715, t), x2)));
    Value d = b.add(b.mul(half, b.add(one, th)),
                    b.mul(b.mul(half, x), b.mul(b.sub(one, b.mul(th, th)), du)));
    return chain(b, gs, out, d);
  }
  // y = x Phi(x): y' = Phi(x) + x phi(x).
  Value cdf = b.mul(half, b.add(one, b.builder().create<ErfOp>(
                                         b.location(), b.mul(x, b.scalar(M_SQRT1_2, t)))));
  Value pdf = b.mul(b.scalar(1 / std::sqrt(2 * M_PI), t), b.exp(b.mul(b.scalar(-0.5, t), b.mul(x, x))));
  return chain(b, gs, out, b.add(cdf, b.mul(x, pdf)));
}

//===--- indexing and shapes ---------------------------------------------------===//

LogicalResult GatherOp::vjp(NNBuilder &b, ArrayRef<Value> gs, SmallVectorImpl<Value> &out) {
  out.push_back(b.scatterAdd(g0(gs), getIndices(), getTable().getType()));
  out.push_back(Value()); // indices
  return success();
}
LogicalResult ScatterAddOp::vjp(NNBuilder &b, ArrayRef<Value> gs, SmallVectorImpl<Value> &out) {
  auto t = inferGather(std::nullopt, typeOf(g0(gs)), getIndices().getType());
  out.push_back(b.builder().create<GatherOp>(b.location(), *t, g0(gs), getIndices()));
  out.push_back(Value());
  return success();
}
LogicalResult ConcatOp::vjp(NNBuilder &b, ArrayRef<Value> gs, SmallVectorImpl<Value> &out) {
  RankedTensorType type = getType();
  int64_t rank = type.getRank(), axis = getAxisAttr().getInt();
  axis = axis < 0 ? axis + rank : axis;
  int64_t offset = 0;
  for (Value in : getInputs()) {
    SmallVector<int64_t> starts(rank, 0), stops(type.getShape()), steps(rank, 1);
    starts[axis] = offset;
    offset += typeOf(in).getDimSize(axis);
    stops[axis] = offset;
    out.push_back(b.slice(g0(gs), starts, stops, steps));
  }
  return success();
}
LogicalResult SliceOp::vjp(NNBuilder &b, ArrayRef<Value> gs, SmallVectorImpl<Value> &out) {
  out.push_back(b.sliceScatter(g0(gs), getX().getType(), getStarts(), getStops(), getSteps()));
  return success();
}
LogicalResult SliceScatterOp::vjp(NNBuilder &b, ArrayRef<Value> gs, SmallVectorImpl<Value> &out) {
  out.push_back(b.slice(g0(gs), getStarts(), getStops(), getSteps()));
  return success();
}
LogicalResult ReshapeOp::vjp(NNBuilder &b, ArrayRef<Value> gs, SmallVectorImpl<Value> &out) {
  out.push_back(b.reshape(g0(gs), getX().getType().getShape()));
  return success();
}
LogicalResult TransposeOp::vjp(NNBuilder &b, ArrayRef<Value> gs, SmallVectorImpl<Value> &out) {
  int64_t rank = getPerm().size();
  SmallVector<int64_t> inverse(rank);
  for (int64_t i = 0; i < rank; ++i) {
    int64_t p = getPerm()[i] < 0 ? getPerm()[i] + rank : getPerm()[i];
    inverse[p] = i;
  }
  out.push_back(b.transpose(g0(gs), inverse));
  return success();
}
LogicalResult BroadcastToOp::vjp(NNBuilder &b, ArrayRef<Value> gs, SmallVectorImpl<Value> &out) {
  out.push_back(isa<FloatType>(elementOf(getX())) ? b.unbroadcast(g0(gs), getX().getType()) : Value());
  return success();
}
LogicalResult SelectOp::vjp(NNBuilder &b, ArrayRef<Value> gs, SmallVectorImpl<Value> &out) {
  out.push_back(Value()); // the condition
  if (!isa<FloatType>(elementOf(getA()))) {
    out.append({Value(), Value()});
    return success();
  }
  Value zero = b.scalar(0, elementOf(getA()));
  out.push_back(b.unbroadcast(b.select(getCond(), g0(gs), zero), typeOf(getA())));
  out.push_back(b.unbroadcast(b.select(getCond(), zero, g0(gs)), typeOf(getB())));
  return success();
}
LogicalResult CastOp::vjp(NNBuilder &b, ArrayRef<Value> gs, SmallVectorImpl<Value> &out) {
  bool floats = isa<FloatType>(elementOf(getX())) && isa<FloatType>(getType().getElementType());
  out.push_back(floats ? b.cast(g0(gs), elementOf(getX())) : Value());
  return success();
}
LogicalResult StopGradientOp::vjp(NNBuilder &, ArrayRef<Value>, SmallVectorImpl<Value> &out) {
  out.push_back(Value());
  return success();
}

//===--- losses ----------------------------------------------------------===//

LogicalResult L1LossOp::vjp(NNBuilder &b, ArrayRef<Value> gs, SmallVectorImpl<Value> &out) {
  Type t = elementOf(getPrediction());
  Value d = b.sub(getPrediction(), getLabel());
  Value zero = b.scalar(0, t);
  Value sign = b.sub(b.indicator(b.gt(d, zero), t), b.indicator(b.lt(d, zero), t));
  double n = double(getPrediction().getType().getNumElements());
  Value dp = b.mul(b.div(g0(gs), b.scalar(n, t)), sign);
  out.push_back(dp);
  out.push_back(b.neg(dp));
  return success();
}
LogicalResult MseLossOp::vjp(NNBuilder &b, ArrayRef<Value> gs, SmallVectorImpl<Value> &out) {
  Type t = elementOf(getPrediction());
  double n = double(getPrediction().getType().getNumElements());
  Value d = b.sub(getPrediction(), getLabel());
  Value dp = b.mul(b.mul(g0(gs), b.scalar(2 / n, t)), d);
  out.push_back(dp);
  out.push_back(b.neg(dp));
  return success();
}
LogicalResult CrossEntropyOp::vjp(NNBuilder &b, ArrayRef<Value> gs, SmallVectorImpl<Value> &out) {
  // (softmax(logits) - onehot(labels)) g / positions.
  Value logits = getLogits();
  RankedTensorType lt = typeOf(logits);
  Type t = lt.getElementType();
  int64_t rank = lt.getRank();
  SmallVector<int64_t> labelShape(lt.getShape().drop_back());
  labelShape.push_back(1);
  Value labels = b.reshape(getLabels(), labelShape);
  Value classes = b.iota(RankedTensorType::get(lt.getShape(), elementOf(getLabels())), rank - 1);
  Value onehot = b.indicator(b.eq(classes, labels), t);
  double positions = double(lt.getNumElements() / std::max<int64_t>(lt.getDimSize(rank - 1), 1));
  Value scale = b.div(g0(gs), b.scalar(positions, t));
  out.push_back(b.mul(b.sub(b.softmax(logits, rank - 1), onehot), scale));
  out.push_back(Value());
  return success();
}

// nn.scan's gradient needs reverse mode over its body, which lives in the
// autodiff pass: reverseMode builds it (passes/autodiff/ScanGradient.cpp)
// and never asks this rule.
LogicalResult ScanOp::vjp(NNBuilder &, ArrayRef<Value>, SmallVectorImpl<Value> &) {
  return emitError("internal error: nn.scan's gradient is built by the autodiff pass "
                   "(passes/autodiff/ScanGradient.cpp), not by its op's rule");
}

} // namespace kiln::nn
