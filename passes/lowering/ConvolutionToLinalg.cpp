//===- ConvolutionToLinalg.cpp - conv2d, pooling and gradients to linalg -===//
//
// Convolutions (grouped views [N, G, C/G, H, W] of the activations and
// [G, O/G, C/G, KH, KW] of the weight, by free expand_shapes) become one
// linalg.generic each in the direct form: the padded input's rows laid end
// to end, so that every tap is a shift along one axis,
//   conv2d:          out[n, g, o, q]      += x[n, g, c, q + kh*dh*Wp + kw*dw] * w[g, o, c, kh, kw]
//   backward weight: dw[g, kh, kw, c, o]  += x[n, g, c, q + kh*dh*Wp + kw*dw] * gt[n, g, q, o]
//   backward input:  the cotangent placed every stride-th position in zeros
//                    (insert_slice with strides), then a stride-1 conv2d of
//                    it with the weight's taps reversed and its channels
//                    swapped (a small generic of its own, so that the big one
//                    reads every operand forward)
// with q = i * Wp + j over [0, Ho * Wp): the columns j >= Wo of each row are
// computed and cut off by a view. A stride above 1 first splits the input
// into stride x stride phases (space to depth) and the kernel with it, which
// makes it a stride-1 convolution (PhaseSplit). kiln-tile-convolution tiles
// the direct form to register tiles: along q the input is one contiguous
// vector per tap. (The reference interpreter computes all three as plain
// sums over the windows, independently of this.)
//
//===----------------------------------------------------------------------===//
#include "passes/lowering/ConvolutionToLinalg.h"
#include "ir/Conv2dGeometry.h"
#include "ir/Dialect.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Transforms/DialectConversion.h"
#include "llvm/Support/MathExtras.h"

#include <cmath>

using namespace mlir;
using namespace kiln::nn;

