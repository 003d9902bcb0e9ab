//===- NNToLinalg.cpp - nn ops to linalg/tensor/arith/math on tensors ----===//
//
// One pattern per nn op (find it by the op's name below). Each writes into a
// destination tensor it creates (`tensor.empty`, filled with the neutral
// value for reductions), so bufferization can later place every result in a
// caller-given or planned buffer. Broadcasting is expressed in indexing maps
// (size-1 dimensions read at index 0), so a broadcast operand is never
// materialised.
//
//===----------------------------------------------------------------------===//
#include "ir/BatchNormComposite.h"
#include "ir/Dialect.h"
#include "ir/DropoutHash.h"
#include "ir/ShapeRules.h"
#include "passes/Passes.h"
#include "passes/fusion/SourceOps.h"
#include "passes/lowering/ConvolutionToLinalg.h"
#include "passes/lowering/ScanToLoop.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Transforms/DialectConversion.h"

namespace kiln {
#define GEN_PASS_DEF_LOWERNNTOLINALG
#include "passes/Passes.h.inc"
} // namespace kiln

using namespace mlir;
using namespace kiln::nn;

namespace {

using BodyFn = function_ref<Value(OpBuilder &, Location, ValueRange)>;

RankedTensorType tensorOf(Value v) { return cast<RankedTensorType>(v.getType()); }

Value floatConst(OpBuilder &b, Location loc, Type type, double v) {
  return b.create<arith::ConstantOp>(loc, b.getFloatAttr(type, v));
}

Value negInfConst(OpBuilder &b, Location loc, Type type) {
  auto ft = cast<FloatType>(type);
  return b.create<arith::ConstantOp>(
      loc, b.getFloatAttr(ft, APFloat::getInf(ft.getFloatSemantics(), /*Negative=*/true)));
}

/// A tensor of `shape` with every element `value` (an accumulator's start,
/// or the zeros that a scatter writes into).
Value filledTensor(OpBuilder &b, Location loc, ArrayRef<int64_t> shape, Value value) {
  Value empty = b.create<tensor::EmptyOp>(loc, shape, value.getType());
  return b.create<linalg::FillOp>(loc, value, empty).getResult(0);
}

/// Reads an operand of shape `operand` inside an iteration space whose first
/// `outShape.size()` dimensions are the (broadcast) output's, operand aligned
/// to the back: a size-1 operand dimension against a larger one reads index 0.
AffineMap broadcastMap(MLIRContext *ctx, ArrayRef<int64_t> operand, ArrayRef<int64_t> outShape,
                       unsigned numDims) {
  SmallVector<AffineExpr> exprs;
  unsigned offset = outShape.size() - operand.size();
  for (unsigned i = 0; i < operand.size(); ++i) {
    bool broadcast = operand[i] == 1 && outShape[offset + i] != 1;
    exprs.push_back(broadcast ? getAffineConstantExpr(0, ctx) : getAffineDimExpr(offset + i, ctx));
  }
  return AffineMap::get(numDims, 0, exprs, ctx);
}

/// The map from a rank-`rank` iteration space to the dimensions not in `axes`.
AffineMap keptDimsMap(MLIRContext *ctx, int64_t rank, ArrayRef<int64_t> axes) {
  SmallVector<AffineExpr> exprs;
  for (int64_t i = 0; i < rank; ++i)
    if (!llvm::is_contained(axes, i))
      exprs.push_back(getAffineDimExpr(i, ctx));
  return AffineMap::get(rank, 0, exprs, ctx);
}

Value buildGeneric(OpBuilder &b, Location loc, Value init, ValueRange inputs,
                   ArrayRef<AffineMap> maps, ArrayRef<utils::IteratorType> iterators, BodyFn body) {
  auto op = b.create<linalg::GenericOp>(
      loc, TypeRange{init.getType()}, inputs, ValueRange{init}, maps, iterators,
      [&](OpBuilder &nb, Location nloc, ValueRange args) {
        nb.create<linalg::YieldOp>(nloc, body(nb, nloc, args));
      });
  return op.getResult(0);
}

/// result[i...] = body(inputs broadcast to resultType's shape).
Value elementwise(OpBuilder &b, Location loc, RankedTensorType resultType, ValueRange inputs,
                  BodyFn body) {
  MLIRContext *ctx = b.getContext();
  unsigned rank = resultType.getRank();
  SmallVector<AffineMap> maps;
  for (Value in : inputs)
    maps.push_back(broadcastMap(ctx, tensorOf(in).getShape(), resultType.getShape(), rank));
  maps.push_back(AffineMap::getMultiDimIdentityMap(rank, ctx));
  Value init = b.create<tensor::EmptyOp>(loc, resultType.getShape(), resultType.getElementType());
  SmallVector<utils::IteratorType> iterators(rank, utils::IteratorType::parallel);
  return buildGeneric(b, loc, init, inputs, maps, iterators, body);
}

/// Reduces `inputs` (all of one shape) over the sorted `axes`: the result has
/// the other dimensions and the type of `initValue`, starts at `initValue`
/// and takes `combine(inputs..., acc)` per element.
Value reduce(OpBuilder &b, Location loc, ValueRange inputs, ArrayRef<int64_t> axes,
             Value initValue, BodyFn combine) {
  MLIRContext *ctx = b.getContext();
  RankedTensorType inType = tensorOf(inputs[0]);
  int64_t rank = inType.getRank();
  SmallVector<int64_t> outShape;
  SmallVector<utils::IteratorType> iterators;
  for (int64_t i = 0; i < rank; ++i) {
    bool reduced = llvm::is_contained(axes, i);
    iterators.push_back(reduced ? utils::IteratorType::reduction : utils::IteratorType::parallel);
    if (!reduced)
      outShape.push_back(inType.getDimSize(i));
  }
  Value init = filledTensor(b, loc, outShape, initValue);
  SmallVector<AffineMap> maps(inputs.size(), AffineMap::getMultiDimIdentityMap(rank, ctx));
  maps.push_back(keptDimsMap(ctx, rank, axes));
  return buildGeneric(b, loc, init, inputs, maps, iterators, combine);
}

/// Reshape through a rank-1 view: collapse everything, then expand to `to`.
Value reshapeTo(OpBuilder &b, Location loc, Value x, RankedTensorType to) {
  RankedTensorType from = tensorOf(x);
  if (from == to)
    return x;
  auto flat = RankedTensorType::get({from.getNumElements()}, from.getElementType());
  auto all = [](int64_t rank) {
    ReassociationIndices r;
    for (int64_t i = 0; i < rank; ++i)
      r.push_back(i);
    return SmallVector<ReassociationIndices>{r};
  };
  Value v = x;
  if (from.getRank() == 0)
    v = b.create<tensor::ExpandShapeOp>(loc, flat, v, SmallVector<ReassociationIndices>{});
  else if (from.getRank() > 1)
    v = b.create<tensor::CollapseShapeOp>(loc, flat, v, all(from.getRank()));
  if (to.getRank() == 0)
    return b.create<tensor::CollapseShapeOp>(loc, to, v, SmallVector<ReassociationIndices>{});
  if (to.getRank() > 1)
    return b.create<tensor::ExpandShapeOp>(loc, to, v, all(to.getRank()));
  return v;
}


//===----------------------------------------------------------------------===//
// Elementwise ops: one body each.
//===----------------------------------------------------------------------===//

Value negBody(OpBuilder &b, Location l, ValueRange a) { return b.create<arith::NegFOp>(l, a[0]); }
Value absBody(OpBuilder &b, Location l, ValueRange a) { return b.create<math::AbsFOp>(l, a[0]); }
Value expBody(OpBuilder &b, Location l, ValueRange a) { return b.create<math::ExpOp>(l, a[0]); }
Value logBody(OpBuilder &b, Location l, ValueRange a) { return b.create<math::LogOp>(l, a[0]); }
Value sqrtBody(OpBuilder &b, Location l, ValueRange a) { return b.create<math::SqrtOp>(l, a[0]); }
Value rsqrtBody(OpBuilder &b, Location l, ValueRange a) { return b.create<math::RsqrtOp>(l, a[0]); }
Value tanhBody(OpBuilder &b, Location l, ValueRange a) { return b.create<math::TanhOp>(l, a[0]); }
Value erfBody(OpBuilder &b, Location l, ValueRange a) { return b.create<math::ErfOp>(l, a[0]); }
Value sigmoidBody(OpBuilder &b, Location l, ValueRange a) {
  // 1 / (1 + e^-x): e^-x overflows to +inf for very negative x, giving 0.
  Value one = floatConst(b, l, a[0].getType(), 1.0);
  Value e = b.create<math::ExpOp>(l, b.create<arith::NegFOp>(l, a[0]));
  return b.create<arith::DivFOp>(l, one, b.create<arith::AddFOp>(l, one, e));
}
Value reluBody(OpBuilder &b, Location l, ValueRange a) {
  // maximumf propagates NaN, as torch.relu does.
  return b.create<arith::MaximumFOp>(l, a[0], floatConst(b, l, a[0].getType(), 0.0));
}
Value identityBody(OpBuilder &, Location, ValueRange a) { return a[0]; }
Value addBody(OpBuilder &b, Location l, ValueRange a) { return b.create<arith::AddFOp>(l, a[0], a[1]); }
Value subBody(OpBuilder &b, Location l, ValueRange a) { return b.create<arith::SubFOp>(l, a[0], a[1]); }
Value mulBody(OpBuilder &b, Location l, ValueRange a) { return b.create<arith::MulFOp>(l, a[0], a[1]); }
Value divBody(OpBuilder &b, Location l, ValueRange a) { return b.create<arith::DivFOp>(l, a[0], a[1]); }
Value maxBody(OpBuilder &b, Location l, ValueRange a) { return b.create<arith::MaximumFOp>(l, a[0], a[1]); }
Value minBody(OpBuilder &b, Location l, ValueRange a) { return b.create<arith::MinimumFOp>(l, a[0], a[1]); }

Value powBody(OpBuilder &b, Location l, ValueRange a) { return b.create<math::PowFOp>(l, a[0], a[1]); }
Value selectBody(OpBuilder &b, Location l, ValueRange a) {
  return b.create<arith::SelectOp>(l, a[0], a[1], a[2]);
}

/// A comparison body: ordered float predicates (false on NaN) except `ne`,
/// which is unordered (true on NaN), as IEEE and NumPy; signed for integers.
template <arith::CmpFPredicate F, arith::CmpIPredicate I>
Value compareBody(OpBuilder &b, Location l, ValueRange a) {
  if (isa<FloatType>(a[0].getType()))
    return b.create<arith::CmpFOp>(l, F, a[0], a[1]);
  return b.create<arith::CmpIOp>(l, I, a[0], a[1]);
}
using P = arith::CmpFPredicate;
using Q = arith::CmpIPredicate;

template <typename OpT, Value (*Body)(OpBuilder &, Location, ValueRange)>
struct ElementwiseLowering : OpConversionPattern<OpT> {
  using OpConversionPattern<OpT>::OpConversionPattern;
  LogicalResult matchAndRewrite(OpT op, typename OpT::Adaptor adaptor,
                                ConversionPatternRewriter &rewriter) const override {
    rewriter.replaceOp(op, elementwise(rewriter, op.getLoc(), cast<RankedTensorType>(op.getType()),
                                       adaptor.getOperands(), Body));
    return success();
  }
};

//===----------------------------------------------------------------------===//
// nn.matmul: one contraction; batch dims broadcast through the maps.
//===----------------------------------------------------------------------===//

struct MatmulLowering : OpConversionPattern<MatmulOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(MatmulOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    MLIRContext *ctx = rewriter.getContext();
    RankedTensorType outType = op.getType();
    int64_t batch = outType.getRank() - 2;
    unsigned numDims = batch + 3; // batch..., m, n, k
    AffineExpr m = getAffineDimExpr(batch, ctx), n = getAffineDimExpr(batch + 1, ctx),
               k = getAffineDimExpr(batch + 2, ctx);
    ArrayRef<int64_t> outBatch = outType.getShape().drop_back(2);
    auto operandMap = [&](RankedTensorType t, AffineExpr row, AffineExpr col) {
      AffineMap batchMap = broadcastMap(ctx, t.getShape().drop_back(2), outBatch, numDims);
      SmallVector<AffineExpr> exprs(batchMap.getResults());
      exprs.push_back(row);
      exprs.push_back(col);
      return AffineMap::get(numDims, 0, exprs, ctx);
    };
    AffineMap aMap = op.getTransposeA() ? operandMap(op.getA().getType(), k, m)
                                        : operandMap(op.getA().getType(), m, k);
    AffineMap bMap = op.getTransposeB() ? operandMap(op.getB().getType(), n, k)
                                        : operandMap(op.getB().getType(), k, n);
    SmallVector<AffineExpr> outExprs;
    for (int64_t i = 0; i < batch + 2; ++i)
      outExprs.push_back(getAffineDimExpr(i, ctx));
    AffineMap outMap = AffineMap::get(numDims, 0, outExprs, ctx);
    SmallVector<utils::IteratorType> iterators(batch + 2, utils::IteratorType::parallel);
    iterators.push_back(utils::IteratorType::reduction);

    Type elem = outType.getElementType();
    Value init = filledTensor(rewriter, loc, outType.getShape(), floatConst(rewriter, loc, elem, 0.0));
    Value result = buildGeneric(rewriter, loc, init, {adaptor.getA(), adaptor.getB()},
                                {aMap, bMap, outMap}, iterators,
                                [](OpBuilder &b, Location l, ValueRange a) -> Value {
                                  Value prod = b.create<arith::MulFOp>(l, a[0], a[1]);
                                  return b.create<arith::AddFOp>(l, a[2], prod);
                                });
    rewriter.replaceOp(op, result);
    return success();
  }
};

