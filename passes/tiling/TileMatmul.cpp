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

/// Register tile rows x columns for an m x n output: half the vector
/// registers are accumulators (16 of AVX-512's 32 zmm, 8 of 16 otherwise);
/// up to 8 rows (4 with 16 registers), the columns filling the rest.
std::pair<int64_t, int64_t> registerTile(int64_t vectorBits, int64_t m, int64_t n) {
  int64_t lanes = std::max<int64_t>(vectorBits / 32, 1);
  int64_t accumulators = vectorBits >= 512 ? 16 : 8;
  int64_t rows = std::min<int64_t>(m, vectorBits >= 512 ? 8 : 4);
  int64_t columns = lanes * std::max<int64_t>(accumulators / rows, 1);
  return {rows, std::min<int64_t>(columns, n)};
}

struct TileMatmulPass : kiln::impl::TileMatmulBase<TileMatmulPass> {
  using TileMatmulBase::TileMatmulBase;

  std::pair<int64_t, int64_t> tileFor(int64_t m, int64_t n) const {
    auto [rows, columns] = registerTile(vectorBits, m, n);
    return {tileM > 0 ? std::min<int64_t>(tileM, m) : rows,
            tileN > 0 ? std::min<int64_t>(tileN, n) : columns};
  }

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
      auto [rows, columns] = tileFor(ranges[n - 3], ranges[n - 2]);
      SmallVector<OpFoldResult> sizes;
      for (size_t i = 0; i < n; ++i) {
        int64_t t = i == n - 3 ? rows : i == n - 2 ? columns : 1;
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
    // Vectorize every register tile (a tileable matmul of at most one
    // register tile of outputs and one k step; canonicalization re-creates
    // the ops, so they are recognised by shape).
    SmallVector<Operation *> tiles;
    f.walk([&](linalg::GenericOp op) {
      if (!isTileableMatmul(op))
        return;
      SmallVector<int64_t> r = op.getStaticLoopRanges();
      size_t n = r.size();
      int64_t lanes = std::max<int64_t>(vectorBits / 32, 1);
      int64_t maxRows = tileM > 0 ? tileM : 8, maxOutputs = tileN > 0 ? tileM * tileN : 16 * lanes;
      bool isTile = r[n - 1] == 1 && r[n - 3] <= maxRows && r[n - 3] * r[n - 2] <= maxOutputs;
      for (size_t i = 0; i + 3 < n; ++i)
        isTile &= r[i] == 1;
      if (isTile)
        tiles.push_back(op);
    });
    for (Operation *op : tiles) {
      rewriter.setInsertionPoint(op);
      (void)linalg::vectorize(rewriter, op); // an op it cannot vectorize stays scalar
    }
  }
};

} // namespace