namespace {

RankedTensorType tensorOf(Value v) { return cast<RankedTensorType>(v.getType()); }

Value filledWith(OpBuilder &b, Location loc, ArrayRef<int64_t> shape, Type element, double value) {
  Value empty = b.create<tensor::EmptyOp>(loc, shape, element);
  Value fill = b.create<arith::ConstantOp>(loc, b.getFloatAttr(element, value));
  return b.create<linalg::FillOp>(loc, fill, empty).getResult(0);
}
Value zerosOf(OpBuilder &b, Location loc, ArrayRef<int64_t> shape, Type element) {
  return filledWith(b, loc, shape, element, 0.0);
}

SmallVector<OpFoldResult> indexAttrs(OpBuilder &b, ArrayRef<int64_t> values) {
  SmallVector<OpFoldResult> out;
  for (int64_t v : values)
    out.push_back(b.getIndexAttr(v));
  return out;
}

/// `source` written into a tensor of `shape` filled with `fill`, at
/// `offsets`, every `strides`-th position (the padding around an input; the
/// cotangent spread by stride).
Value placedIn(OpBuilder &b, Location loc, Value source, ArrayRef<int64_t> shape, ArrayRef<int64_t> offsets,
               ArrayRef<int64_t> strides, double fill = 0.0) {
  Value filled = filledWith(b, loc, shape, tensorOf(source).getElementType(), fill);
  return b.create<tensor::InsertSliceOp>(loc, source, filled, indexAttrs(b, offsets),
                                         indexAttrs(b, tensorOf(source).getShape()), indexAttrs(b, strides));
}

/// x [N, C, H, W] with the geometry's padding (of `fill`) around H and W,
/// and `extraRows` more rows of it below.
Value padded(OpBuilder &b, Location loc, Value x, const Conv2dGeometry &g, double fill = 0.0,
             int64_t extraRows = 0) {
  if (!g.padTop && !g.padLeft && !g.padBottom && !g.padRight && !extraRows)
    return x;
  ArrayRef<int64_t> s = tensorOf(x).getShape();
  return placedIn(b, loc, x,
                  {s[0], s[1], s[2] + g.padTop + g.padBottom + extraRows, s[3] + g.padLeft + g.padRight},
                  {0, 0, g.padTop, g.padLeft}, {1, 1, 1, 1}, fill);
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

/// out (zeros of `shape`) += a * b: the output's loops (parallel) first,
/// then `reductions` reduction loops, reading `a` and `b` through `maps`.
Value multiplyAccumulate(OpBuilder &b, Location loc, Value lhs, Value rhs, ArrayRef<int64_t> shape,
                         ArrayRef<AffineMap> maps, unsigned reductions) {
  Value init = zerosOf(b, loc, shape, tensorOf(lhs).getElementType());
  SmallVector<utils::IteratorType> iterators(shape.size(), utils::IteratorType::parallel);
  iterators.append(reductions, utils::IteratorType::reduction);
  auto generic = b.create<linalg::GenericOp>(
      loc, TypeRange{init.getType()}, ValueRange{lhs, rhs}, ValueRange{init}, maps, iterators,
      [](OpBuilder &nb, Location nloc, ValueRange args) {
        Value product = nb.create<arith::MulFOp>(nloc, args[0], args[1]);
        nb.create<linalg::YieldOp>(nloc, ValueRange{nb.create<arith::AddFOp>(nloc, args[2], product)});
      });
  return generic.getResult(0);
}

/// `v` with its dims permuted (a copy): result dim i is v's dim perm[i].
Value transposed(OpBuilder &b, Location loc, Value v, ArrayRef<int64_t> perm) {
  RankedTensorType t = tensorOf(v);
  SmallVector<int64_t> shape;
  for (int64_t d : perm)
    shape.push_back(t.getDimSize(d));
  Value empty = b.create<tensor::EmptyOp>(loc, shape, t.getElementType());
  return b.create<linalg::TransposeOp>(loc, v, empty, perm).getResult()[0];
}

/// Dims of `v` merged (`groups`: consecutive runs) or split (`shape`).
Value collapsed(OpBuilder &b, Location loc, Value v, ArrayRef<ReassociationIndices> groups) {
  return b.create<tensor::CollapseShapeOp>(loc, v, groups);
}
Value expanded(OpBuilder &b, Location loc, Value v, ArrayRef<int64_t> shape, ArrayRef<ReassociationIndices> groups) {
  return b.create<tensor::ExpandShapeOp>(loc, RankedTensorType::get(shape, tensorOf(v).getElementType()), v, groups);
}

/// The direct form reads rows laid end to end, so the last output row's
/// columns past Wo read up to (KW - 1) * dw elements beyond the last padded
/// row: one more row of zeros below covers them.
int64_t wrapRows(int64_t kw, int64_t dw) { return (kw - 1) * dw > 0 ? 1 : 0; }

/// A stride-1 convolution in the direct form: the padded input's rows laid
/// end to end ([N, G, C, Hp * Wp], a free collapse), so that output row i,
/// column j is position q = i * Wp + j, and every tap (kh, kw) is one shift:
///   out[n, g, o, q] += x[n, g, c, q + kh*dh*Wp + kw*dw] * w[g, o, c, kh, kw]
/// over q in [0, Ho * Wp). The Wp - Wo columns of each row past Wo are
/// computed and cut off (a view). Along q the input is read contiguously,
/// which is what kiln-tile-convolution's register tiles want: a vector of
/// outputs times one weight broadcast, no packing and no im2col.
/// `xpad`: [N, G, C, Hp, Wp] with Hp >= ho + (KH-1) dh + wrapRows(KW, dw);
/// `w`: [G, O, C, KH, KW]. Returns [N, G, O, ho, wo].
Value directConvolution(OpBuilder &b, Location loc, Value xpad, Value w, int64_t dh, int64_t dw, int64_t ho,
                        int64_t wo) {
  ArrayRef<int64_t> xs = tensorOf(xpad).getShape(), ws = tensorOf(w).getShape();
  int64_t wp = xs[4], positions = ho * wp;
  assert(xs[3] >= ho + (ws[3] - 1) * dh + wrapRows(ws[4], dw) && "direct convolution: padded input too short");
  Value flat = collapsed(b, loc, xpad, {{0}, {1}, {2}, {3, 4}});
  // Loops (n, g, o, q | c, kh, kw).
  MLIRContext *ctx = b.getContext();
  AffineExpr n, gr, o, q, c, kh, kw;
  bindDims(ctx, n, gr, o, q, c, kh, kw);
  SmallVector<AffineMap> maps = {AffineMap::get(7, 0, {n, gr, c, q + kh * (dh * wp) + kw * dw}, ctx),
                                 AffineMap::get(7, 0, {gr, o, c, kh, kw}, ctx),
                                 AffineMap::get(7, 0, {n, gr, o, q}, ctx)};
  Value out = multiplyAccumulate(b, loc, flat, w, {xs[0], xs[1], ws[1], positions}, maps, 3);
  Value rows = expanded(b, loc, out, {xs[0], xs[1], ws[1], ho, wp}, {{0}, {1}, {2}, {3, 4}});
  if (wp == wo)
    return rows;
  return b.create<tensor::ExtractSliceOp>(loc, rows, indexAttrs(b, {0, 0, 0, 0, 0}),
                                          indexAttrs(b, {xs[0], xs[1], ws[1], ho, wo}),
                                          indexAttrs(b, {1, 1, 1, 1, 1}));
}

/// The weight gradient of a stride-1 convolution in the direct form:
///   dw[g, kh, kw, c, o] += x[n, g, c, q + kh*dh*Wp + kw*dw] * gt[n, g, q, o]
/// where gt is the cotangent laid out like the direct form's output
/// ([Ho, Wp] rows end to end, zeros past Wo) and transposed to put the
/// output channels last (the register tile's vectors run along them).
/// `xpad` as for directConvolution; `grad`: [N, G, O, Ho, Wo].
/// Returns [G, O, C, KH, KW].
Value directWeightGradient(OpBuilder &b, Location loc, Value xpad, Value grad, int64_t kh, int64_t kw, int64_t dh,
                           int64_t dw) {
  ArrayRef<int64_t> xs = tensorOf(xpad).getShape(), gs = tensorOf(grad).getShape();
  int64_t wp = xs[4], ho = gs[3], wo = gs[4];
  assert(xs[3] >= ho + (kh - 1) * dh + wrapRows(kw, dw) && "direct convolution: padded input too short");
  Value flat = collapsed(b, loc, xpad, {{0}, {1}, {2}, {3, 4}});
  // Transposed first, then placed in the zeros: the transpose writes
  // straight into the padded buffer (empty-tensor elimination), one pass.
  Value gt = transposed(b, loc, grad, {0, 1, 3, 4, 2}); // [N, G, Ho, Wo, O]
  if (wp != wo)
    gt = placedIn(b, loc, gt, {gs[0], gs[1], ho, wp, gs[2]}, {0, 0, 0, 0, 0}, {1, 1, 1, 1, 1});
  gt = collapsed(b, loc, gt, {{0}, {1}, {2, 3}, {4}}); // [N, G, Ho * Wp, O]
  // Loops (g, kh, kw, c, o | n, q): the input channels are a register
  // tile's rows, the output channels its vector lanes.
  MLIRContext *ctx = b.getContext();
  AffineExpr gr, y, z, c, o, n, q;
  bindDims(ctx, gr, y, z, c, o, n, q);
  SmallVector<AffineMap> maps = {AffineMap::get(7, 0, {n, gr, c, q + y * (dh * wp) + z * dw}, ctx),
                                 AffineMap::get(7, 0, {n, gr, q, o}, ctx),
                                 AffineMap::get(7, 0, {gr, y, z, c, o}, ctx)};
  Value dwt = multiplyAccumulate(b, loc, flat, gt, {xs[1], kh, kw, xs[2], gs[2]}, maps, 2);
  return transposed(b, loc, dwt, {0, 4, 3, 1, 2});
}

/// A convolution of stride (sh, sw) is a stride-1 convolution of its input
/// split into sh * sw phases (space to depth): phase (rh, rw) holds rows
/// rh, rh + sh, ... and columns rw, rw + sw, ..., and tap (kh, kw) of the
/// kernel, kh = qh * sh + rh, reads phase (rh, rw) at (i + qh, j + qw).
/// The kernel is zero-padded to multiples of the stride (a 7x7 stride-2
/// kernel does the work of an 8x8: 1.3x the multiply-adds, against strided
/// reads that no vector load serves). The zero taps do read input values:
/// an infinite input makes NaN (0 * inf) of outputs whose own windows miss
/// it, where they would be finite.
struct PhaseSplit {
  int64_t sh, sw;       // the strides
  int64_t khq, kwq;     // the split kernel's taps
  int64_t hq, wq;       // each phase's rows (with the wrap row) and columns
};

PhaseSplit phaseSplitOf(const Conv2dGeometry &g, int64_t h, int64_t w, int64_t kh, int64_t kw, int64_t ho,
                        int64_t wo) {
  PhaseSplit s{g.strideH, g.strideW, llvm::divideCeilSigned(kh, g.strideH), llvm::divideCeilSigned(kw, g.strideW), 0, 0};
  int64_t hp = h + g.padTop + g.padBottom, wp = w + g.padLeft + g.padRight;
  s.wq = std::max<int64_t>(llvm::divideCeilSigned(wp, s.sw), wo + s.kwq - 1);
  s.hq = std::max<int64_t>(llvm::divideCeilSigned(hp, s.sh), ho + s.khq - 1) + wrapRows(s.kwq, 1);
  return s;
}

/// x [N, C, H, W] padded and split into phases: [N, C * sh * sw, Hq, Wq].
Value splitInput(OpBuilder &b, Location loc, Value x, const Conv2dGeometry &g, const PhaseSplit &s) {
  ArrayRef<int64_t> xs = tensorOf(x).getShape();
  Value z = placedIn(b, loc, x, {xs[0], xs[1], s.hq * s.sh, s.wq * s.sw}, {0, 0, g.padTop, g.padLeft}, {1, 1, 1, 1});
  z = expanded(b, loc, z, {xs[0], xs[1], s.hq, s.sh, s.wq, s.sw}, {{0}, {1}, {2, 3}, {4, 5}});
  z = transposed(b, loc, z, {0, 1, 3, 5, 2, 4});
  return collapsed(b, loc, z, {{0}, {1, 2, 3}, {4}, {5}});
}

/// A kernel [O, C, KH, KW] (already dilated) split like its input:
/// [O, C * sh * sw, KHq, KWq], the taps past KH and KW zeros.
Value splitKernel(OpBuilder &b, Location loc, Value w, const PhaseSplit &s) {
  ArrayRef<int64_t> ws = tensorOf(w).getShape();
  Value z = placedIn(b, loc, w, {ws[0], ws[1], s.khq * s.sh, s.kwq * s.sw}, {0, 0, 0, 0}, {1, 1, 1, 1});
  z = expanded(b, loc, z, {ws[0], ws[1], s.khq, s.sh, s.kwq, s.sw}, {{0}, {1}, {2, 3}, {4, 5}});
  z = transposed(b, loc, z, {0, 1, 3, 5, 2, 4});
  return collapsed(b, loc, z, {{0}, {1, 2, 3}, {4}, {5}});
}

/// The inverse of splitKernel: [O, C * sh * sw, KHq, KWq] back to
/// [O, C, kh, kw] (the zero taps dropped).
Value unsplitKernel(OpBuilder &b, Location loc, Value wq, const PhaseSplit &s, int64_t kh, int64_t kw) {
  ArrayRef<int64_t> ws = tensorOf(wq).getShape();
  int64_t c = ws[1] / (s.sh * s.sw);
  Value z = expanded(b, loc, wq, {ws[0], c, s.sh, s.sw, s.khq, s.kwq}, {{0}, {1, 2, 3}, {4}, {5}});
  z = transposed(b, loc, z, {0, 1, 4, 2, 5, 3}); // [O, C, KHq, sh, KWq, sw]
  z = collapsed(b, loc, z, {{0}, {1}, {2, 3}, {4, 5}});
  if (s.khq * s.sh == kh && s.kwq * s.sw == kw)
    return z;
  return b.create<tensor::ExtractSliceOp>(loc, z, indexAttrs(b, {0, 0, 0, 0}), indexAttrs(b, {ws[0], c, kh, kw}),
                                          indexAttrs(b, {1, 1, 1, 1}));
}

/// A dilated kernel as a plain one with zeros between its taps (only where
/// a stride above 1 needs the phase split).
Value undilatedKernel(OpBuilder &b, Location loc, Value w, const Conv2dGeometry &g) {
  if (g.dilationH == 1 && g.dilationW == 1)
    return w;
  ArrayRef<int64_t> ws = tensorOf(w).getShape();
  return placedIn(b, loc, w, {ws[0], ws[1], (ws[2] - 1) * g.dilationH + 1, (ws[3] - 1) * g.dilationW + 1},
                  {0, 0, 0, 0}, {1, 1, g.dilationH, g.dilationW});
}

/// x [N, C, H, W] padded for the direct form at stride 1: [N, C, Hp + wrap, Wp].
Value paddedForDirect(OpBuilder &b, Location loc, Value x, const Conv2dGeometry &g, int64_t kw) {
  return padded(b, loc, x, g, 0.0, wrapRows(kw, g.dilationW));
}

bool unitStride(const Conv2dGeometry &g) { return g.strideH == 1 && g.strideW == 1; }

struct Conv2dLowering : OpConversionPattern<Conv2dOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(Conv2dOp op, OpAdaptor adaptor, ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Conv2dGeometry g = Conv2dGeometry::of(op);
    ArrayRef<int64_t> out = op.getType().getShape(), xs = tensorOf(op.getX()).getShape(),
                      ws = tensorOf(op.getW()).getShape();
    Value result;
    if (unitStride(g)) {
      Value x = grouped(rewriter, loc, paddedForDirect(rewriter, loc, adaptor.getX(), g, ws[3]), 1, g.groups);
      Value w = grouped(rewriter, loc, adaptor.getW(), 0, g.groups);
      result = directConvolution(rewriter, loc, x, w, g.dilationH, g.dilationW, out[2], out[3]);
    } else {
      Value w = undilatedKernel(rewriter, loc, adaptor.getW(), g);
      ArrayRef<int64_t> wd = tensorOf(w).getShape();
      PhaseSplit s = phaseSplitOf(g, xs[2], xs[3], wd[2], wd[3], out[2], out[3]);
      Value x = grouped(rewriter, loc, splitInput(rewriter, loc, adaptor.getX(), g, s), 1, g.groups);
      w = grouped(rewriter, loc, splitKernel(rewriter, loc, w, s), 0, g.groups);
      result = directConvolution(rewriter, loc, x, w, 1, 1, out[2], out[3]);
    }
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
    ArrayRef<int64_t> dw = op.getType().getShape(), xs = tensorOf(op.getX()).getShape(),
                      gs = tensorOf(op.getGrad()).getShape();
    Value grad = grouped(rewriter, loc, adaptor.getGrad(), 1, g.groups); // [N, G, Og, Ho, Wo]
    Value result;
    if (unitStride(g)) {
      Value x = grouped(rewriter, loc, paddedForDirect(rewriter, loc, adaptor.getX(), g, dw[3]), 1, g.groups);
      result = ungrouped(rewriter, loc,
                         directWeightGradient(rewriter, loc, x, grad, dw[2], dw[3], g.dilationH, g.dilationW), 0);
    } else {
      // The gradient of the split kernel, split back (and undilated).
      int64_t khd = (dw[2] - 1) * g.dilationH + 1, kwd = (dw[3] - 1) * g.dilationW + 1;
      PhaseSplit s = phaseSplitOf(g, xs[2], xs[3], khd, kwd, gs[2], gs[3]);
      Value x = grouped(rewriter, loc, splitInput(rewriter, loc, adaptor.getX(), g, s), 1, g.groups);
      Value dwq = ungrouped(rewriter, loc, directWeightGradient(rewriter, loc, x, grad, s.khq, s.kwq, 1, 1), 0);
      result = unsplitKernel(rewriter, loc, dwq, s, khd, kwd);
      if (g.dilationH != 1 || g.dilationW != 1)
        result = rewriter.create<tensor::ExtractSliceOp>(loc, result, indexAttrs(rewriter, {0, 0, 0, 0}),
                                                         indexAttrs(rewriter, dw),
                                                         indexAttrs(rewriter, {1, 1, g.dilationH, g.dilationW}));
    }
    rewriter.replaceOp(op, result);
    return success();
  }
};

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
    // outside only ever met the padding: they are left out. (One more row
    // of zeros below: the direct form's wrap.)
    int64_t lenH = dx[2] + (kh - 1) * g.dilationH, lenW = dx[3] + (kw - 1) * g.dilationW;
    int64_t rowsH = lenH + wrapRows(kw, g.dilationW);
    int64_t baseH = (kh - 1) * g.dilationH - g.padTop, baseW = (kw - 1) * g.dilationW - g.padLeft;
    int64_t firstH = std::max<int64_t>(0, llvm::divideCeilSigned(-baseH, g.strideH));
    int64_t lastH = std::min<int64_t>(gs[2] - 1, llvm::divideFloorSigned(lenH - 1 - baseH, g.strideH));
    int64_t firstW = std::max<int64_t>(0, llvm::divideCeilSigned(-baseW, g.strideW));
    int64_t lastW = std::min<int64_t>(gs[3] - 1, llvm::divideFloorSigned(lenW - 1 - baseW, g.strideW));
    Type element = op.getType().getElementType();
    Value spread;
    if (firstH > lastH || firstW > lastW) {
      spread = zerosOf(rewriter, loc, {gs[0], gs[1], rowsH, lenW}, element);
    } else {
      Value grad = adaptor.getGrad();
      if (firstH > 0 || firstW > 0 || lastH < gs[2] - 1 || lastW < gs[3] - 1)
        grad = rewriter.create<tensor::ExtractSliceOp>(
            loc, grad, indexAttrs(rewriter, {0, 0, firstH, firstW}),
            indexAttrs(rewriter, {gs[0], gs[1], lastH - firstH + 1, lastW - firstW + 1}),
            indexAttrs(rewriter, {1, 1, 1, 1}));
      spread = placedIn(rewriter, loc, grad, {gs[0], gs[1], rowsH, lenW},
                        {0, 0, firstH * g.strideH + baseH, firstW * g.strideW + baseW},
                        {1, 1, g.strideH, g.strideW});
    }
    Value gp = grouped(rewriter, loc, spread, 1, g.groups); // [N, G, Og, rowsH, lenW]
    // The weight with its taps reversed and its channels swapped,
    // [G, Cg, Og, KH, KW], by a generic of its own: the convolution then
    // reads every operand forward (an index like KH - 1 - kh in it would
    // make its tiling for the thread pool compute wrong slices:
    // kiln::readsAgainstTheLoops).
    MLIRContext *ctx = rewriter.getContext();
    Value weight = grouped(rewriter, loc, adaptor.getW(), 0, g.groups); // [G, Og, Cg, KH, KW]
    {
      AffineExpr a, c, o, y, z;
      bindDims(ctx, a, c, o, y, z);
      ArrayRef<int64_t> t = tensorOf(weight).getShape();
      Value init = rewriter.create<tensor::EmptyOp>(loc, ArrayRef<int64_t>{t[0], t[2], t[1], t[3], t[4]}, element);
      SmallVector<AffineMap> flipMaps = {AffineMap::get(5, 0, {a, o, c, (kh - 1) - y, (kw - 1) - z}, ctx),
                                         AffineMap::getMultiDimIdentityMap(5, ctx)};
      weight = rewriter
                   .create<linalg::GenericOp>(loc, TypeRange{init.getType()}, ValueRange{weight}, ValueRange{init},
                                              flipMaps,
                                              SmallVector<utils::IteratorType>(5, utils::IteratorType::parallel),
                                              [](OpBuilder &nb, Location nloc, ValueRange args) {
                                                nb.create<linalg::YieldOp>(nloc, ValueRange{args[0]});
                                              })
                   .getResult(0);
    }
    Value result = directConvolution(rewriter, loc, gp, weight, g.dilationH, g.dilationW, dx[2], dx[3]);
    rewriter.replaceOp(op, ungrouped(rewriter, loc, result, 1));
    return success();
  }
};

