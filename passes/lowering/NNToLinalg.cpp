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
#include "ir/Dialect.h"
#include "ir/ShapeRules.h"
#include "passes/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
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
/// the other dimensions, starts at `initValue` and takes
/// `combine(inputs..., acc)` per element.
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
  Value empty = b.create<tensor::EmptyOp>(loc, outShape, inType.getElementType());
  Value init = b.create<linalg::FillOp>(loc, initValue, empty).getResult(0);
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

SmallVector<int64_t> normalized(ArrayRef<int64_t> axes, int64_t rank) {
  SmallVector<int64_t> out;
  for (int64_t a : axes)
    out.push_back(a < 0 ? a + rank : a);
  llvm::sort(out);
  return out;
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
    Value empty = rewriter.create<tensor::EmptyOp>(loc, outType.getShape(), elem);
    Value zero = floatConst(rewriter, loc, elem, 0.0);
    Value init = rewriter.create<linalg::FillOp>(loc, zero, empty).getResult(0);
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
    SmallVector<int64_t> axes = normalized(op.getAxes(), xType.getRank());
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

struct LowerNNToLinalgPass : kiln::impl::LowerNNToLinalgBase<LowerNNToLinalgPass> {
  void runOnOperation() override {
    MLIRContext *ctx = &getContext();
    ConversionTarget target(*ctx);
    target.addIllegalDialect<NNDialect>();
    target.markUnknownOpDynamicallyLegal([](Operation *) { return true; });
    RewritePatternSet patterns(ctx);
    patterns.add<ElementwiseLowering<NegOp, negBody>, ElementwiseLowering<AbsOp, absBody>,
                 ElementwiseLowering<ExpOp, expBody>, ElementwiseLowering<LogOp, logBody>,
                 ElementwiseLowering<SqrtOp, sqrtBody>, ElementwiseLowering<RsqrtOp, rsqrtBody>,
                 ElementwiseLowering<TanhOp, tanhBody>,
                 ElementwiseLowering<SigmoidOp, sigmoidBody>,
                 ElementwiseLowering<ReluOp, reluBody>, ElementwiseLowering<AddOp, addBody>,
                 ElementwiseLowering<SubOp, subBody>, ElementwiseLowering<MulOp, mulBody>,
                 ElementwiseLowering<DivOp, divBody>, ElementwiseLowering<MaxOp, maxBody>,
                 ElementwiseLowering<MinOp, minBody>>(ctx);
    patterns.add<MatmulLowering, ReduceLowering<ReduceSumOp>, ReduceLowering<ReduceMeanOp>,
                 ReduceLowering<ReduceMaxOp>, SoftmaxLowering, ReshapeLowering, TransposeLowering,
                 BroadcastToLowering, ConstantLowering, LossLowering<L1LossOp>,
                 LossLowering<MseLossOp>>(ctx);
    if (failed(applyPartialConversion(getOperation(), target, std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace
