//===- TileMatmul.cpp - matmuls as vectorized register tiles -------------===//
#include "passes/Passes.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/IR/LinalgInterfaces.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/SCF/Transforms/TileUsingInterface.h"
#include "mlir/Dialect/SCF/Transforms/Transforms.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace kiln {
#define GEN_PASS_DEF_TILEMATMUL
#include "passes/Passes.h.inc"
} // namespace kiln

using namespace mlir;

namespace {

/// A matmul-like contraction kiln can tile: static shapes, all loops parallel
/// but the last (the reduction), projected-permutation maps, a multiply-add
/// body.
bool isTileableMatmul(linalg::GenericOp op) {
  if (op.getNumDpsInits() != 1 || op.getNumDpsInputs() != 2 || !op.hasPureTensorSemantics())
    return false;
  auto iterators = op.getIteratorTypesArray();
  if (iterators.size() < 3 || !linalg::isReductionIterator(iterators.back()))
    return false;
  for (auto it : ArrayRef(iterators).drop_back())
    if (!linalg::isParallelIterator(it))
      return false;
  for (AffineMap map : op.getIndexingMapsArray())
    if (!map.isProjectedPermutation())
      return false;
  if (!linalg::isaContractionOpInterface(op))
    return false;
  for (int64_t size : op.getStaticLoopRanges())
    if (ShapedType::isDynamic(size))
      return false;
  return true;
}

struct TileMatmulPass : kiln::impl::TileMatmulBase<TileMatmulPass> {
  using TileMatmulBase::TileMatmulBase;

  void runOnOperation() override {
    func::FuncOp f = getOperation();
    MLIRContext *ctx = &getContext();
    SmallVector<linalg::GenericOp> targets;
    f.walk([&](linalg::GenericOp op) {
      if (isTileableMatmul(op))
        targets.push_back(op);
    });
    IRRewriter rewriter(ctx);
    for (linalg::GenericOp op : targets) {
      SmallVector<int64_t> ranges = op.getStaticLoopRanges();
      size_t n = ranges.size();
      // Batch loops 1, M and N register tiles, K 1 (the loop inside).
      SmallVector<OpFoldResult> sizes;
      for (size_t i = 0; i < n; ++i) {
        int64_t t = i + 3 < n ? 1 : i == n - 3 ? std::min<int64_t>(tileM, ranges[i])
                                  : i == n - 2 ? std::min<int64_t>(tileN, ranges[i])
                                               : 1;
        sizes.push_back(rewriter.getIndexAttr(t));
      }
      scf::SCFTilingOptions options;
      options.setTileSizes(sizes);
      rewriter.setInsertionPoint(op);
      auto tiled = scf::tileUsingSCF(rewriter, cast<TilingInterface>(op.getOperation()), options);
      if (failed(tiled))
        continue; // leave it on the scalar path
      rewriter.replaceOp(op, tiled->replacements);
      // Peel the partial tiles of the N then the M loop: every tile gets a
      // static shape, so it vectorizes without masks.
      SmallVector<scf::ForOp> loops;
      for (LoopLikeOpInterface l : tiled->loops)
        if (auto f = dyn_cast<scf::ForOp>(l.getOperation()))
          loops.push_back(f);
      if (loops.size() >= 3) {
        scf::ForOp mLoop = loops[loops.size() - 3], nLoop = loops[loops.size() - 2];
        scf::ForOp partial;
        (void)scf::peelForLoopAndSimplifyBounds(rewriter, nLoop, partial);
        (void)scf::peelForLoopAndSimplifyBounds(rewriter, mLoop, partial);
      }
    }
    // Fold the peeled bounds into static slice and tile shapes.
    // (As the canonicalize pass: every dialect's and op's patterns; linalg's
    // dialect-level ones fold the static slice types into the tiles.)
    RewritePatternSet patterns(ctx);
    for (Dialect *dialect : ctx->getLoadedDialects())
      dialect->getCanonicalizationPatterns(patterns);
    for (RegisteredOperationName name : ctx->getRegisteredOperations())
      name.getCanonicalizationPatterns(patterns, ctx);
    if (failed(applyPatternsAndFoldGreedily(f, std::move(patterns))))
      return signalPassFailure();
    // Vectorize every register tile (a tileable matmul of at most
    // tile-m x tile-n outputs and one k step; canonicalization re-creates the
    // ops, so they are recognised by shape).
    SmallVector<Operation *> tiles;
    f.walk([&](linalg::GenericOp op) {
      if (!isTileableMatmul(op))
        return;
      SmallVector<int64_t> r = op.getStaticLoopRanges();
      size_t n = r.size();
      bool registerTile = r[n - 1] == 1 && r[n - 2] <= tileN && r[n - 3] <= tileM;
      for (size_t i = 0; i + 3 < n; ++i)
        registerTile &= r[i] == 1;
      if (registerTile)
        tiles.push_back(op);
    });
    for (Operation *op : tiles) {
      rewriter.setInsertionPoint(op);
      (void)linalg::vectorize(rewriter, op); // an op it cannot vectorize stays scalar
    }
  }
};

} // namespace