//===--- pooling ----------------------------------------------------------===//

/// The geometry of a pooling op (dilation 1, one group).
template <typename Op> Conv2dGeometry poolGeometry(Op op) {
  return Conv2dGeometry::of(op.getStrides(), op.getPadding(), {1, 1}, 1);
}

/// Loops (n, c, i, j | kh, kw) of a pooling window: maps reading the padded
/// input, a [KH, KW] window operand (only its shape: linalg sizes kh and kw
/// from it) and the output.
SmallVector<AffineMap> windowMaps(MLIRContext *ctx, const Conv2dGeometry &g) {
  AffineExpr n, c, i, j, y, z;
  bindDims(ctx, n, c, i, j, y, z);
  return {AffineMap::get(6, 0, {n, c, i * g.strideH + y, j * g.strideW + z}, ctx),
          AffineMap::get(6, 0, {y, z}, ctx), AffineMap::get(6, 0, {n, c, i, j}, ctx)};
}

SmallVector<utils::IteratorType> windowIterators() {
  SmallVector<utils::IteratorType> iterators(4, utils::IteratorType::parallel);
  iterators.append(2, utils::IteratorType::reduction);
  return iterators;
}

/// What each output of an average pooling divides by, as a [Ho, Wo]
/// constant (or a scalar with count_include_pad).
Value poolCounts(OpBuilder &b, Location loc, const Conv2dGeometry &g, ArrayRef<int64_t> kernel, int64_t h, int64_t w,
                 int64_t ho, int64_t wo, bool includePad, Type element) {
  auto type = RankedTensorType::get(includePad ? ArrayRef<int64_t>{} : ArrayRef<int64_t>{ho, wo}, element);
  SmallVector<Attribute> counts;
  auto inside = [](int64_t first, int64_t k, int64_t size) {
    return std::min(first + k, size) - std::max<int64_t>(first, 0);
  };
  if (includePad)
    counts.push_back(b.getFloatAttr(element, double(kernel[0] * kernel[1])));
  else
    for (int64_t i = 0; i < ho; ++i)
      for (int64_t j = 0; j < wo; ++j)
        counts.push_back(b.getFloatAttr(element, double(inside(i * g.strideH - g.padTop, kernel[0], h) *
                                                        inside(j * g.strideW - g.padLeft, kernel[1], w))));
  return b.create<arith::ConstantOp>(loc, DenseElementsAttr::get(type, counts));
}

