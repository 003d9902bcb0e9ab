//===- ConvolutionToLinalg.cpp - conv2d and its gradients to linalg ------===//
//
// Each of the three ops becomes one linalg.generic over the grouped views
// [N, G, C/G, H, W] of the activations and [G, O/G, C/G, KH, KW] of the
// weight (expand_shape, free), its windows read through affine maps
// (i * stride + k * dilation), the padding as zeros around a copy of the
// input (insert_slice into a filled tensor):
//   conv2d:          out[n, g, o, i, j]  += xpad[n, g, c, i*sh + kh*dh, j*sw + kw*dw] * w[g, o, c, kh, kw]
//   backward weight: dw[g, o, c, kh, kw] += xpad[n, g, c, i*sh + kh*dh, j*sw + kw*dw] * grad[n, g, o, i, j]
//   backward input:  the cotangent placed every stride-th position in zeros
//                    (insert_slice with strides), shifted by (KH-1)*dh - top,
//                    then a stride-1 convolution with the weight flipped:
//                    dx[n, g, c, h, w] += gp[n, g, o, h + (KH-1-kh)*dh, w + (KW-1-kw)*dw] * w[g, o, c, kh, kw]
// (The reference interpreter computes dx as a scatter over the windows,
// independently of this.) These are plain loops for now: kiln-tile-matmul
// takes projected permutations only; a tiled convolution is the next step.
//
//===----------------------------------------------------------------------===//
#include "passes/lowering/ConvolutionToLinalg.h"
#include "ir/Conv2dGeometry.h"
#include "ir/Dialect.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Transforms/DialectConversion.h"

using namespace mlir;
using namespace kiln::nn;