//===----------------------------------------------------------------------===//
// Reductions: nn.reduce_sum, nn.reduce_mean, nn.reduce_max
//===----------------------------------------------------------------------===//

template <typename OpT>
struct ReduceLowering : OpConversionPattern<OpT> {
  using OpConversionPattern<OpT>::OpConversionPattern;
  LogicalResult matchAndRewrite(OpT op, typename OpT::Adaptor adaptor,
                                ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value x = adaptor.getX();
    RankedTensorType xType = tensorOf(x);
    Type elem = xType.getElementType();
    SmallVector<int64_t> axes = normalizedAxes(op.getAxes(), xType.getRank());
    constexpr bool isMax = std::is_same_v<OpT, ReduceMaxOp>;
    Value init = isMax ? negInfConst(rewriter, loc, elem) : floatConst(rewriter, loc, elem, 0.0);
    Value r = reduce(rewriter, loc, x, axes, init, isMax ? maxBody : addBody);
    if constexpr (std::is_same_v<OpT, ReduceMeanOp>) {
      int64_t count = 1;
      for (int64_t a : axes)
        count *= xType.getDimSize(a);
      Value n = floatConst(rewriter, loc, elem, double(count));
      r = elementwise(rewriter, loc, tensorOf(r), r,
                      [&](OpBuilder &b, Location l, ValueRange a) -> Value {
                        return b.create<arith::DivFOp>(l, a[0], n);
                      });
    }
    rewriter.replaceOp(op, reshapeTo(rewriter, loc, r, op.getType()));
    return success();
  }
};

//===----------------------------------------------------------------------===//
// nn.softmax: max, exp(x - max), sum, divide; four generics over the axis.
//===----------------------------------------------------------------------===//

struct SoftmaxLowering : OpConversionPattern<SoftmaxOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(SoftmaxOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    MLIRContext *ctx = rewriter.getContext();
    Value x = adaptor.getX();
    RankedTensorType type = op.getType();
    Type elem = type.getElementType();
    int64_t rank = type.getRank();
    int64_t axis = op.getAxisAttr().getInt() < 0 ? op.getAxisAttr().getInt() + rank : op.getAxisAttr().getInt();
    AffineMap id = AffineMap::getMultiDimIdentityMap(rank, ctx);
    AffineMap kept = keptDimsMap(ctx, rank, {axis});
    SmallVector<utils::IteratorType> parallel(rank, utils::IteratorType::parallel);
    auto withReduced = [&](Value full, Value reduced, BodyFn body) {
      Value empty = rewriter.create<tensor::EmptyOp>(loc, type.getShape(), elem);
      return buildGeneric(rewriter, loc, empty, {full, reduced}, {id, kept, id}, parallel, body);
    };
    Value max = reduce(rewriter, loc, x, {axis}, negInfConst(rewriter, loc, elem), maxBody);
    Value e = withReduced(x, max, [](OpBuilder &b, Location l, ValueRange a) -> Value {
      return b.create<math::ExpOp>(l, b.create<arith::SubFOp>(l, a[0], a[1]));
    });
    Value sum = reduce(rewriter, loc, e, {axis}, floatConst(rewriter, loc, elem, 0.0), addBody);
    rewriter.replaceOp(op, withReduced(e, sum, divBody));
    return success();
  }
};

//===----------------------------------------------------------------------===//
// Shape ops and constants
//===----------------------------------------------------------------------===//

struct ReshapeLowering : OpConversionPattern<ReshapeOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(ReshapeOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rewriter) const override {
    rewriter.replaceOp(op, reshapeTo(rewriter, op.getLoc(), adaptor.getX(), op.getType()));
    return success();
  }
};

struct TransposeLowering : OpConversionPattern<TransposeOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(TransposeOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rewriter) const override {
    RankedTensorType type = op.getType();
    SmallVector<int64_t> perm;
    for (int64_t p : op.getPerm())
      perm.push_back(p < 0 ? p + type.getRank() : p);
    Value empty =
        rewriter.create<tensor::EmptyOp>(op.getLoc(), type.getShape(), type.getElementType());
    auto t = rewriter.create<linalg::TransposeOp>(op.getLoc(), adaptor.getX(), empty, perm);
    rewriter.replaceOp(op, t.getResult()[0]);
    return success();
  }
};

struct BroadcastToLowering : OpConversionPattern<BroadcastToOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(BroadcastToOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rewriter) const override {
    rewriter.replaceOp(
        op, elementwise(rewriter, op.getLoc(), op.getType(), adaptor.getX(), identityBody));
    return success();
  }
};

struct ConstantLowering : OpConversionPattern<ConstantOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(ConstantOp op, OpAdaptor,
                                ConversionPatternRewriter &rewriter) const override {
    auto value = dyn_cast<TypedAttr>(op.getValue());
    if (!value)
      return rewriter.notifyMatchFailure(op, "constant value is not a typed attribute");
    rewriter.replaceOpWithNewOp<arith::ConstantOp>(op, value);
    return success();
  }
};

//===----------------------------------------------------------------------===//
// Losses: one reduction over all elements, then divide by the count.
//===----------------------------------------------------------------------===//

template <typename OpT>
struct LossLowering : OpConversionPattern<OpT> {
  using OpConversionPattern<OpT>::OpConversionPattern;
  LogicalResult matchAndRewrite(OpT op, typename OpT::Adaptor adaptor,
                                ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    RankedTensorType inType = tensorOf(adaptor.getPrediction());
    Type elem = inType.getElementType();
    SmallVector<int64_t> all;
    for (int64_t i = 0; i < inType.getRank(); ++i)
      all.push_back(i);
    Value sum = reduce(rewriter, loc, {adaptor.getPrediction(), adaptor.getLabel()}, all,
                       floatConst(rewriter, loc, elem, 0.0),
                       [](OpBuilder &b, Location l, ValueRange a) -> Value {
                         Value d = b.create<arith::SubFOp>(l, a[0], a[1]);
                         Value penalty = std::is_same_v<OpT, L1LossOp>
                                             ? Value(b.create<math::AbsFOp>(l, d))
                                             : Value(b.create<arith::MulFOp>(l, d, d));
                         return b.create<arith::AddFOp>(l, a[2], penalty);
                       });
    Value n = floatConst(rewriter, loc, elem, double(inType.getNumElements()));
    rewriter.replaceOp(op, elementwise(rewriter, loc, op.getType(), sum,
                                       [&](OpBuilder &b, Location l, ValueRange a) -> Value {
                                         return b.create<arith::DivFOp>(l, a[0], n);
                                       }));
    return success();
  }
};


//===----------------------------------------------------------------------===//
// nn.cast
//===----------------------------------------------------------------------===//

/// Converts one scalar between kiln's element types.
Value castScalar(OpBuilder &b, Location l, Value x, Type to) {
  Type from = x.getType();
  if (from == to)
    return x;
  bool fromFloat = isa<FloatType>(from), toFloat = isa<FloatType>(to);
  if (to.isInteger(1)) // x != 0
    return fromFloat ? Value(b.create<arith::CmpFOp>(l, arith::CmpFPredicate::UNE, x,
                                                     floatConst(b, l, from, 0.0)))
                     : Value(b.create<arith::CmpIOp>(
                           l, arith::CmpIPredicate::ne, x,
                           b.create<arith::ConstantOp>(l, b.getIntegerAttr(from, 0))));
  if (fromFloat && toFloat)
    return from.getIntOrFloatBitWidth() < to.getIntOrFloatBitWidth()
               ? Value(b.create<arith::ExtFOp>(l, to, x))
               : Value(b.create<arith::TruncFOp>(l, to, x));
  if (fromFloat)
    return b.create<arith::FPToSIOp>(l, to, x);
  bool isBool = from.isInteger(1); // booleans are 0/1, never -1
  if (toFloat)
    return isBool ? Value(b.create<arith::UIToFPOp>(l, to, x))
                  : Value(b.create<arith::SIToFPOp>(l, to, x));
  if (from.getIntOrFloatBitWidth() < to.getIntOrFloatBitWidth())
    return isBool ? Value(b.create<arith::ExtUIOp>(l, to, x))
                  : Value(b.create<arith::ExtSIOp>(l, to, x));
  return b.create<arith::TruncIOp>(l, to, x);
}