/// out[n, c, i, j] = body(in0[n, c, i, j], in1 read through `map1`, ...).
Value elementwise4(OpBuilder &b, Location loc, ValueRange inputs, ArrayRef<AffineMap> inputMaps,
                   function_ref<Value(OpBuilder &, Location, ValueRange)> body) {
  RankedTensorType t = tensorOf(inputs[0]);
  Value init = b.create<tensor::EmptyOp>(loc, t.getShape(), t.getElementType());
  SmallVector<AffineMap> maps(inputMaps);
  maps.push_back(AffineMap::getMultiDimIdentityMap(4, b.getContext()));
  SmallVector<utils::IteratorType> iterators(4, utils::IteratorType::parallel);
  return b
      .create<linalg::GenericOp>(loc, TypeRange{init.getType()}, inputs, ValueRange{init}, maps, iterators,
                                 [&](OpBuilder &nb, Location nloc, ValueRange args) {
                                   nb.create<linalg::YieldOp>(nloc, ValueRange{body(nb, nloc, args)});
                                 })
      .getResult(0);
}

/// The map reading a count operand ([Ho, Wo] or a scalar) in a 4-D loop nest.
AffineMap countMap(MLIRContext *ctx, Value counts) {
  if (tensorOf(counts).getRank() == 0)
    return AffineMap::get(4, 0, {}, ctx);
  return AffineMap::get(4, 0, {getAffineDimExpr(2, ctx), getAffineDimExpr(3, ctx)}, ctx);
}

