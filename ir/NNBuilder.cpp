//===- NNBuilder.cpp - build nn ops with inferred types ------------------===//
#include "ir/NNBuilder.h"
#include "ir/Dialect.h"
#include "ir/ShapeRules.h"


using namespace mlir;

namespace kiln::nn {

Value NNBuilder::scalar(double value, Type elementType) {
  return splat(value, RankedTensorType::get({}, elementType));
}

Value NNBuilder::splat(double value, RankedTensorType type) {
  Attribute element = isa<FloatType>(type.getElementType())
                          ? Attribute(b.getFloatAttr(type.getElementType(), value))
                          : Attribute(b.getIntegerAttr(type.getElementType(), int64_t(value)));
  return b.create<ConstantOp>(loc, DenseElementsAttr::get(type, element));
}

// Result types come from each op's own rule (InferTypeOpInterface): the
// builders without a result type infer it. A rule failing here is a bug in
// a gradient or training-step builder (MLIR stops with "Failed to infer
// result type(s)" after the rule's message), not bad user input.
Value NNBuilder::add(Value x, Value y) { return b.create<AddOp>(loc, x, y); }
Value NNBuilder::sub(Value x, Value y) { return b.create<SubOp>(loc, x, y); }
Value NNBuilder::mul(Value x, Value y) { return b.create<MulOp>(loc, x, y); }
Value NNBuilder::div(Value x, Value y) { return b.create<DivOp>(loc, x, y); }
Value NNBuilder::pow(Value x, Value y) { return b.create<PowOp>(loc, x, y); }
Value NNBuilder::gt(Value x, Value y) { return b.create<GtOp>(loc, x, y); }
Value NNBuilder::lt(Value x, Value y) { return b.create<LtOp>(loc, x, y); }
Value NNBuilder::eq(Value x, Value y) { return b.create<EqOp>(loc, x, y); }

Value NNBuilder::neg(Value x) { return b.create<NegOp>(loc, x); }
Value NNBuilder::exp(Value x) { return b.create<ExpOp>(loc, x); }
Value NNBuilder::log(Value x) { return b.create<LogOp>(loc, x); }
Value NNBuilder::sqrt(Value x) { return b.create<SqrtOp>(loc, x); }
Value NNBuilder::tanh(Value x) { return b.create<TanhOp>(loc, x); }

Value NNBuilder::select(Value cond, Value x, Value y) {
  return b.create<SelectOp>(loc, cond, x, y);
}

Value NNBuilder::indicator(Value cond, Type elementType) { return cast(cond, elementType); }

Value NNBuilder::cast(Value x, Type elementType) {
  if (typeOf(x).getElementType() == elementType)
    return x;
  return b.create<CastOp>(loc, RankedTensorType::get(typeOf(x).getShape(), elementType), x);
}

Value NNBuilder::matmul(Value x, Value y, bool ta, bool tb) {
  return b.create<MatmulOp>(loc, x, y, ta ? b.getUnitAttr() : UnitAttr(),
                            tb ? b.getUnitAttr() : UnitAttr());
}

Value NNBuilder::reduceSum(Value x, ArrayRef<int64_t> axes, bool keepdims) {
  return b.create<ReduceSumOp>(loc, x, b.getDenseI64ArrayAttr(axes),
                               keepdims ? b.getUnitAttr() : UnitAttr());
}

Value NNBuilder::reduceMean(Value x, ArrayRef<int64_t> axes, bool keepdims) {
  return b.create<ReduceMeanOp>(loc, x, b.getDenseI64ArrayAttr(axes),
                                keepdims ? b.getUnitAttr() : UnitAttr());
}

Value NNBuilder::reduceMax(Value x, ArrayRef<int64_t> axes, bool keepdims) {
  return b.create<ReduceMaxOp>(loc, x, b.getDenseI64ArrayAttr(axes),
                               keepdims ? b.getUnitAttr() : UnitAttr());
}

Value NNBuilder::reshape(Value x, ArrayRef<int64_t> shape) {
  auto t = RankedTensorType::get(shape, typeOf(x).getElementType());
  if (t == typeOf(x))
    return x;
  return b.create<ReshapeOp>(loc, t, x);
}

Value NNBuilder::transpose(Value x, ArrayRef<int64_t> perm) {
  return b.create<TransposeOp>(loc, x, b.getDenseI64ArrayAttr(perm));
}

Value NNBuilder::broadcastTo(Value x, ArrayRef<int64_t> shape) {
  auto t = RankedTensorType::get(shape, typeOf(x).getElementType());
  if (t == typeOf(x))
    return x;
  return b.create<BroadcastToOp>(loc, t, x);
}

Value NNBuilder::softmax(Value x, int64_t axis) {
  return b.create<SoftmaxOp>(loc, typeOf(x), x, b.getI64IntegerAttr(axis));
}

Value NNBuilder::slice(Value x, ArrayRef<int64_t> starts, ArrayRef<int64_t> stops,
                       ArrayRef<int64_t> steps) {
  return b.create<SliceOp>(loc, x, b.getDenseI64ArrayAttr(starts), b.getDenseI64ArrayAttr(stops),
                           b.getDenseI64ArrayAttr(steps));
}

Value NNBuilder::sliceScatter(Value src, RankedTensorType type, ArrayRef<int64_t> starts,
                              ArrayRef<int64_t> stops, ArrayRef<int64_t> steps) {
  return b.create<SliceScatterOp>(loc, type, src, b.getDenseI64ArrayAttr(starts),
                                  b.getDenseI64ArrayAttr(stops), b.getDenseI64ArrayAttr(steps));
}

Value NNBuilder::scatterAdd(Value updates, Value indices, RankedTensorType type) {
  return b.create<ScatterAddOp>(loc, type, updates, indices);
}

Value NNBuilder::iota(RankedTensorType type, int64_t axis) {
  return b.create<IotaOp>(loc, type, b.getI64IntegerAttr(axis));
}

Value NNBuilder::unbroadcast(Value grad, RankedTensorType target) {
  RankedTensorType g = typeOf(grad);
  if (g.getShape() == target.getShape())
    return grad;
  int64_t lead = g.getRank() - target.getRank();
  SmallVector<int64_t> axes;
  for (int64_t i = 0; i < g.getRank(); ++i)
    if (i < lead || (target.getDimSize(i - lead) == 1 && g.getDimSize(i) != 1))
      axes.push_back(i);
  Value summed = axes.empty() ? grad : reduceSum(grad, axes, /*keepdims=*/true);
  return reshape(summed, target.getShape());
}

} // namespace kiln::nn