namespace {

RankedTensorType tensorOf(Value v) { return cast<RankedTensorType>(v.getType()); }

Value zerosOf(OpBuilder &b, Location loc, ArrayRef<int64_t> shape, Type element) {
  Value empty = b.create<tensor::EmptyOp>(loc, shape, element);
  Value zero = b.create<arith::ConstantOp>(loc, b.getFloatAttr(element, 0.0));
  return b.create<linalg::FillOp>(loc, zero, empty).getResult(0);
}

SmallVector<OpFoldResult> indexAttrs(OpBuilder &b, ArrayRef<int64_t> values) {
  SmallVector<OpFoldResult> out;
  for (int64_t v : values)
    out.push_back(b.getIndexAttr(v));
  return out;
}

/// `source` written into zeros of `shape` at `offsets`, every `strides`-th
/// position (the padding around an input; the cotangent spread by stride).
Value placedInZeros(OpBuilder &b, Location loc, Value source, ArrayRef<int64_t> shape, ArrayRef<int64_t> offsets,
                    ArrayRef<int64_t> strides) {
  Value zeros = zerosOf(b, loc, shape, tensorOf(source).getElementType());
  return b.create<tensor::InsertSliceOp>(loc, source, zeros, indexAttrs(b, offsets),
                                         indexAttrs(b, tensorOf(source).getShape()), indexAttrs(b, strides));
}

/// x [N, C, H, W] with the geometry's zero padding around H and W.
Value padded(OpBuilder &b, Location loc, Value x, const Conv2dGeometry &g) {
  if (!g.padTop && !g.padLeft && !g.padBottom && !g.padRight)
    return x;
  ArrayRef<int64_t> s = tensorOf(x).getShape();
  return placedInZeros(b, loc, x, {s[0], s[1], s[2] + g.padTop + g.padBottom, s[3] + g.padLeft + g.padRight},
                       {0, 0, g.padTop, g.padLeft}, {1, 1, 1, 1});
}

/// [A, B, ...] viewed as [A, G, B / G, ...] (activations: the channel dim
/// split into groups) or [A, ...] as [G, A / G, ...] (the weight).
Value grouped(OpBuilder &b, Location loc, Value v, int64_t dim, int64_t groups) {
  RankedTensorType t = tensorOf(v);
  SmallVector<int64_t> shape;
  SmallVector<ReassociationIndices> reassociation;
  for (int64_t i = 0, next = 0; i < t.getRank(); ++i) {
    if (i == dim) {
      shape.append({groups, t.getDimSize(i) / groups});
      reassociation.push_back({next, next + 1});
      next += 2;
    } else {
      shape.push_back(t.getDimSize(i));
      reassociation.push_back({next++});
    }
  }
  return b.create<tensor::ExpandShapeOp>(loc, RankedTensorType::get(shape, t.getElementType()), v, reassociation);
}

/// The inverse of `grouped`: [.., G, B / G, ..] back to [.., B, ..].
Value ungrouped(OpBuilder &b, Location loc, Value v, int64_t dim) {
  RankedTensorType t = tensorOf(v);
  SmallVector<int64_t> shape;
  SmallVector<ReassociationIndices> reassociation;
  for (int64_t i = 0; i < t.getRank(); ++i) {
    if (i == dim) {
      shape.push_back(t.getDimSize(i) * t.getDimSize(i + 1));
      reassociation.push_back({i, i + 1});
      ++i;
    } else {
      shape.push_back(t.getDimSize(i));
      reassociation.push_back({i});
    }
  }
  return b.create<tensor::CollapseShapeOp>(loc, RankedTensorType::get(shape, t.getElementType()), v, reassociation);
}

/// out (zeros of `shape`) += a * b over eight loops, five parallel (the
/// output's) then three reductions, reading `a` and `b` through `maps`.
Value multiplyAccumulate(OpBuilder &b, Location loc, Value lhs, Value rhs, ArrayRef<int64_t> shape,
                         ArrayRef<AffineMap> maps) {
  Value init = zerosOf(b, loc, shape, tensorOf(lhs).getElementType());
  SmallVector<utils::IteratorType> iterators(5, utils::IteratorType::parallel);
  iterators.append(3, utils::IteratorType::reduction);
  auto generic = b.create<linalg::GenericOp>(
      loc, TypeRange{init.getType()}, ValueRange{lhs, rhs}, ValueRange{init}, maps, iterators,
      [](OpBuilder &nb, Location nloc, ValueRange args) {
        Value product = nb.create<arith::MulFOp>(nloc, args[0], args[1]);
        nb.create<linalg::YieldOp>(nloc, ValueRange{nb.create<arith::AddFOp>(nloc, args[2], product)});
      });
  return generic.getResult(0);
}

struct Conv2dLowering : OpConversionPattern<Conv2dOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(Conv2dOp op, OpAdaptor adaptor, ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Conv2dGeometry g = Conv2dGeometry::of(op);
    ArrayRef<int64_t> out = op.getType().getShape(), w = tensorOf(op.getW()).getShape();
    Value x = grouped(rewriter, loc, padded(rewriter, loc, adaptor.getX(), g), 1, g.groups); // [N, G, Cg, Hp, Wp]
    Value weight = grouped(rewriter, loc, adaptor.getW(), 0, g.groups);                     // [G, Og, Cg, KH, KW]
    // Loops (n, g, o, i, j | c, kh, kw).
    MLIRContext *ctx = rewriter.getContext();
    AffineExpr n, gr, o, i, j, c, kh, kw;
    bindDims(ctx, n, gr, o, i, j, c, kh, kw);
    SmallVector<AffineMap> maps = {
        AffineMap::get(8, 0, {n, gr, c, i * g.strideH + kh * g.dilationH, j * g.strideW + kw * g.dilationW}, ctx),
        AffineMap::get(8, 0, {gr, o, c, kh, kw}, ctx), AffineMap::get(8, 0, {n, gr, o, i, j}, ctx)};
    Value result = multiplyAccumulate(rewriter, loc, x, weight,
                                      {out[0], g.groups, w[0] / g.groups, out[2], out[3]}, maps);
    rewriter.replaceOp(op, ungrouped(rewriter, loc, result, 1));
    return success();
  }
};

struct Conv2dBackwardWeightLowering : OpConversionPattern<Conv2dBackwardWeightOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(Conv2dBackwardWeightOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Conv2dGeometry g = Conv2dGeometry::of(op);
    ArrayRef<int64_t> dw = op.getType().getShape();
    Value x = grouped(rewriter, loc, padded(rewriter, loc, adaptor.getX(), g), 1, g.groups); // [N, G, Cg, Hp, Wp]
    Value grad = grouped(rewriter, loc, adaptor.getGrad(), 1, g.groups);                    // [N, G, Og, Ho, Wo]
    // Loops (g, o, c, kh, kw | n, i, j).
    MLIRContext *ctx = rewriter.getContext();
    AffineExpr gr, o, c, kh, kw, n, i, j;
    bindDims(ctx, gr, o, c, kh, kw, n, i, j);
    SmallVector<AffineMap> maps = {
        AffineMap::get(8, 0, {n, gr, c, i * g.strideH + kh * g.dilationH, j * g.strideW + kw * g.dilationW}, ctx),
        AffineMap::get(8, 0, {n, gr, o, i, j}, ctx), AffineMap::get(8, 0, {gr, o, c, kh, kw}, ctx)};
    Value result =
        multiplyAccumulate(rewriter, loc, x, grad, {g.groups, dw[0] / g.groups, dw[1], dw[2], dw[3]}, maps);
    rewriter.replaceOp(op, ungrouped(rewriter, loc, result, 0));
    return success();
  }
};

