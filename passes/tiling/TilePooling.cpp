//===- TilePooling.cpp - pooling windows as vector code ------------------===//
//
// Pooling reaches this pass as window reductions (passes/lowering/
// ConvolutionToLinalg.cpp): loops (n, c, i, j | kh, kw) reading
// x[n, c, i*sh + kh, j*sw + kw], a [KH, KW] operand giving the window's
// size, and one of three bodies:
//   max:    out = max(out, x)                      (max pooling)
//   sum:    out = out + x                          (average pooling's sums)
//   argmax: the first tap holding the window's maximum, and that maximum
//           (max pooling's gradient, unpadded windows; marked
//           `kiln.window_argmax` by the lowering)
// MLIR's vectorizer takes projected permutations only, so these ran as
// scalar loops (2.7 GB/s for a 2x2 max pool where Halide's vector loop ran
// at 22: docs/halide.md). Here every output row is cut into vectors of
// outputs: per tap, one contiguous load of the input row (every sw-th
// element picked by a shuffle when the stride is above 1), combined into
// the accumulators in the taps' row-major order, exactly as the loops
// combine them. Rows (n, c, i) go on the thread pool.
//
//===----------------------------------------------------------------------===//
#include "passes/Passes.h"
#include "passes/tiling/VectorizeSupport.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/Utils/Utils.h"
#include "mlir/Dialect/SCF/Transforms/TileUsingInterface.h"
#include "mlir/Dialect/SCF/Transforms/Transforms.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

namespace kiln {
#define GEN_PASS_DEF_TILEPOOLING
#include "passes/Passes.h.inc"
} // namespace kiln

using namespace mlir;
using kiln::kParallelAttr;