struct CastLowering : OpConversionPattern<CastOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(CastOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rewriter) const override {
    Type to = op.getType().getElementType();
    rewriter.replaceOp(op, elementwise(rewriter, op.getLoc(), op.getType(), adaptor.getX(),
                                       [&](OpBuilder &b, Location l, ValueRange a) {
                                         return castScalar(b, l, a[0], to);
                                       }));
    return success();
  }
};

//===----------------------------------------------------------------------===//
// nn.log_softmax: x - max - log(sum(exp(x - max)))
//===----------------------------------------------------------------------===//

struct LogSoftmaxLowering : OpConversionPattern<LogSoftmaxOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(LogSoftmaxOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    MLIRContext *ctx = rewriter.getContext();
    Value x = adaptor.getX();
    RankedTensorType type = op.getType();
    Type elem = type.getElementType();
    int64_t rank = type.getRank();
    int64_t axis = op.getAxisAttr().getInt() < 0 ? op.getAxisAttr().getInt() + rank
                                                 : op.getAxisAttr().getInt();
    AffineMap id = AffineMap::getMultiDimIdentityMap(rank, ctx);
    AffineMap kept = keptDimsMap(ctx, rank, {axis});
    SmallVector<utils::IteratorType> parallel(rank, utils::IteratorType::parallel);
    Value max = reduce(rewriter, loc, x, {axis}, negInfConst(rewriter, loc, elem), maxBody);
    // sum(exp(x - max)) in one reduction reading x and max.
    Value zero = floatConst(rewriter, loc, elem, 0.0);
    SmallVector<int64_t> keptShape;
    SmallVector<utils::IteratorType> iterators;
    for (int64_t i = 0; i < rank; ++i) {
      iterators.push_back(i == axis ? utils::IteratorType::reduction : utils::IteratorType::parallel);
      if (i != axis)
        keptShape.push_back(type.getDimSize(i));
    }
    Value sumInit = filledTensor(rewriter, loc, keptShape, zero);
    Value sum = buildGeneric(rewriter, loc, sumInit, {x, max}, {id, kept, kept}, iterators,
                             [](OpBuilder &b, Location l, ValueRange a) -> Value {
                               Value e = b.create<math::ExpOp>(l, b.create<arith::SubFOp>(l, a[0], a[1]));
                               return b.create<arith::AddFOp>(l, a[2], e);
                             });
    Value empty = rewriter.create<tensor::EmptyOp>(loc, type.getShape(), elem);
    Value result = buildGeneric(rewriter, loc, empty, {x, max, sum}, {id, kept, kept, id}, parallel,
                                [](OpBuilder &b, Location l, ValueRange a) -> Value {
                                  Value shifted = b.create<arith::SubFOp>(l, a[0], a[1]);
                                  return b.create<arith::SubFOp>(l, shifted,
                                                                 b.create<math::LogOp>(l, a[2]));
                                });
    rewriter.replaceOp(op, result);
    return success();
  }
};

//===----------------------------------------------------------------------===//
// nn.layer_norm: mean, centered, variance, normalize (* gamma + beta)
//===----------------------------------------------------------------------===//

struct LayerNormLowering : OpConversionPattern<LayerNormOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(LayerNormOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    MLIRContext *ctx = rewriter.getContext();
    Value x = adaptor.getX();
    RankedTensorType type = op.getType();
    Type elem = type.getElementType();
    int64_t rank = type.getRank();
    SmallVector<int64_t> axes = normalizedAxes(op.getAxes(), rank);
    int64_t count = 1;
    for (int64_t a : axes)
      count *= type.getDimSize(a);
    Value n = floatConst(rewriter, loc, elem, double(count));
    Value zero = floatConst(rewriter, loc, elem, 0.0);
    AffineMap id = AffineMap::getMultiDimIdentityMap(rank, ctx);
    AffineMap kept = keptDimsMap(ctx, rank, axes);
    SmallVector<utils::IteratorType> parallel(rank, utils::IteratorType::parallel);
    auto divideBy = [&](Value t) {
      return elementwise(rewriter, loc, tensorOf(t), t,
                         [&](OpBuilder &b, Location l, ValueRange a) -> Value {
                           return b.create<arith::DivFOp>(l, a[0], n);
                         });
    };
    Value mean = divideBy(reduce(rewriter, loc, x, axes, zero, addBody));
    Value empty = rewriter.create<tensor::EmptyOp>(loc, type.getShape(), elem);
    Value centered = buildGeneric(rewriter, loc, empty, {x, mean}, {id, kept, id}, parallel, subBody);
    Value variance = divideBy(reduce(rewriter, loc, centered, axes, zero,
                                     [](OpBuilder &b, Location l, ValueRange a) -> Value {
                                       Value sq = b.create<arith::MulFOp>(l, a[0], a[0]);
                                       return b.create<arith::AddFOp>(l, a[1], sq);
                                     }));
    Value eps = floatConst(rewriter, loc, elem, op.getEps().convertToDouble());
    // gamma/beta cover the trailing axes.
    SmallVector<AffineExpr> trailing;
    for (int64_t a : axes)
      trailing.push_back(getAffineDimExpr(a, ctx));
    AffineMap paramMap = AffineMap::get(rank, 0, trailing, ctx);
    SmallVector<Value> inputs{centered, variance};
    SmallVector<AffineMap> maps{id, kept};
    if (adaptor.getGamma()) {
      inputs.push_back(adaptor.getGamma());
      maps.push_back(paramMap);
    }
    if (adaptor.getBeta()) {
      inputs.push_back(adaptor.getBeta());
      maps.push_back(paramMap);
    }
    maps.push_back(id);
    bool hasGamma = bool(adaptor.getGamma()), hasBeta = bool(adaptor.getBeta());
    Value result = buildGeneric(
        rewriter, loc, empty, inputs, maps, parallel,
        [&](OpBuilder &b, Location l, ValueRange a) -> Value {
          Value inv = b.create<math::RsqrtOp>(l, b.create<arith::AddFOp>(l, a[1], eps));
          Value y = b.create<arith::MulFOp>(l, a[0], inv);
          unsigned next = 2;
          if (hasGamma)
            y = b.create<arith::MulFOp>(l, y, a[next++]);
          if (hasBeta)
            y = b.create<arith::AddFOp>(l, y, a[next++]);
          return y;
        });
    rewriter.replaceOp(op, result);
    return success();
  }
};

//===----------------------------------------------------------------------===//
// nn.gelu
//===----------------------------------------------------------------------===//

struct GeluLowering : OpConversionPattern<GeluOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(GeluOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rewriter) const override {
    bool tanhForm = op.getApproximate() == "tanh";
    rewriter.replaceOp(
        op, elementwise(rewriter, op.getLoc(), op.getType(), adaptor.getX(),
                        [&](OpBuilder &b, Location l, ValueRange a) -> Value {
                          Type t = a[0].getType();
                          Value x = a[0];
                          Value half = floatConst(b, l, t, 0.5), one = floatConst(b, l, t, 1.0);
                          Value inner;
                          if (tanhForm) {
                            // sqrt(2/pi) (x + 0.044715 x^3)
                            Value x3 = b.create<arith::MulFOp>(l, x, b.create<arith::MulFOp>(l, x, x));
                            Value poly = b.create<arith::AddFOp>(
                                l, x, b.create<arith::MulFOp>(l, floatConst(b, l, t, 0.044715), x3));
                            inner = b.create<math::TanhOp>(
                                l, b.create<arith::MulFOp>(
                                       l, floatConst(b, l, t, 0.7978845608028654), poly));
                          } else {
                            inner = b.create<math::ErfOp>(
                                l, b.create<arith::MulFOp>(
                                       l, x, floatConst(b, l, t, 0.7071067811865476)));
                          }
                          Value scaled = b.create<arith::MulFOp>(l, half, x);
                          return b.create<arith::MulFOp>(l, scaled,
                                                         b.create<arith::AddFOp>(l, one, inner));
                        }));
    return success();
  }
};

