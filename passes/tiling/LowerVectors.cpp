//===- LowerVectors.cpp - register tiles to FMAs -------------------------===//
#include "passes/Passes.h"

#include "mlir/Dialect/Linalg/Transforms/Hoisting.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Dialect/Vector/Transforms/LoweringPatterns.h"
#include "mlir/Dialect/Vector/Transforms/VectorRewritePatterns.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace kiln {
#define GEN_PASS_DEF_LOWERVECTORS
#include "passes/Passes.h.inc"
} // namespace kiln

using namespace mlir;

namespace {
struct LowerVectorsPass : kiln::impl::LowerVectorsBase<LowerVectorsPass> {
  void runOnOperation() override {
    func::FuncOp f = getOperation();
    // The accumulator stays in registers across the k loop.
    linalg::hoistRedundantVectorTransfers(f);
    MLIRContext *ctx = &getContext();
    RewritePatternSet patterns(ctx);
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