namespace {

enum class Combine { max, sum, argmax };

/// Marks a tile until it becomes vector code.
constexpr llvm::StringLiteral kPoolTileAttr = "kiln.pool_tile";

/// The window reduction's strides, or nullopt when `op` is not one.
struct Window {
  Combine combine;
  int64_t strideH, strideW;
};

std::optional<Window> matchWindow(linalg::GenericOp op) {
  if (op.getNumDpsInputs() != 2 || op.getNumLoops() != 6 || op.getNumParallelLoops() != 4 ||
      !op.hasPureTensorSemantics())
    return std::nullopt;
  SmallVector<utils::IteratorType> iterators = op.getIteratorTypesArray();
  for (unsigned i = 0; i < 6; ++i)
    if (linalg::isParallelIterator(iterators[i]) != (i < 4))
      return std::nullopt;
  for (int64_t r : op.getStaticLoopRanges())
    if (ShapedType::isDynamic(r) || r == 0)
      return std::nullopt;
  Type element = getElementTypeOrSelf(op.getDpsInputs()[0].getType());
  if (!element.isF32() && !element.isF64())
    return std::nullopt;
  // x[n, c, i*sh + kh, j*sw + kw], the window [kh, kw], outputs [n, c, i, j].
  MLIRContext *ctx = op.getContext();
  SmallVector<AffineMap> maps = op.getIndexingMapsArray();
  AffineExpr n, c, i, j, kh, kw;
  bindDims(ctx, n, c, i, j, kh, kw);
  Window w{Combine::max, 0, 0};
  for (int64_t sh = 1; sh <= 16 && !w.strideH; ++sh)
    for (int64_t sw = 1; sw <= 16 && !w.strideH; ++sw)
      if (maps[0] == AffineMap::get(6, 0, {n, c, i * sh + kh, j * sw + kw}, ctx))
        w.strideH = sh, w.strideW = sw;
  if (!w.strideH || maps[1] != AffineMap::get(6, 0, {kh, kw}, ctx))
    return std::nullopt;
  for (unsigned k = 2; k < maps.size(); ++k)
    if (maps[k] != AffineMap::get(6, 0, {n, c, i, j}, ctx))
      return std::nullopt;
  Block &body = op.getRegion().front();
  if (op.getNumDpsInits() == 2) {
    // The argmax: float maximum and i64 tap, as the lowering marks it.
    if (!op->hasAttr("kiln.window_argmax") || getElementTypeOrSelf(op->getResult(1).getType()) !=
                                                  IntegerType::get(ctx, 64))
      return std::nullopt;
    w.combine = Combine::argmax;
    return w;
  }
  if (op.getNumDpsInits() != 1 || body.getOperations().size() != 2)
    return std::nullopt;
  Operation &combine = body.front();
  Value x = body.getArgument(0), out = body.getArgument(2);
  bool reads = combine.getNumOperands() == 2 &&
               ((combine.getOperand(0) == x && combine.getOperand(1) == out) ||
                (combine.getOperand(0) == out && combine.getOperand(1) == x));
  if (!reads)
    return std::nullopt;
  if (isa<arith::MaximumFOp>(combine))
    w.combine = Combine::max;
  else if (isa<arith::AddFOp>(combine))
    w.combine = Combine::sum;
  else
    return std::nullopt;
  return w;
}

/// One tile (n, c, i single, `columns` outputs along j) as vector code.
void emitTile(RewriterBase &rewriter, linalg::GenericOp tile, const Window &w) {
  Location loc = tile.getLoc();
  SmallVector<int64_t> ranges = tile.getStaticLoopRanges();
  int64_t columns = ranges[3], kh = ranges[4], kw = ranges[5];
  Type element = getElementTypeOrSelf(tile.getDpsInputs()[0].getType());
  int64_t span = (columns - 1) * w.strideW + 1; // the input row one tap reads
  auto spanType = VectorType::get({span}, element);
  Value x = tile.getDpsInputs()[0];
  SmallVector<AffineMap> maps = tile.getIndexingMapsArray();
  rewriter.setInsertionPoint(tile);
  auto constant = [&](int64_t v) -> Value { return rewriter.create<arith::ConstantIndexOp>(loc, v); };
  SmallVector<Value> at(6, constant(0));
  SmallVector<bool> inBounds{true};
  Value zero = rewriter.create<arith::ConstantOp>(loc, rewriter.getFloatAttr(element, 0.0));

  // The accumulators start from the fills (or what the outputs hold).
  SmallVector<Value> accumulators, destinations;
  for (Value init : tile.getDpsInits()) {
    Type t = getElementTypeOrSelf(init.getType());
    auto type = VectorType::get({columns}, t);
    if (auto fill = init.getDefiningOp<linalg::FillOp>()) {
      accumulators.push_back(rewriter.create<vector::BroadcastOp>(loc, type, fill.getInputs()[0]));
      destinations.push_back(fill.getOutputs()[0]);
      continue;
    }
    Value padding = t.isIntOrIndex() ? Value(rewriter.create<arith::ConstantOp>(loc, rewriter.getIntegerAttr(t, 0)))
                                     : Value(rewriter.create<arith::ConstantOp>(loc, rewriter.getFloatAttr(t, 0.0)));
    accumulators.push_back(
        rewriter.create<vector::TransferReadOp>(loc, type, init, kiln::indicesAt(rewriter, loc, maps[2], at),
                                                padding, inBounds));
    destinations.push_back(init);
  }
  // Every sw-th element of a row read in one piece.
  SmallVector<int64_t> picks;
  for (int64_t k = 0; k < columns; ++k)
    picks.push_back(k * w.strideW);
  auto i64Vector = VectorType::get({columns}, rewriter.getI64Type());
  for (int64_t y = 0; y < kh; ++y)
    for (int64_t z = 0; z < kw; ++z) {
      at[4] = constant(y), at[5] = constant(z);
      Value v = rewriter.create<vector::TransferReadOp>(loc, spanType, x, kiln::indicesAt(rewriter, loc, maps[0], at),
                                                        zero, inBounds);
      if (w.strideW > 1)
        v = rewriter.create<vector::ShuffleOp>(loc, v, v, picks);
      switch (w.combine) {
      case Combine::max:
        accumulators[0] = rewriter.create<arith::MaximumFOp>(loc, v, accumulators[0]);
        break;
      case Combine::sum:
        accumulators[0] = rewriter.create<arith::AddFOp>(loc, accumulators[0], v);
        break;
      case Combine::argmax: {
        // Taken where no tap is yet (tap < 0) or above the best so far:
        // the first maximum in row-major order wins.
        Value none = rewriter.create<arith::CmpIOp>(
            loc, arith::CmpIPredicate::slt, accumulators[1],
            rewriter.create<arith::ConstantOp>(loc, DenseElementsAttr::get(i64Vector, int64_t(0))));
        Value above = rewriter.create<arith::CmpFOp>(loc, arith::CmpFPredicate::OGT, v, accumulators[0]);
        Value take = rewriter.create<arith::OrIOp>(loc, none, above);
        Value tap = rewriter.create<arith::ConstantOp>(loc, DenseElementsAttr::get(i64Vector, y * kw + z));
        accumulators[0] = rewriter.create<arith::SelectOp>(loc, take, v, accumulators[0]);
        accumulators[1] = rewriter.create<arith::SelectOp>(loc, take, tap, accumulators[1]);
        break;
      }
      }
    }
  at[4] = constant(0), at[5] = constant(0);
  SmallVector<Value> results;
  for (auto [acc, dest] : llvm::zip(accumulators, destinations))
    results.push_back(rewriter
                          .create<vector::TransferWriteOp>(loc, acc, dest,
                                                           kiln::indicesAt(rewriter, loc, maps[2], at), inBounds)
                          .getResult());
  rewriter.replaceOp(tile, results);
}

struct TilePoolingPass : kiln::impl::TilePoolingBase<TilePoolingPass> {
  using TilePoolingBase::TilePoolingBase;

