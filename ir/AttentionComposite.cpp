//===- AttentionComposite.cpp - nn.attention spelled with other nn ops ---===//
#include "ir/AttentionComposite.h"

#include <limits>

using namespace mlir;

namespace kiln::nn {

Value attentionProbabilities(NNBuilder &b, AttentionOp op) {
  RankedTensorType q = op.getQ().getType(), k = op.getK().getType();
  Type element = q.getElementType();
  int64_t rank = q.getRank(), lq = q.getDimSize(rank - 2), lk = k.getDimSize(rank - 2);
  Value minusInf = b.scalar(-std::numeric_limits<double>::infinity(), element);

  Value scores = b.mul(b.matmul(op.getQ(), op.getK(), false, true), b.scalar(op.getScaleValue(), element));
  if (op.getBias())
    scores = b.add(scores, op.getBias());
  if (op.getCausal()) {
    // Key j takes part for query i when j <= i + (Lk - Lq), i.e. i + (Lk - Lq + 1) > j
    // (indices as floats: exact below 2^24, far beyond any L kiln compiles).
    auto indexType = RankedTensorType::get({lq, lk}, element);
    Value shifted = b.add(b.iota(indexType, 0), b.scalar(double(lk - lq + 1), element));
    scores = b.select(b.gt(shifted, b.iota(indexType, 1)), scores, minusInf);
  }
  if (op.getMask())
    scores = b.select(op.getMask(), scores, minusInf);

  // Softmax over the keys; a row that is -inf throughout has its max taken
  // as 0, so its exponentials are 0 (not NaN), and its sum 0 is divided as 1.
  Value top = b.reduceMax(scores, {rank - 1}, /*keepdims=*/true);
  Value zero = b.scalar(0, element), one = b.scalar(1, element);
  top = b.select(b.eq(top, minusInf), zero, top);
  Value e = b.exp(b.sub(scores, top));
  Value sum = b.reduceSum(e, {rank - 1}, /*keepdims=*/true);
  return b.div(e, b.select(b.eq(sum, zero), one, sum));
}

Value attentionComposite(NNBuilder &b, AttentionOp op) {
  return b.matmul(attentionProbabilities(b, op), op.getV(), false, false);
}

} // namespace kiln::nn