//===----------------------------------------------------------------------===//
// Run-time index checks. Ops that read at data-dependent indices (gather,
// cross_entropy) clamp every read into range and record, per op (a "site"),
// whether an index was out of range and which. The pass returns the first
// failing site in program order, its offending index and the valid bound
// from the function as a hidden `nn.status` result (tensor<3xi64>: site,
// index, bound); the ABI entry turns it into KILN_ERR_INDEX_RANGE and the
// context's error fields, and `<symbol>_error_site(site)` names the op
// (docs/abi.md). Sites are listed in the function's `nn.error_sites`.
//===----------------------------------------------------------------------===//

} // namespace

bool kiln::hasRuntimeIndexCheck(Operation *op) { return isa<GatherOp, CrossEntropyOp>(op); }

namespace {

/// One checking op's findings: `bad` (i1: some index out of range) and
/// `index` (i64: an offending index, meaningful when bad), with its bound.
struct IndexCheck {
  Value bad, index;
  int64_t bound;
  std::string site; // "nn.gather at model.mlir:5:8"
};

/// Checks every element of `indices` against [0, bound).
IndexCheck checkIndices(OpBuilder &b, Operation *op, Value indices, int64_t bound) {
  Location loc = op->getLoc();
  RankedTensorType type = tensorOf(indices);
  SmallVector<int64_t> all;
  for (int64_t i = 0; i < type.getRank(); ++i)
    all.push_back(i);
  Type idxType = type.getElementType();
  auto isBad = [=](OpBuilder &nb, Location l, Value idx) -> Value {
    Value lo = nb.create<arith::ConstantOp>(l, nb.getIntegerAttr(idxType, 0));
    Value hi = nb.create<arith::ConstantOp>(l, nb.getIntegerAttr(idxType, bound));
    Value below = nb.create<arith::CmpIOp>(l, arith::CmpIPredicate::slt, idx, lo);
    Value above = nb.create<arith::CmpIOp>(l, arith::CmpIPredicate::sge, idx, hi);
    return nb.create<arith::OrIOp>(l, below, above);
  };
  Value falseValue = b.create<arith::ConstantOp>(loc, b.getBoolAttr(false));
  Value anyBad = reduce(b, loc, indices, all, falseValue, [&](OpBuilder &nb, Location l, ValueRange a) -> Value {
    return nb.create<arith::OrIOp>(l, isBad(nb, l, a[0]), a[1]);
  });
  Value zero = b.create<arith::ConstantOp>(loc, b.getI64IntegerAttr(0));
  Value offending = reduce(b, loc, indices, all, zero, [&](OpBuilder &nb, Location l, ValueRange a) -> Value {
    Value wide = idxType.isInteger(64) ? a[0] : nb.create<arith::ExtSIOp>(l, nb.getI64Type(), a[0]).getResult();
    return nb.create<arith::SelectOp>(l, isBad(nb, l, a[0]), wide, a[1]);
  });
  return {b.create<tensor::ExtractOp>(loc, anyBad, ValueRange{}),
          b.create<tensor::ExtractOp>(loc, offending, ValueRange{}), bound,
          // The pass named op's location after it: "nn.gather at model.mlir:5:8".
          kiln::describeSourceOps(op->getLoc())};
}

/// An index value clamped into [0, bound), as `index`.
Value clampedIndex(OpBuilder &b, Location l, Value idx, int64_t bound) {
  Value i = b.create<arith::IndexCastOp>(l, b.getIndexType(), idx);
  Value lo = b.create<arith::ConstantIndexOp>(l, 0);
  Value hi = b.create<arith::ConstantIndexOp>(l, bound - 1);
  return b.create<arith::MinSIOp>(l, b.create<arith::MaxSIOp>(l, i, lo), hi);
}

struct GatherLowering : OpConversionPattern<GatherOp> {
  GatherLowering(MLIRContext *ctx, SmallVectorImpl<IndexCheck> &statuses)
      : OpConversionPattern(ctx), statuses(statuses) {}
  SmallVectorImpl<IndexCheck> &statuses;

  LogicalResult matchAndRewrite(GatherOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    MLIRContext *ctx = rewriter.getContext();
    Value table = adaptor.getTable(), indices = adaptor.getIndices();
    RankedTensorType tableType = tensorOf(table), type = op.getType();
    int64_t rows = tableType.getDimSize(0);
    int64_t ri = tensorOf(indices).getRank(), rank = type.getRank();
    if (rows == 0)
      return rewriter.notifyMatchFailure(op, "gather from an empty table");
    statuses.push_back(checkIndices(rewriter, op, indices, rows));
    SmallVector<AffineExpr> idxExprs;
    for (int64_t i = 0; i < ri; ++i)
      idxExprs.push_back(getAffineDimExpr(i, ctx));
    AffineMap idxMap = AffineMap::get(rank, 0, idxExprs, ctx);
    Value empty = rewriter.create<tensor::EmptyOp>(loc, type.getShape(), type.getElementType());
    SmallVector<utils::IteratorType> parallel(rank, utils::IteratorType::parallel);
    Value result = buildGeneric(
        rewriter, loc, empty, indices, {idxMap, AffineMap::getMultiDimIdentityMap(rank, ctx)},
        parallel, [&](OpBuilder &b, Location l, ValueRange a) -> Value {
          SmallVector<Value> coords{clampedIndex(b, l, a[0], rows)};
          for (int64_t d = ri; d < rank; ++d)
            coords.push_back(b.create<linalg::IndexOp>(l, d));
          return b.create<tensor::ExtractOp>(l, table, coords);
        });
    rewriter.replaceOp(op, result);
    return success();
  }
};

//===----------------------------------------------------------------------===//
// nn.cross_entropy: mean over positions of logsumexp(logits) - logits[label]
//===----------------------------------------------------------------------===//

struct CrossEntropyLowering : OpConversionPattern<CrossEntropyOp> {
  CrossEntropyLowering(MLIRContext *ctx, SmallVectorImpl<IndexCheck> &statuses)
      : OpConversionPattern(ctx), statuses(statuses) {}
  SmallVectorImpl<IndexCheck> &statuses;