  void tile(linalg::GenericOp op, IRRewriter &rewriter) {
    SmallVector<int64_t> ranges = op.getStaticLoopRanges();
    int64_t elementBits = getElementTypeOrSelf(op.getDpsInputs()[0].getType()).getIntOrFloatBitWidth();
    int64_t lanes = std::max<int64_t>(vectorBits / elementBits, 1);
    // Two vectors of outputs per tile (fewer in a narrower row).
    int64_t columns = std::min<int64_t>(ranges[3], 2 * lanes);
    SmallVector<OpFoldResult> sizes = {rewriter.getIndexAttr(1), rewriter.getIndexAttr(1), rewriter.getIndexAttr(1),
                                       rewriter.getIndexAttr(columns), rewriter.getIndexAttr(0),
                                       rewriter.getIndexAttr(0)};
    scf::SCFTilingOptions tiling;
    tiling.setTileSizes(sizes);
    scf::SCFTileAndFuseOptions options;
    options.setTilingOptions(tiling);
    SmallVector<Operation *> fills;
    for (Value init : op.getDpsInits())
      if (auto fill = init.getDefiningOp<linalg::FillOp>())
        fills.push_back(fill);
    options.setFusionControlFn([&](tensor::ExtractSliceOp, OpResult producer, bool) {
      return std::make_tuple(llvm::is_contained(fills, producer.getOwner()), false);
    });
    rewriter.setInsertionPoint(op);
    auto tiled = scf::tileConsumerAndFuseProducersUsingSCF(rewriter, cast<TilingInterface>(op.getOperation()), options);
    if (failed(tiled))
      return;
    for (auto [original, replacement] : tiled->replacements)
      rewriter.replaceAllUsesWith(original, replacement);
    // (Marked now, matched once peeling and canonicalization have made
    // its sizes static.)
    for (Operation *t : tiled->tiledAndFusedOps)
      if (isa<linalg::GenericOp>(t))
        t->setAttr(kPoolTileAttr, rewriter.getUnitAttr());
    SmallVector<scf::ForOp> loops;
    for (LoopLikeOpInterface l : tiled->loops)
      if (auto f = dyn_cast<scf::ForOp>(l.getOperation()))
        loops.push_back(f);
    if (loops.size() != 4)
      return;
    // The outermost loop of enough rows goes on the pool (rows never share
    // an output); the kernel is named on the outermost that runs twice.
    int64_t outputs = ranges[0] * ranges[1] * ranges[2] * ranges[3];
    SmallVector<int64_t> trips = {ranges[0], ranges[1], ranges[2], llvm::divideCeilSigned(ranges[3], columns)};
    auto named = llvm::find_if(trips, [](int64_t t) { return t > 1; });
    loops[named == trips.end() ? 0 : named - trips.begin()]->setAttr(kiln::kKernelAttr,
                                                                     rewriter.getStringAttr("pooling"));
    if (outputs >= parallelMinElements)
      for (unsigned k = 0; k < 3; ++k)
        if (trips[k] >= 8 || k == 2) {
          loops[k]->setAttr(kParallelAttr, rewriter.getUnitAttr());
          break;
        }
    scf::ForOp partial;
    if (ranges[3] % columns != 0 && succeeded(scf::peelForLoopAndSimplifyBounds(rewriter, loops[3], partial)) &&
        partial)
      partial->removeAttr(kiln::kKernelAttr);
    tiledOps++;
  }

  void runOnOperation() override {
    func::FuncOp f = getOperation();
    IRRewriter rewriter(&getContext());
    SmallVector<linalg::GenericOp> targets;
    f.walk([&](linalg::GenericOp op) {
      if (matchWindow(op))
        targets.push_back(op);
    });
    if (targets.empty())
      return;
    for (linalg::GenericOp op : targets)
      tile(op, rewriter);
    if (failed(kiln::canonicalizeWith(f, RewritePatternSet(&getContext()))))
      return signalPassFailure();
    SmallVector<std::pair<linalg::GenericOp, Window>> tiles;
    f.walk([&](linalg::GenericOp op) {
      if (!op->hasAttr(kPoolTileAttr))
        return;
      op->removeAttr(kPoolTileAttr);
      if (auto w = matchWindow(op))
        tiles.push_back({op, *w});
    });
    for (auto &[op, w] : tiles)
      emitTile(rewriter, op, w);
  }
};

} // namespace
