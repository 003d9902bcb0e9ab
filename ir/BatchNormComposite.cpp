//===- BatchNormComposite.cpp - nn.batch_norm spelled with other nn ops --===//
#include "ir/BatchNormComposite.h"

using namespace mlir;

namespace kiln::nn {

namespace {

/// The axes statistics run over: all but the channels.
SmallVector<int64_t> statisticAxes(int64_t rank) {
  SmallVector<int64_t> axes{0};
  for (int64_t d = 2; d < rank; ++d)
    axes.push_back(d);
  return axes;
}

/// A per-channel value [C] as [C, 1, ..., 1]: it broadcasts against x.
Value perChannel(NNBuilder &b, Value v, int64_t rank) {
  SmallVector<int64_t> shape{NNBuilder::typeOf(v).getDimSize(0)};
  shape.append(rank - 2, 1);
  return b.reshape(v, shape);
}

/// The mean and (biased) variance normalising x, each [C], and the number
/// of values per channel.
struct Statistics {
  Value mean, variance;
  int64_t count;
};
Statistics statisticsOf(NNBuilder &b, BatchNormOp op) {
  RankedTensorType x = NNBuilder::typeOf(op.getX());
  int64_t count = x.getNumElements() / std::max<int64_t>(x.getDimSize(1), 1);
  if (!op.getTraining())
    return {op.getMean(), op.getVariance(), count};
  SmallVector<int64_t> axes = statisticAxes(x.getRank());
  Value mean = b.reduceMean(op.getX(), axes, /*keepdims=*/false);
  Value centered = b.sub(op.getX(), perChannel(b, mean, x.getRank()));
  return {mean, b.reduceMean(b.mul(centered, centered), axes, false), count};
}

/// 1 / sqrt(variance + eps) and x normalised with it.
std::pair<Value, Value> normalised(NNBuilder &b, BatchNormOp op, const Statistics &s) {
  RankedTensorType x = NNBuilder::typeOf(op.getX());
  Type t = x.getElementType();
  Value rstd = b.div(b.scalar(1, t), b.sqrt(b.add(s.variance, b.scalar(op.getEps().convertToDouble(), t))));
  Value xhat = b.mul(b.sub(op.getX(), perChannel(b, s.mean, x.getRank())), perChannel(b, rstd, x.getRank()));
  return {rstd, xhat};
}

} // namespace

BatchNormResults batchNormComposite(NNBuilder &b, BatchNormOp op) {
  RankedTensorType x = NNBuilder::typeOf(op.getX());
  Type t = x.getElementType();
  int64_t rank = x.getRank();
  Statistics s = statisticsOf(b, op);
  Value xhat = normalised(b, op, s).second;
  Value y = b.add(b.mul(xhat, perChannel(b, op.getGamma(), rank)), perChannel(b, op.getBeta(), rank));
  if (!op.getTraining())
    return {y, op.getMean(), op.getVariance()};
  // Running averages (PyTorch's): the variance's is the unbiased one.
  double momentum = op.getMomentum().convertToDouble();
  Value keep = b.scalar(1 - momentum, t), take = b.scalar(momentum, t);
  double unbias = s.count > 1 ? double(s.count) / double(s.count - 1) : 1.0;
  Value newMean = b.add(b.mul(keep, op.getMean()), b.mul(take, s.mean));
  Value newVariance = b.add(b.mul(keep, op.getVariance()), b.mul(take, b.mul(s.variance, b.scalar(unbias, t))));
  return {y, newMean, newVariance};
}

BatchNormGradients batchNormGradientsComposite(NNBuilder &b, BatchNormOp op, Value g) {
  RankedTensorType x = NNBuilder::typeOf(op.getX());
  int64_t rank = x.getRank();
  SmallVector<int64_t> axes = statisticAxes(rank);
  Statistics s = statisticsOf(b, op);
  auto [rstd, xhat] = normalised(b, op, s);
  Value dy = b.mul(g, perChannel(b, op.getGamma(), rank));
  Value dx;
  if (op.getTraining()) {
    // The batch's statistics depend on x: dx = rstd (dy - mean(dy) - xhat mean(dy xhat)).
    Value meanDy = b.reduceMean(dy, axes, true), meanDyXhat = b.reduceMean(b.mul(dy, xhat), axes, true);
    dx = b.mul(perChannel(b, rstd, rank), b.sub(b.sub(dy, meanDy), b.mul(xhat, meanDyXhat)));
  } else {
    dx = b.mul(dy, perChannel(b, rstd, rank)); // stored statistics: an affine map of x
  }
  return {dx, b.reduceSum(b.mul(g, xhat), axes, false), b.reduceSum(g, axes, false)};
}

} // namespace kiln::nn
