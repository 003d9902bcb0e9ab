//===- NNBuilder.cpp - build nn ops with inferred types ------------------===//
#include "ir/NNBuilder.h"
#include "ir/Dialect.h"
#include "ir/ShapeRules.h"

#include "llvm/Support/ErrorHandling.h"

using namespace mlir;

namespace kiln::nn {

/// The shape rule's type, or a fatal error: a rule failing here is a bug in
/// a gradient or training-step builder, not bad user input.
static RankedTensorType must(FailureOr<RankedTensorType> type, StringRef what) {
  if (failed(type))
    llvm::report_fatal_error(llvm::Twine("kiln: internal error: ill-shaped ") + what +
                             " while building gradient IR");
  return *type;
}

Value NNBuilder::scalar(double value, Type elementType) {
  return splat(value, RankedTensorType::get({}, elementType));
}

Value NNBuilder::splat(double value, RankedTensorType type) {
  Attribute element = isa<FloatType>(type.getElementType())
                          ? Attribute(b.getFloatAttr(type.getElementType(), value))
                          : Attribute(b.getIntegerAttr(type.getElementType(), int64_t(value)));
  return b.create<ConstantOp>(loc, DenseElementsAttr::get(type, element));
}

// Binary ops and comparisons differ only in their result-type rule.
#define KILN_BINARY(Name, OpT, infer)                                                          \
  Value NNBuilder::Name(Value x, Value y) {                                                    \
    auto t = must(infer(std::nullopt, OpT::getOperationName(), typeOf(x), typeOf(y)),          \
                  OpT::getOperationName());                                                    \
    return b.create<OpT>(loc, t, x, y);                                                        \
  }
KILN_BINARY(add, AddOp, inferBroadcast)
KILN_BINARY(sub, SubOp, inferBroadcast)
KILN_BINARY(mul, MulOp, inferBroadcast)
KILN_BINARY(div, DivOp, inferBroadcast)
KILN_BINARY(pow, PowOp, inferBroadcast)
KILN_BINARY(gt, GtOp, inferCompare)
KILN_BINARY(lt, LtOp, inferCompare)
KILN_BINARY(eq, EqOp, inferCompare)
#undef KILN_BINARY

Value NNBuilder::neg(Value x) { return b.create<NegOp>(loc, x); }
Value NNBuilder::exp(Value x) { return b.create<ExpOp>(loc, x); }
Value NNBuilder::log(Value x) { return b.create<LogOp>(loc, x); }
Value NNBuilder::sqrt(Value x) { return b.create<SqrtOp>(loc, x); }
Value NNBuilder::tanh(Value x) { return b.create<TanhOp>(loc, x); }

Value NNBuilder::select(Value cond, Value x, Value y) {
  auto t = must(inferSelect(std::nullopt, typeOf(cond), typeOf(x), typeOf(y)), "nn.select");
  return b.create<SelectOp>(loc, t, cond, x, y);
}

Value NNBuilder::indicator(Value cond, Type elementType) { return cast(cond, elementType); }

Value NNBuilder::cast(Value x, Type elementType) {
  if (typeOf(x).getElementType() == elementType)
    return x;
  return b.create<CastOp>(loc, RankedTensorType::get(typeOf(x).getShape(), elementType), x);
}

Value NNBuilder::matmul(Value x, Value y, bool ta, bool tb) {
  auto t = must(inferMatmul(std::nullopt, typeOf(x), typeOf(y), ta, tb), "nn.matmul");
  return b.create<MatmulOp>(loc, t, x, y, ta ? b.getUnitAttr() : UnitAttr(),
                            tb ? b.getUnitAttr() : UnitAttr());
}

Value NNBuilder::reduceSum(Value x, ArrayRef<int64_t> axes, bool keepdims) {
  auto t = must(inferReduce(std::nullopt, "nn.reduce_sum", typeOf(x), axes, keepdims),
                "nn.reduce_sum");
  return b.create<ReduceSumOp>(loc, t, x, b.getDenseI64ArrayAttr(axes),
                               keepdims ? b.getUnitAttr() : UnitAttr());
}

Value NNBuilder::reduceMean(Value x, ArrayRef<int64_t> axes, bool keepdims) {
  auto t = must(inferReduce(std::nullopt, "nn.reduce_mean", typeOf(x), axes, keepdims),
                "nn.reduce_mean");
  return b.create<ReduceMeanOp>(loc, t, x, b.getDenseI64ArrayAttr(axes),
                                keepdims ? b.getUnitAttr() : UnitAttr());
}

Value NNBuilder::reshape(Value x, ArrayRef<int64_t> shape) {
  auto t = RankedTensorType::get(shape, typeOf(x).getElementType());
  if (t == typeOf(x))
    return x;
  return b.create<ReshapeOp>(loc, t, x);
}

Value NNBuilder::transpose(Value x, ArrayRef<int64_t> perm) {
  auto t = must(inferTranspose(std::nullopt, typeOf(x), perm), "nn.transpose");
  return b.create<TransposeOp>(loc, t, x, b.getDenseI64ArrayAttr(perm));
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
  auto t = must(inferSlice(std::nullopt, typeOf(x), starts, stops, steps), "nn.slice");
  return b.create<SliceOp>(loc, t, x, b.getDenseI64ArrayAttr(starts), b.getDenseI64ArrayAttr(stops),
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