  LogicalResult matchAndRewrite(CrossEntropyOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    MLIRContext *ctx = rewriter.getContext();
    Value logits = adaptor.getLogits(), labels = adaptor.getLabels();
    RankedTensorType type = tensorOf(logits);
    Type elem = type.getElementType();
    int64_t rank = type.getRank(), classes = type.getDimSize(rank - 1);
    int64_t positions = type.getNumElements() / std::max<int64_t>(classes, 1);
    if (classes == 0)
      return rewriter.notifyMatchFailure(op, "no classes");
    statuses.push_back(checkIndices(rewriter, op, labels, classes));
    int64_t axis = rank - 1;
    AffineMap id = AffineMap::getMultiDimIdentityMap(rank, ctx);
    AffineMap kept = keptDimsMap(ctx, rank, {axis});
    Value zero = floatConst(rewriter, loc, elem, 0.0);
    Value max = reduce(rewriter, loc, logits, {axis}, negInfConst(rewriter, loc, elem), maxBody);
    SmallVector<utils::IteratorType> iterators(rank, utils::IteratorType::parallel);
    iterators[axis] = utils::IteratorType::reduction;
    Value sumInit = filledTensor(rewriter, loc, type.getShape().drop_back(), zero);
    Value sum = buildGeneric(rewriter, loc, sumInit, {logits, max}, {id, kept, kept}, iterators,
                             [](OpBuilder &b, Location l, ValueRange a) -> Value {
                               Value e = b.create<math::ExpOp>(l, b.create<arith::SubFOp>(l, a[0], a[1]));
                               return b.create<arith::AddFOp>(l, a[2], e);
                             });
    // Over the label positions: total += max + log(sum) - logits[label].
    int64_t pr = rank - 1;
    SmallVector<AffineExpr> all;
    for (int64_t i = 0; i < pr; ++i)
      all.push_back(getAffineDimExpr(i, ctx));
    AffineMap posId = AffineMap::getMultiDimIdentityMap(pr, ctx);
    AffineMap toScalar = AffineMap::get(pr, 0, {}, ctx);
    Value totalInit = filledTensor(rewriter, loc, {}, zero);
    SmallVector<utils::IteratorType> reduceAll(pr, utils::IteratorType::reduction);
    Value total = buildGeneric(
        rewriter, loc, totalInit, {labels, max, sum}, {posId, posId, posId, toScalar}, reduceAll,
        [&](OpBuilder &b, Location l, ValueRange a) -> Value {
          SmallVector<Value> coords;
          for (int64_t d = 0; d < pr; ++d)
            coords.push_back(b.create<linalg::IndexOp>(l, d));
          coords.push_back(clampedIndex(b, l, a[0], classes));
          Value picked = b.create<tensor::ExtractOp>(l, logits, coords);
          Value lse = b.create<arith::AddFOp>(l, a[1], b.create<math::LogOp>(l, a[2]));
          return b.create<arith::AddFOp>(l, a[3], b.create<arith::SubFOp>(l, lse, picked));
        });
    Value n = floatConst(rewriter, loc, elem, double(positions));
    rewriter.replaceOp(op, elementwise(rewriter, loc, op.getType(), total,
                                       [&](OpBuilder &b, Location l, ValueRange a) -> Value {
                                         return b.create<arith::DivFOp>(l, a[0], n);
                                       }));
    return success();
  }
};

//===----------------------------------------------------------------------===//
// nn.concat, nn.slice, nn.iota
//===----------------------------------------------------------------------===//

struct ConcatLowering : OpConversionPattern<ConcatOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(ConcatOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    RankedTensorType type = op.getType();
    int64_t rank = type.getRank();
    int64_t axis = op.getAxisAttr().getInt() < 0 ? op.getAxisAttr().getInt() + rank
                                                 : op.getAxisAttr().getInt();
    Value result = rewriter.create<tensor::EmptyOp>(loc, type.getShape(), type.getElementType());
    int64_t offset = 0;
    for (Value in : adaptor.getInputs()) {
      RankedTensorType t = tensorOf(in);
      SmallVector<OpFoldResult> offsets(rank, rewriter.getIndexAttr(0)), sizes, strides(rank, rewriter.getIndexAttr(1));
      for (int64_t d = 0; d < rank; ++d)
        sizes.push_back(rewriter.getIndexAttr(t.getDimSize(d)));
      offsets[axis] = rewriter.getIndexAttr(offset);
      result = rewriter.create<tensor::InsertSliceOp>(loc, in, result, offsets, sizes, strides);
      offset += t.getDimSize(axis);
    }
    rewriter.replaceOp(op, result);
    return success();
  }
};

/// A slice is a strided tensor.extract_slice over the elements it reads;
/// axes with a negative step then read that window reversed (one generic).
/// (A generic with map `first + i * step` would let linalg infer the loop
/// range from the input when first = 0 and step = 1.)
struct SliceLowering : OpConversionPattern<SliceOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(SliceOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    MLIRContext *ctx = rewriter.getContext();
    RankedTensorType xType = op.getX().getType(), type = op.getType();
    int64_t rank = type.getRank();
    if (type.getNumElements() == 0) {
      rewriter.replaceOpWithNewOp<tensor::EmptyOp>(op, type.getShape(), type.getElementType());
      return success();
    }
    SmallVector<OpFoldResult> offsets, sizes, strides;
    SmallVector<AffineExpr> reverse;
    bool anyNegative = false;
    for (int64_t d = 0; d < rank; ++d) {
      int64_t step = op.getSteps()[d], n = type.getDimSize(d);
      SliceAxis s = sliceAxis(xType.getDimSize(d), op.getStarts()[d], op.getStops()[d], step);
      anyNegative |= step < 0;
      offsets.push_back(rewriter.getIndexAttr(step < 0 ? s.first + (n - 1) * step : s.first));
      sizes.push_back(rewriter.getIndexAttr(n));
      strides.push_back(rewriter.getIndexAttr(step < 0 ? -step : step));
      reverse.push_back(step < 0 ? getAffineConstantExpr(n - 1, ctx) - getAffineDimExpr(d, ctx)
                                 : getAffineDimExpr(d, ctx));
    }
    Value window = rewriter.create<tensor::ExtractSliceOp>(loc, type, adaptor.getX(), offsets,
                                                           sizes, strides);
    if (anyNegative) {
      Value empty = rewriter.create<tensor::EmptyOp>(loc, type.getShape(), type.getElementType());
      SmallVector<utils::IteratorType> parallel(rank, utils::IteratorType::parallel);
      window = buildGeneric(rewriter, loc, empty, window,
                            {AffineMap::get(rank, 0, reverse, ctx),
                             AffineMap::getMultiDimIdentityMap(rank, ctx)},
                            parallel, identityBody);
    }
    rewriter.replaceOp(op, window);
    return success();
  }
};

struct IotaLowering : OpConversionPattern<IotaOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(IotaOp op, OpAdaptor,
                                ConversionPatternRewriter &rewriter) const override {
    RankedTensorType type = op.getType();
    int64_t rank = type.getRank();
    int64_t axis = op.getAxisAttr().getInt() < 0 ? op.getAxisAttr().getInt() + rank
                                                 : op.getAxisAttr().getInt();
    Type elem = type.getElementType();
    Value empty = rewriter.create<tensor::EmptyOp>(op.getLoc(), type.getShape(), elem);
    SmallVector<utils::IteratorType> parallel(rank, utils::IteratorType::parallel);
    Value result = buildGeneric(
        rewriter, op.getLoc(), empty, ValueRange{},
        {AffineMap::getMultiDimIdentityMap(rank, rewriter.getContext())}, parallel,
        [&](OpBuilder &b, Location l, ValueRange) -> Value {
          Value i = b.create<linalg::IndexOp>(l, axis);
          Value asInt = b.create<arith::IndexCastOp>(l, b.getI64Type(), i);
          return castScalar(b, l, asInt, elem);
        });
    rewriter.replaceOp(op, result);
    return success();
  }
};

//===----------------------------------------------------------------------===//
// nn.dropout: the counter-based mask of ir/DropoutHash.h, computed per
// element from its row-major index (no generator state, any thread count).
//===----------------------------------------------------------------------===//

