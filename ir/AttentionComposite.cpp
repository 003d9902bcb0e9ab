//===- AttentionComposite.cpp - nn.attention spelled with other nn ops ---===//
#include "ir/AttentionComposite.h"

#include <limits>

using namespace mlir;

namespace kiln::nn {

AttentionParts AttentionParts::of(AttentionOp op) {
  return {op.getQ(), op.getK(), op.getV(), op.getMask(), op.getBias(), op.getCausal(), op.getScaleValue()};
}

AttentionParts AttentionParts::of(AttentionBackwardOp op) {
  return {op.getQ(), op.getK(), op.getV(), op.getMask(), op.getBias(), op.getCausal(), op.getScaleValue()};
}

Value attentionProbabilities(NNBuilder &b, const AttentionParts &a) {
  auto q = cast<RankedTensorType>(a.q.getType()), k = cast<RankedTensorType>(a.k.getType());
  Type element = q.getElementType();
  int64_t rank = q.getRank(), lq = q.getDimSize(rank - 2), lk = k.getDimSize(rank - 2);
  Value minusInf = b.scalar(-std::numeric_limits<double>::infinity(), element);

  Value scores = b.mul(b.matmul(a.q, a.k, false, true), b.scalar(a.scale, element));
  if (a.bias)
    scores = b.add(scores, a.bias);
  if (a.causal) {
    // Key j takes part for query i when j <= i + (Lk - Lq), i.e. i + (Lk - Lq + 1) > j
    // (indices as floats: exact below 2^24, far beyond any L kiln compiles).
    auto indexType = RankedTensorType::get({lq, lk}, element);
    Value shifted = b.add(b.iota(indexType, 0), b.scalar(double(lk - lq + 1), element));
    scores = b.select(b.gt(shifted, b.iota(indexType, 1)), scores, minusInf);
  }
  if (a.mask)
    scores = b.select(a.mask, scores, minusInf);

  // Softmax over the keys; a row that is -inf throughout has its max taken
  // as 0, so its exponentials are 0 (not NaN), and its sum 0 is divided as 1.
  Value top = b.reduceMax(scores, {rank - 1}, /*keepdims=*/true);
  Value zero = b.scalar(0, element), one = b.scalar(1, element);
  top = b.select(b.eq(top, minusInf), zero, top);
  Value e = b.exp(b.sub(scores, top));
  Value sum = b.reduceSum(e, {rank - 1}, /*keepdims=*/true);
  return b.div(e, b.select(b.eq(sum, zero), one, sum));
}

Value attentionComposite(NNBuilder &b, const AttentionParts &a) {
  return b.matmul(attentionProbabilities(b, a), a.v, false, false);
}

AttentionGradients attentionGradientsComposite(NNBuilder &b, const AttentionParts &a, Value grad) {
  // With P the probabilities: dV = P^T g, dP = g V^T, dS = P (dP - rowsum(dP P)),
  // dQ = scale dS K, dK = scale dS^T Q.
  Value p = attentionProbabilities(b, a);
  int64_t last = cast<RankedTensorType>(p.getType()).getRank() - 1;
  Value dp = b.matmul(grad, a.v, false, true);
  Value ds = b.mul(p, b.sub(dp, b.reduceSum(b.mul(dp, p), {last}, true)));
  Value scale = b.scalar(a.scale, cast<RankedTensorType>(a.q.getType()).getElementType());
  return {b.mul(b.matmul(ds, a.k, false, false), scale), b.mul(b.matmul(ds, a.q, true, false), scale),
          b.matmul(p, grad, true, false), ds};
}

} // namespace kiln::nn
