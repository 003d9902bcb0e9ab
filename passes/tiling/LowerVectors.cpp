//===- LowerVectors.cpp - register tiles to FMAs -------------------------===//
#include "passes/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/Transforms/Hoisting.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Dialect/Vector/Transforms/LoweringPatterns.h"
#include "mlir/Dialect/Vector/Transforms/VectorRewritePatterns.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"
#include "mlir/Transforms/LoopInvariantCodeMotionUtils.h"
#include "mlir/Interfaces/LoopLikeInterface.h"

namespace kiln {
#define GEN_PASS_DEF_LOWERVECTORS
#include "passes/Passes.h.inc"
} // namespace kiln

using namespace mlir;

namespace {

/// acc + a * b on vectors -> vector.fma(a, b, acc): the register tile's
/// multiply-accumulate in one instruction (one rounding, as BLAS does).
/// The product may reach the add through a shape_cast dropping the tile's
/// unit k dimension.
struct FuseMultiplyAdd : OpRewritePattern<arith::AddFOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(arith::AddFOp add, PatternRewriter &rewriter) const override {
    auto type = dyn_cast<VectorType>(add.getType());
    if (!type)
      return failure();
    for (int i = 0; i < 2; ++i) {
      Value product = add->getOperand(i);
      if (auto cast = product.getDefiningOp<vector::ShapeCastOp>(); cast && cast->hasOneUse())
        product = cast.getSource();
      auto mul = product.getDefiningOp<arith::MulFOp>();
      if (!mul || !mul->hasOneUse())
        continue;
      Value a = mul.getLhs(), b = mul.getRhs();
      if (a.getType() != type) {
        a = rewriter.create<vector::ShapeCastOp>(add.getLoc(), type, a);
        b = rewriter.create<vector::ShapeCastOp>(add.getLoc(), type, b);
      }
      rewriter.replaceOpWithNewOp<vector::FMAOp>(add, a, b, add->getOperand(1 - i));
      return success();
    }
    return failure();
  }
};

/// A transfer_read that reads one element and broadcasts it (a row's max or
/// label, a scalar): one scalar load and a vector.broadcast. (The upstream
/// lowering turns a trailing broadcast into a loop of insertelements, which
/// LLVM builds through the stack: `kiln compile --emit=asm` of a 96-wide
/// cross-entropy train step showed ~380 instructions per lane.)
struct BroadcastScalarRead : OpRewritePattern<vector::TransferReadOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(vector::TransferReadOp read, PatternRewriter &rewriter) const override {
    auto source = dyn_cast<MemRefType>(read.getSource().getType());
    VectorType type = read.getVectorType();
    if (!source || read.getMask() || type.getRank() == 0)
      return failure();
    AffineMap map = read.getPermutationMap();
    bool broadcasts = false;
    for (auto [i, result] : llvm::enumerate(map.getResults())) {
      if (auto c = dyn_cast<AffineConstantExpr>(result); c && c.getValue() == 0) {
        broadcasts = true;
        continue; // a broadcast dimension
      }
      if (type.getDimSize(i) != 1 || !read.isDimInBounds(i))
        return failure(); // reads more than one element
    }
    if (!broadcasts)
      return failure();
    // Source dims not in the map are read at their index only.
    Value scalar = rewriter.create<memref::LoadOp>(read.getLoc(), read.getSource(), read.getIndices());
    rewriter.replaceOpWithNewOp<vector::BroadcastOp>(read, type, scalar);
    return success();
  }
};

struct LowerVectorsPass : kiln::impl::LowerVectorsBase<LowerVectorsPass> {
  void runOnOperation() override {
    func::FuncOp f = getOperation();
    // The accumulator stays in registers across the k loop: the tile's
    // subviews leave the loop first (LICM), then its read and write.
    f.walk([](LoopLikeOpInterface loop) { moveLoopInvariantCode(loop); });
    linalg::hoistRedundantVectorTransfers(f);
    MLIRContext *ctx = &getContext();
    RewritePatternSet patterns(ctx);
    patterns.add<FuseMultiplyAdd, BroadcastScalarRead>(ctx);
    vector::VectorTransformsOptions options;
    options.setVectorTransformsOptions(vector::VectorContractLowering::OuterProduct);
    vector::populateVectorContractLoweringPatterns(patterns, options);
    vector::populateVectorOuterProductLoweringPatterns(patterns);
    vector::populateVectorTransferPermutationMapLoweringPatterns(patterns);
    vector::populateVectorTransposeLoweringPatterns(patterns, options);
    vector::populateVectorBroadcastLoweringPatterns(patterns);
    vector::populateVectorShapeCastLoweringPatterns(patterns);
    vector::populateVectorMultiReductionLoweringPatterns(
        patterns, vector::VectorMultiReductionLowering::InnerReduction);
    vector::TransferReadOp::getCanonicalizationPatterns(patterns, ctx);
    vector::TransferWriteOp::getCanonicalizationPatterns(patterns, ctx);
    if (failed(applyPatternsAndFoldGreedily(f, std::move(patterns))))
      signalPassFailure();
  }
};
} // namespace
