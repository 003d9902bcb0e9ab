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

/// Marks a loop whose iterations write disjoint outputs and may run on
/// different threads (see kiln-parallelize-loops).
constexpr llvm::StringLiteral kParallelAttr = "kiln.parallel";

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

/// At the start of the column-tile loop `nLoop`, copies B[0:K, n0:n0+w]
/// into a contiguous K x w panel and makes `tile` read its B rows from it.
void packB(RewriterBase &rewriter, scf::ForOp nLoop, Operation *tile, int64_t n, int64_t k,
           int64_t columns) {
  auto bSlice = tile->getOperand(1).getDefiningOp<tensor::ExtractSliceOp>();
  if (!bSlice || !bSlice->hasOneUse())
    return;
  Location loc = bSlice.getLoc();
  Value b = bSlice.getSource();
  if (!b.getParentRegion()->isProperAncestor(&nLoop.getRegion()))
    return; // B must be defined outside the loops
  rewriter.setInsertionPointToStart(nLoop.getBody());
  Value iv = nLoop.getInductionVar();
  OpFoldResult width = rewriter.getIndexAttr(columns);
  if (n % columns != 0) {
    AffineExpr d0 = rewriter.getAffineDimExpr(0);
    width = affine::makeComposedFoldedAffineMin(
        rewriter, loc,
        AffineMap::get(1, 0, {rewriter.getAffineConstantExpr(columns), n - d0}, rewriter.getContext()),
        {iv});
  }
  SmallVector<OpFoldResult> panelOffsets{rewriter.getIndexAttr(0), iv};
  SmallVector<OpFoldResult> panelSizes{rewriter.getIndexAttr(k), width};
  SmallVector<OpFoldResult> ones(2, rewriter.getIndexAttr(1));
  Value source = rewriter.create<tensor::ExtractSliceOp>(loc, b, panelOffsets, panelSizes, ones);
  Type elem = cast<RankedTensorType>(b.getType()).getElementType();
  Value empty = rewriter.create<tensor::EmptyOp>(loc, panelSizes, elem);
  Value panel = rewriter.create<linalg::CopyOp>(loc, source, empty).getResult(0);
  rewriter.setInsertionPoint(bSlice);
  SmallVector<OpFoldResult> offsets{bSlice.getMixedOffsets()[0], rewriter.getIndexAttr(0)};
  rewriter.replaceOpWithNewOp<tensor::ExtractSliceOp>(bSlice, bSlice.getType(), panel, offsets,
                                                      bSlice.getMixedSizes(), bSlice.getMixedStrides());
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
      // A plain 2-D matmul with several row tiles packs B: the column loop
      // goes outside, and each B panel (K x columns) is copied once into a
      // contiguous buffer that every row tile then reads row by row (B's
      // own rows may be 4 KiB apart, which thrashes L1 sets).
      AffineMap bMap = op.getIndexingMapsArray()[1];
      bool pack = n == 3 && ranges[0] > rows && ranges[2] >= 16 &&
                  bMap == AffineMap::get(3, 0, {rewriter.getAffineDimExpr(2), rewriter.getAffineDimExpr(1)}, ctx);
      if (pack)
        options.setInterchange({1, 0, 2});
      rewriter.setInsertionPoint(op);
      auto tiled = scf::tileUsingSCF(rewriter, cast<TilingInterface>(op.getOperation()), options);
      if (failed(tiled))
        continue; // leave it on the scalar path
      rewriter.replaceOp(op, tiled->replacements);
      // The output-tile loops (all but the k loop) are independent: mark
      // them for kiln-parallelize-loops when the matmul is worth threads.
      double flops = 2;
      for (int64_t r : ranges)
        flops *= double(r);
      if (flops >= double(parallelMinFlops))
        for (LoopLikeOpInterface l : ArrayRef(tiled->loops).drop_back())
          l->setAttr(kParallelAttr, rewriter.getUnitAttr());
      if (pack && tiled->loops.size() == 3)
        packB(rewriter, cast<scf::ForOp>(tiled->loops[0].getOperation()),
              tiled->tiledOps.back(), ranges[1], ranges[2], columns);
      // Peel the partial tiles of the N then the M loop: every tile gets a
      // static shape, so it vectorizes without masks.
      SmallVector<scf::ForOp> loops;
      for (LoopLikeOpInterface l : tiled->loops)
        if (auto f = dyn_cast<scf::ForOp>(l.getOperation()))
          loops.push_back(f);
      if (loops.size() >= 3) {
        // The inner of the two tile loops first: peeling the outer one then
        // copies both of its parts.
        scf::ForOp outer = loops[loops.size() - 3], inner = loops[loops.size() - 2];
        scf::ForOp partial;
        (void)scf::peelForLoopAndSimplifyBounds(rewriter, inner, partial);
        (void)scf::peelForLoopAndSimplifyBounds(rewriter, outer, partial);
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
      int64_t maxRows = tileM > 0 ? tileM : 8;
      int64_t maxOutputs = std::max<int64_t>(16 * lanes, maxRows * (tileN > 0 ? tileN : 16 * lanes));
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