/// floor(a / b) and ceil(a / b) for b > 0 and any a.
int64_t floorDiv(int64_t a, int64_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }
int64_t ceilDiv(int64_t a, int64_t b) { return -floorDiv(-a, b); }

struct Conv2dBackwardInputLowering : OpConversionPattern<Conv2dBackwardInputOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(Conv2dBackwardInputOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Conv2dGeometry g = Conv2dGeometry::of(op);
    ArrayRef<int64_t> dx = op.getType().getShape(), w = tensorOf(op.getW()).getShape(),
                      gs = tensorOf(op.getGrad()).getShape();
    int64_t kh = w[2], kw = w[3];
    // gp[u] = grad[(u - base) / stride] where that divides, else 0, over
    // u in [0, H + (KH-1) dh); base = (KH-1) dh - top. Outputs whose u falls
    // outside only ever met the padding: they are left out.
    int64_t lenH = dx[2] + (kh - 1) * g.dilationH, lenW = dx[3] + (kw - 1) * g.dilationW;
    int64_t baseH = (kh - 1) * g.dilationH - g.padTop, baseW = (kw - 1) * g.dilationW - g.padLeft;
    int64_t firstH = std::max<int64_t>(0, ceilDiv(-baseH, g.strideH));
    int64_t lastH = std::min<int64_t>(gs[2] - 1, floorDiv(lenH - 1 - baseH, g.strideH));
    int64_t firstW = std::max<int64_t>(0, ceilDiv(-baseW, g.strideW));
    int64_t lastW = std::min<int64_t>(gs[3] - 1, floorDiv(lenW - 1 - baseW, g.strideW));
    Type element = op.getType().getElementType();
    Value spread;
    if (firstH > lastH || firstW > lastW) {
      spread = zerosOf(rewriter, loc, {gs[0], gs[1], lenH, lenW}, element);
    } else {
      Value grad = adaptor.getGrad();
      if (firstH > 0 || firstW > 0 || lastH < gs[2] - 1 || lastW < gs[3] - 1)
        grad = rewriter.create<tensor::ExtractSliceOp>(
            loc, grad, indexAttrs(rewriter, {0, 0, firstH, firstW}),
            indexAttrs(rewriter, {gs[0], gs[1], lastH - firstH + 1, lastW - firstW + 1}),
            indexAttrs(rewriter, {1, 1, 1, 1}));
      spread = placedInZeros(rewriter, loc, grad, {gs[0], gs[1], lenH, lenW},
                             {0, 0, firstH * g.strideH + baseH, firstW * g.strideW + baseW},
                             {1, 1, g.strideH, g.strideW});
    }
    Value gp = grouped(rewriter, loc, spread, 1, g.groups);           // [N, G, Og, lenH, lenW]
    Value weight = grouped(rewriter, loc, adaptor.getW(), 0, g.groups); // [G, Og, Cg, KH, KW]
    // Loops (n, g, c, h, w | o, y, z) with (y, z) the weight's own tap and
    // the spread cotangent read flipped (linalg needs every loop as a plain
    // index of some operand to size it).
    MLIRContext *ctx = rewriter.getContext();
    AffineExpr n, gr, c, h, x, o, y, z;
    bindDims(ctx, n, gr, c, h, x, o, y, z);
    SmallVector<AffineMap> maps = {
        AffineMap::get(8, 0, {n, gr, o, h + ((kh - 1) - y) * g.dilationH, x + ((kw - 1) - z) * g.dilationW}, ctx),
        AffineMap::get(8, 0, {gr, o, c, y, z}, ctx), AffineMap::get(8, 0, {n, gr, c, h, x}, ctx)};
    Value result = multiplyAccumulate(rewriter, loc, gp, weight, {dx[0], g.groups, w[1], dx[2], dx[3]}, maps);
    rewriter.replaceOp(op, ungrouped(rewriter, loc, result, 1));
    return success();
  }
};

} // namespace

void kiln::populateConvolutionLowering(RewritePatternSet &patterns) {
  patterns.add<Conv2dLowering, Conv2dBackwardWeightLowering, Conv2dBackwardInputLowering>(patterns.getContext());
}
