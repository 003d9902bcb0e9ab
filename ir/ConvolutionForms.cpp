//===- ConvolutionForms.cpp - convolutions that are matmuls --------------===//
//
//   pointwise        conv2d(x [1, C, H, W], w [O, C, 1, 1]) with one group
//                    and no padding
//                 -> reshape(matmul(reshape(w, [O, C]), reshape(x', [1, C, Ho*Wo])), [1, O, Ho, Wo])
//     where x' is x with every stride-th pixel (a slice; x itself at
//     stride 1). A 1x1 convolution is a product of the weight with every
//     pixel's channels: as a matmul it takes kiln-tile-matmul's packed
//     register tiles (a ResNet bottleneck's 1x1 layers), and its gradients
//     are matmul's. Applied before autodiff, like matmul's own forms.
//
//===----------------------------------------------------------------------===//
#include "ir/Dialect.h"
#include "ir/NNBuilder.h"

#include "mlir/IR/PatternMatch.h"

using namespace mlir;
using namespace kiln::nn;

namespace {

struct PointwiseConvolutionIsMatmul : OpRewritePattern<Conv2dOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(Conv2dOp op, PatternRewriter &rewriter) const override {
    ArrayRef<int64_t> w = op.getW().getType().getShape();
    if (w[2] != 1 || w[3] != 1 || op.getGroups() != 1 || llvm::any_of(op.getPadding(), [](int64_t p) { return p; }))
      return failure();
    // One image only: a batch shares the weight (A), not the pixels, so its
    // product is a batched matmul with a broadcast A, which reads B's rows
    // unpacked (ResNet's 1x1 256 -> 64 at 56x56, batch 32: 26 GFLOP/s,
    // against 45 as a direct convolution).
    if (op.getX().getType().getShape()[0] != 1)
      return failure();
    NNBuilder b(rewriter, op.getLoc());
    Value x = op.getX();
    ArrayRef<int64_t> xs = op.getX().getType().getShape();
    ArrayRef<int64_t> strides = op.getStrides();
    if (strides[0] != 1 || strides[1] != 1)
      x = b.slice(x, {0, 0, 0, 0}, xs, {1, 1, strides[0], strides[1]});
    ArrayRef<int64_t> out = op.getType().getShape();
    Value pixels = b.reshape(x, {out[0], xs[1], out[2] * out[3]});
    Value product = b.matmul(b.reshape(op.getW(), {w[0], w[1]}), pixels, false, false);
    rewriter.replaceOp(op, b.reshape(product, out));
    return success();
  }
};

} // namespace

void Conv2dOp::getCanonicalizationPatterns(RewritePatternSet &results, MLIRContext *context) {
  results.add<PointwiseConvolutionIsMatmul>(context);
}