struct DropoutLowering : OpConversionPattern<DropoutOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(DropoutOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rewriter) const override {
    namespace d = kiln::nn::dropout;
    RankedTensorType type = op.getType();
    int64_t rank = type.getRank();
    MLIRContext *ctx = rewriter.getContext();
    Location loc = op.getLoc();
    double rate = op.getRate().convertToDouble();
    uint64_t seedTerm = uint64_t(op.getSeed()) * d::kSeedMul;
    int64_t cut = int64_t(d::threshold(rate));
    Value empty = rewriter.create<tensor::EmptyOp>(loc, type.getShape(), type.getElementType());
    SmallVector<utils::IteratorType> parallel(rank, utils::IteratorType::parallel);
    AffineMap identity = AffineMap::getMultiDimIdentityMap(rank, ctx);
    AffineMap scalar = AffineMap::get(rank, 0, {}, ctx);
    Value result = buildGeneric(
        rewriter, loc, empty, ValueRange{adaptor.getX(), adaptor.getStep()}, {identity, scalar, identity}, parallel,
        [&](OpBuilder &b, Location l, ValueRange a) -> Value {
          auto i64 = b.getI64Type();
          auto k = [&](uint64_t v) { return b.create<arith::ConstantIntOp>(l, int64_t(v), 64).getResult(); };
          // The row-major index of the element.
          Value index = b.create<arith::ConstantIndexOp>(l, 0);
          for (int64_t dim = 0; dim < rank; ++dim) {
            Value size = b.create<arith::ConstantIndexOp>(l, type.getDimSize(dim));
            index = b.create<arith::AddIOp>(l, b.create<arith::MulIOp>(l, index, size),
                                            b.create<linalg::IndexOp>(l, dim));
          }
          Value step = a[1].getType().isInteger(64) ? a[1] : b.create<arith::ExtSIOp>(l, i64, a[1]).getResult();
          Value z = b.create<arith::XOrIOp>(l, k(seedTerm), b.create<arith::MulIOp>(l, step, k(d::kStepMul)));
          z = b.create<arith::XOrIOp>(l, z, b.create<arith::IndexCastOp>(l, i64, index));
          auto mix = [&](Value z, int shift, uint64_t mul) -> Value {
            Value x = b.create<arith::XOrIOp>(l, z, b.create<arith::ShRUIOp>(l, z, k(shift)));
            return mul ? b.create<arith::MulIOp>(l, x, k(mul)).getResult() : x;
          };
          z = mix(mix(mix(z, 30, d::kMix1), 27, d::kMix2), 31, 0);
          Value draw = b.create<arith::ShRUIOp>(l, z, k(64 - d::kBits));
          Value keep = b.create<arith::CmpIOp>(l, arith::CmpIPredicate::uge, draw, k(uint64_t(cut)));
          Type t = a[0].getType();
          Value scaled = b.create<arith::MulFOp>(l, a[0], floatConst(b, l, t, 1 / (1 - rate)));
          return b.create<arith::SelectOp>(l, keep, scaled, floatConst(b, l, t, 0.0));
        });
    rewriter.replaceOp(op, result);
    return success();
  }
};

//===----------------------------------------------------------------------===//
// nn.slice_scatter: zeros, then the source inserted with positive strides
// (axes with a negative step take the source reversed).
//===----------------------------------------------------------------------===//

struct SliceScatterLowering : OpConversionPattern<SliceScatterOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(SliceScatterOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    MLIRContext *ctx = rewriter.getContext();
    RankedTensorType type = op.getType();
    Type elem = type.getElementType();
    int64_t rank = type.getRank();
    Value zero = isa<FloatType>(elem) ? floatConst(rewriter, loc, elem, 0.0)
                                      : rewriter.create<arith::ConstantOp>(loc, rewriter.getIntegerAttr(elem, 0)).getResult();
    Value result = filledTensor(rewriter, loc, type.getShape(), zero);
    Value src = adaptor.getSrc();
    RankedTensorType srcType = tensorOf(src);
    if (srcType.getNumElements() == 0) {
      rewriter.replaceOp(op, result);
      return success();
    }
    SmallVector<AffineExpr> reverse;
    bool anyNegative = false;
    SmallVector<OpFoldResult> offsets, sizes, strides;
    for (int64_t d = 0; d < rank; ++d) {
      int64_t step = op.getSteps()[d], n = srcType.getDimSize(d);
      SliceAxis s = sliceAxis(type.getDimSize(d), op.getStarts()[d], op.getStops()[d], step);
      anyNegative |= step < 0;
      reverse.push_back(step < 0 ? getAffineConstantExpr(n - 1, ctx) - getAffineDimExpr(d, ctx)
                                 : getAffineDimExpr(d, ctx));
      offsets.push_back(rewriter.getIndexAttr(step < 0 ? s.first + (n - 1) * step : s.first));
      sizes.push_back(rewriter.getIndexAttr(n));
      strides.push_back(rewriter.getIndexAttr(step < 0 ? -step : step));
    }
    if (anyNegative) {
      Value empty = rewriter.create<tensor::EmptyOp>(loc, srcType.getShape(), elem);
      SmallVector<utils::IteratorType> parallel(rank, utils::IteratorType::parallel);
      src = buildGeneric(rewriter, loc, empty, src,
                         {AffineMap::get(rank, 0, reverse, ctx), AffineMap::getMultiDimIdentityMap(rank, ctx)},
                         parallel, identityBody);
    }
    rewriter.replaceOpWithNewOp<tensor::InsertSliceOp>(op, src, result, offsets, sizes, strides);
    return success();
  }
};

//===----------------------------------------------------------------------===//
// nn.scatter_add: a sequential loop (deterministic sums) over the index
// positions, adding each update row into its (clamped) table row.
//===----------------------------------------------------------------------===//

struct ScatterAddLowering : OpConversionPattern<ScatterAddOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(ScatterAddOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    RankedTensorType type = op.getType();
    Type elem = type.getElementType();
    int64_t rows = type.getDimSize(0);
    int64_t rowSize = rows ? type.getNumElements() / rows : 0;
    int64_t positions = tensorOf(adaptor.getIndices()).getNumElements();
    // As 2-D [rows, rowSize] and [positions, rowSize], 1-D indices.
    auto flatType = RankedTensorType::get({rows, rowSize}, elem);
    Value table = filledTensor(rewriter, loc, flatType.getShape(), floatConst(rewriter, loc, elem, 0.0));
    if (rows == 0 || positions == 0 || rowSize == 0) {
      rewriter.replaceOp(op, reshapeTo(rewriter, loc, table, type));
      return success();
    }
    Value updates = reshapeTo(rewriter, loc, adaptor.getUpdates(),
                              RankedTensorType::get({positions, rowSize}, elem));
    Value indices = reshapeTo(rewriter, loc, adaptor.getIndices(),
                              RankedTensorType::get({positions}, tensorOf(adaptor.getIndices()).getElementType()));
    Value c0 = rewriter.create<arith::ConstantIndexOp>(loc, 0);
    Value c1 = rewriter.create<arith::ConstantIndexOp>(loc, 1);
    Value nPos = rewriter.create<arith::ConstantIndexOp>(loc, positions);
    Value nCol = rewriter.create<arith::ConstantIndexOp>(loc, rowSize);
    auto outer = rewriter.create<scf::ForOp>(
        loc, c0, nPos, c1, ValueRange{table},
        [&](OpBuilder &b, Location l, Value p, ValueRange acc) {
          Value idx = b.create<tensor::ExtractOp>(l, indices, ValueRange{p});
          Value row = clampedIndex(b, l, idx, rows);
          auto inner = b.create<scf::ForOp>(
              l, c0, nCol, c1, ValueRange{acc[0]},
              [&](OpBuilder &ib, Location il, Value j, ValueRange t) {
                Value old = ib.create<tensor::ExtractOp>(il, t[0], ValueRange{row, j});
                Value u = ib.create<tensor::ExtractOp>(il, updates, ValueRange{p, j});
                Value sum = ib.create<arith::AddFOp>(il, old, u);
                ib.create<scf::YieldOp>(il, ib.create<tensor::InsertOp>(il, sum, t[0], ValueRange{row, j}).getResult());
              });
          b.create<scf::YieldOp>(l, inner.getResult(0));
        });
    rewriter.replaceOp(op, reshapeTo(rewriter, loc, outer.getResult(0), type));
    return success();
  }
};