struct MaxPool2dLowering : OpConversionPattern<MaxPool2dOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(MaxPool2dOp op, OpAdaptor adaptor, ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Conv2dGeometry g = poolGeometry(op);
    Type element = op.getType().getElementType();
    Value x = padded(rewriter, loc, adaptor.getX(), g, -INFINITY); // padding never wins
    Value window = rewriter.create<tensor::EmptyOp>(loc, op.getKernel(), element);
    Value init = filledWith(rewriter, loc, op.getType().getShape(), element, -INFINITY);
    Value result =
        rewriter
            .create<linalg::GenericOp>(loc, TypeRange{init.getType()}, ValueRange{x, window}, ValueRange{init},
                                       windowMaps(rewriter.getContext(), g), windowIterators(),
                                       [](OpBuilder &nb, Location nloc, ValueRange args) {
                                         nb.create<linalg::YieldOp>(
                                             nloc, ValueRange{nb.create<arith::MaximumFOp>(nloc, args[0], args[2])});
                                       })
            .getResult(0);
    rewriter.replaceOp(op, result);
    return success();
  }
};

struct AvgPool2dLowering : OpConversionPattern<AvgPool2dOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(AvgPool2dOp op, OpAdaptor adaptor, ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Conv2dGeometry g = poolGeometry(op);
    Type element = op.getType().getElementType();
    ArrayRef<int64_t> xs = tensorOf(op.getX()).getShape(), out = op.getType().getShape();
    Value x = padded(rewriter, loc, adaptor.getX(), g);
    Value window = rewriter.create<tensor::EmptyOp>(loc, op.getKernel(), element);
    Value init = zerosOf(rewriter, loc, out, element);
    Value sums = rewriter
                     .create<linalg::GenericOp>(loc, TypeRange{init.getType()}, ValueRange{x, window},
                                                ValueRange{init}, windowMaps(rewriter.getContext(), g),
                                                windowIterators(),
                                                [](OpBuilder &nb, Location nloc, ValueRange args) {
                                                  nb.create<linalg::YieldOp>(
                                                      nloc, ValueRange{nb.create<arith::AddFOp>(nloc, args[2], args[0])});
                                                })
                     .getResult(0);
    Value counts = poolCounts(rewriter, loc, g, op.getKernel(), xs[2], xs[3], out[2], out[3],
                              op.getCountIncludePad(), element);
    MLIRContext *ctx = rewriter.getContext();
    Value result = elementwise4(rewriter, loc, {sums, counts},
                                {AffineMap::getMultiDimIdentityMap(4, ctx), countMap(ctx, counts)},
                                [](OpBuilder &nb, Location nloc, ValueRange args) -> Value {
                                  return nb.create<arith::DivFOp>(nloc, args[0], args[1]);
                                });
    rewriter.replaceOp(op, result);
    return success();
  }
};