struct StopGradientLowering : OpConversionPattern<StopGradientOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(StopGradientOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rewriter) const override {
    rewriter.replaceOp(op, adaptor.getX());
    return success();
  }
};

/// Returns the first failing check of `func` (in program order) as an extra
/// result marked `nn.status`: tensor<3xi64> [site (1-based; 0: none), the
/// offending index, its bound], which the ABI entry turns into its return
/// value and the context's error fields. The sites' descriptions go to the
/// function's `nn.error_sites`.
void returnStatus(func::FuncOp func, ArrayRef<IndexCheck> statuses) {
  if (statuses.empty())
    return;
  auto ret = cast<func::ReturnOp>(func.getBody().back().getTerminator());
  OpBuilder b(ret);
  Location loc = ret.getLoc();
  auto i64 = [&](int64_t v) { return b.create<arith::ConstantOp>(loc, b.getI64IntegerAttr(v)).getResult(); };
  Value site = i64(0), index = i64(0), bound = i64(0);
  SmallVector<Attribute> names;
  for (const IndexCheck &c : statuses)
    names.push_back(b.getStringAttr(c.site));
  // From the last check to the first, so that the first failing one wins.
  for (int64_t k = int64_t(statuses.size()) - 1; k >= 0; --k) {
    const IndexCheck &c = statuses[k];
    site = b.create<arith::SelectOp>(loc, c.bad, i64(k + 1), site);
    index = b.create<arith::SelectOp>(loc, c.bad, c.index, index);
    bound = b.create<arith::SelectOp>(loc, c.bad, i64(c.bound), bound);
  }
  func->setAttr(kErrorSitesAttr, b.getArrayAttr(names));
  Value tensor = b.create<tensor::FromElementsOp>(loc, RankedTensorType::get({3}, b.getI64Type()),
                                                  ValueRange{site, index, bound});
  ret->insertOperands(ret->getNumOperands(), tensor);
  func.insertResult(func.getNumResults(), tensor.getType(),
                    b.getDictionaryAttr(b.getNamedAttr(kStatusAttr, b.getUnitAttr())));
}

struct LowerNNToLinalgPass : kiln::impl::LowerNNToLinalgBase<LowerNNToLinalgPass> {
  void runOnOperation() override {
    MLIRContext *ctx = &getContext();
    // Every op made from an nn op carries its name ("nn.add" around the
    // source position): fused kernels' locations then list their source
    // ops (passes/fusion/SourceOps.h, --explain-fusion).
    getOperation().walk([&](Operation *op) {
      if (isa<NNDialect>(op->getDialect()) && !isa<NameLoc>(op->getLoc()))
        op->setLoc(NameLoc::get(op->getName().getIdentifier(), op->getLoc()));
    });
    // nn.batch_norm is the nn ops it is made of (ir/BatchNormComposite.h),
    // which carry its name and are lowered below.
    SmallVector<BatchNormOp> batchNorms;
    getOperation().walk([&](BatchNormOp op) { batchNorms.push_back(op); });
    for (BatchNormOp op : batchNorms) {
      OpBuilder builder(op);
      NNBuilder nb(builder, op.getLoc());
      BatchNormResults r = batchNormComposite(nb, op);
      op->replaceAllUsesWith(ValueRange{r.result, r.newMean, r.newVariance});
      op->erase();
    }
    // nn.scan is an scf.for whose body holds its nn ops, lowered below.
    if (failed(kiln::lowerScans(getOperation())))
      return signalPassFailure();
    ConversionTarget target(*ctx);
    target.addIllegalDialect<NNDialect>();
    target.markUnknownOpDynamicallyLegal([](Operation *) { return true; });
    RewritePatternSet patterns(ctx);
    patterns.add<ElementwiseLowering<NegOp, negBody>, ElementwiseLowering<AbsOp, absBody>,
                 ElementwiseLowering<ExpOp, expBody>, ElementwiseLowering<LogOp, logBody>,
                 ElementwiseLowering<SqrtOp, sqrtBody>, ElementwiseLowering<RsqrtOp, rsqrtBody>,
                 ElementwiseLowering<TanhOp, tanhBody>, ElementwiseLowering<ErfOp, erfBody>,
                 ElementwiseLowering<SigmoidOp, sigmoidBody>,
                 ElementwiseLowering<ReluOp, reluBody>, ElementwiseLowering<AddOp, addBody>,
                 ElementwiseLowering<SubOp, subBody>, ElementwiseLowering<MulOp, mulBody>,
                 ElementwiseLowering<DivOp, divBody>, ElementwiseLowering<MaxOp, maxBody>,
                 ElementwiseLowering<MinOp, minBody>, ElementwiseLowering<PowOp, powBody>,
                 ElementwiseLowering<EqOp, compareBody<P::OEQ, Q::eq>>,
                 ElementwiseLowering<NeOp, compareBody<P::UNE, Q::ne>>,
                 ElementwiseLowering<LtOp, compareBody<P::OLT, Q::slt>>,
                 ElementwiseLowering<LeOp, compareBody<P::OLE, Q::sle>>,
                 ElementwiseLowering<GtOp, compareBody<P::OGT, Q::sgt>>,
                 ElementwiseLowering<GeOp, compareBody<P::OGE, Q::sge>>,
                 ElementwiseLowering<SelectOp, selectBody>>(ctx);
    patterns.add<MatmulLowering, ReduceLowering<ReduceSumOp>, ReduceLowering<ReduceMeanOp>,
                 ReduceLowering<ReduceMaxOp>, SoftmaxLowering, ReshapeLowering, TransposeLowering,
                 BroadcastToLowering, ConstantLowering, LossLowering<L1LossOp>,
                 LossLowering<MseLossOp>, CastLowering, LogSoftmaxLowering, LayerNormLowering,
                 GeluLowering, DropoutLowering, ConcatLowering, SliceLowering, IotaLowering, SliceScatterLowering,
                 ScatterAddLowering, StopGradientLowering>(ctx);
    kiln::populateConvolutionLowering(patterns);
    SmallVector<IndexCheck> statuses;
    patterns.add<GatherLowering, CrossEntropyLowering>(ctx, statuses);
    if (failed(applyPartialConversion(getOperation(), target, std::move(patterns))))
      return signalPassFailure();
    returnStatus(getOperation(), statuses);
  }
};

} // namespace