/// Adds, for each window tap (kh, kw) in turn, `contribution(tap)` (an
/// [N, C, Ho, Wo] value) into the padded input gradient at that tap's
/// positions (every stride-th, from (kh, kw)), then cuts the padding off.
Value scatterOverTaps(OpBuilder &b, Location loc, ArrayRef<int64_t> dx, const Conv2dGeometry &g,
                      ArrayRef<int64_t> kernel, ArrayRef<int64_t> out, Type element,
                      function_ref<Value(int64_t tap, Value view)> addTo) {
  SmallVector<int64_t> paddedShape = {dx[0], dx[1], dx[2] + g.padTop + g.padBottom, dx[3] + g.padLeft + g.padRight};
  Value acc = zerosOf(b, loc, paddedShape, element);
  for (int64_t y = 0; y < kernel[0]; ++y)
    for (int64_t z = 0; z < kernel[1]; ++z) {
      SmallVector<OpFoldResult> offsets = indexAttrs(b, {0, 0, y, z}), sizes = indexAttrs(b, out),
                                strides = indexAttrs(b, {1, 1, g.strideH, g.strideW});
      Value view = b.create<tensor::ExtractSliceOp>(loc, acc, offsets, sizes, strides);
      acc = b.create<tensor::InsertSliceOp>(loc, addTo(y * kernel[1] + z, view), acc, offsets, sizes, strides);
    }
  if (paddedShape == SmallVector<int64_t>(dx))
    return acc;
  return b.create<tensor::ExtractSliceOp>(loc, acc, indexAttrs(b, {0, 0, g.padTop, g.padLeft}), indexAttrs(b, dx),
                                          indexAttrs(b, {1, 1, 1, 1}));
}

struct MaxPool2dBackwardLowering : OpConversionPattern<MaxPool2dBackwardOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(MaxPool2dBackwardOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Conv2dGeometry g = poolGeometry(op);
    Type element = op.getType().getElementType();
    ArrayRef<int64_t> xs = op.getType().getShape(), out = tensorOf(op.getGrad()).getShape();
    ArrayRef<int64_t> kernel = op.getKernel();
    // Each window's first maximum: the tap index kh * KW + kw of the first
    // tap inside x (row-major) holding a value above every earlier one.
    Value x = padded(rewriter, loc, adaptor.getX(), g);
    Value window = rewriter.create<tensor::EmptyOp>(loc, kernel, element);
    Value best = filledWith(rewriter, loc, out, element, -INFINITY);
    Value none = rewriter.create<arith::ConstantOp>(loc, rewriter.getI64IntegerAttr(-1));
    Value noTap = rewriter.create<linalg::FillOp>(loc, none,
                                                  rewriter.create<tensor::EmptyOp>(loc, out, rewriter.getI64Type()).getResult())
                      .getResult(0);
    MLIRContext *ctx = rewriter.getContext();
    SmallVector<AffineMap> maps = windowMaps(ctx, g);
    maps.push_back(maps.back());
    int64_t h = xs[2], w = xs[3], kw = kernel[1];
    auto argmax = rewriter.create<linalg::GenericOp>(
        loc, TypeRange{best.getType(), noTap.getType()}, ValueRange{x, window}, ValueRange{best, noTap}, maps,
        windowIterators(), [&](OpBuilder &nb, Location nloc, ValueRange args) {
          auto index = [&](int64_t d) { return nb.create<linalg::IndexOp>(nloc, d).getResult(); };
          auto constant = [&](int64_t v) { return nb.create<arith::ConstantIndexOp>(nloc, v).getResult(); };
          auto inRange = [&](Value at, int64_t size) {
            Value low = nb.create<arith::CmpIOp>(nloc, arith::CmpIPredicate::sge, at, constant(0));
            Value high = nb.create<arith::CmpIOp>(nloc, arith::CmpIPredicate::slt, at, constant(size));
            return nb.create<arith::AndIOp>(nloc, low, high).getResult();
          };
          // The tap's position in x (not the padding).
          Value row = nb.create<arith::SubIOp>(
              nloc,
              nb.create<arith::AddIOp>(nloc, nb.create<arith::MulIOp>(nloc, index(2), constant(g.strideH)), index(4)),
              constant(g.padTop));
          Value col = nb.create<arith::SubIOp>(
              nloc,
              nb.create<arith::AddIOp>(nloc, nb.create<arith::MulIOp>(nloc, index(3), constant(g.strideW)), index(5)),
              constant(g.padLeft));
          Value inside = nb.create<arith::AndIOp>(nloc, inRange(row, h), inRange(col, w));
          Value first = nb.create<arith::CmpIOp>(nloc, arith::CmpIPredicate::slt, args[3],
                                                 nb.create<arith::ConstantIntOp>(nloc, 0, 64));
          Value above = nb.create<arith::CmpFOp>(nloc, arith::CmpFPredicate::OGT, args[0], args[2]);
          Value take = nb.create<arith::AndIOp>(nloc, inside, nb.create<arith::OrIOp>(nloc, first, above));
          Value tap = nb.create<arith::IndexCastOp>(
              nloc, nb.getI64Type(),
              nb.create<arith::AddIOp>(nloc, nb.create<arith::MulIOp>(nloc, index(4), constant(kw)), index(5)));
          nb.create<linalg::YieldOp>(nloc, ValueRange{nb.create<arith::SelectOp>(nloc, take, args[0], args[2]),
                                                      nb.create<arith::SelectOp>(nloc, take, tap, args[3])});
        });
    // Unpadded, every tap is inside x and the body is "the first tap, or
    // one above the best": kiln-tile-pooling makes it vector code.
    if (!g.padTop && !g.padLeft && !g.padBottom && !g.padRight)
      argmax->setAttr("kiln.window_argmax", rewriter.getUnitAttr());
    Value taps = argmax.getResult(1);
    Value grad = adaptor.getGrad();
    Value dx = scatterOverTaps(rewriter, loc, xs, g, kernel, out, element, [&](int64_t tap, Value view) {
      AffineMap id = AffineMap::getMultiDimIdentityMap(4, ctx);
      return elementwise4(rewriter, loc, {view, taps, grad}, {id, id, id},
                          [&](OpBuilder &nb, Location nloc, ValueRange args) -> Value {
                            Value hit = nb.create<arith::CmpIOp>(nloc, arith::CmpIPredicate::eq, args[1],
                                                                 nb.create<arith::ConstantIntOp>(nloc, tap, 64));
                            Value zero = nb.create<arith::ConstantOp>(nloc, nb.getFloatAttr(element, 0.0));
                            return nb.create<arith::AddFOp>(nloc, args[0],
                                                            nb.create<arith::SelectOp>(nloc, hit, args[2], zero));
                          });
    });
    rewriter.replaceOp(op, dx);
    return success();
  }
};

struct AvgPool2dBackwardLowering : OpConversionPattern<AvgPool2dBackwardOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(AvgPool2dBackwardOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Conv2dGeometry g = poolGeometry(op);
    Type element = op.getType().getElementType();
    ArrayRef<int64_t> xs = op.getType().getShape(), out = tensorOf(op.getGrad()).getShape();
    MLIRContext *ctx = rewriter.getContext();
    Value counts = poolCounts(rewriter, loc, g, op.getKernel(), xs[2], xs[3], out[2], out[3],
                              op.getCountIncludePad(), element);
    AffineMap id = AffineMap::getMultiDimIdentityMap(4, ctx);
    Value share = elementwise4(rewriter, loc, {adaptor.getGrad(), counts}, {id, countMap(ctx, counts)},
                               [](OpBuilder &nb, Location nloc, ValueRange args) -> Value {
                                 return nb.create<arith::DivFOp>(nloc, args[0], args[1]);
                               });
    Value dx = scatterOverTaps(rewriter, loc, xs, g, op.getKernel(), out, element, [&](int64_t, Value view) {
      return elementwise4(rewriter, loc, {view, share}, {id, id},
                          [](OpBuilder &nb, Location nloc, ValueRange args) -> Value {
                            return nb.create<arith::AddFOp>(nloc, args[0], args[1]);
                          });
    });
    rewriter.replaceOp(op, dx);
    return success();
  }
};

} // namespace

void kiln::populateConvolutionLowering(RewritePatternSet &patterns) {
  patterns.add<Conv2dLowering, Conv2dBackwardWeightLowering, Conv2dBackwardInputLowering, MaxPool2dLowering,
               AvgPool2dLowering, MaxPool2dBackwardLowering, AvgPool2dBackwardLowering>(patterns.getContext());
}
