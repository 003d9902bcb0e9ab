//===- TileConvolution.cpp - window contractions as register tiles -------===//
//
// Convolutions reach this pass in the direct form (passes/lowering/
// ConvolutionToLinalg.cpp): a contraction whose last output loop (the
// output positions, or the output channels of a weight gradient) reads one
// operand contiguously, shifted by the window's taps, e.g.
//
//   out[n, g, o, q] += x[n, g, c, q + kh*dh*Wp + kw*dw] * w[g, o, c, kh, kw]
//
// That is a matrix product whose B rows are found at a shift instead of in
// a packed panel, so its register tile is a matmul's: rows (usually the
// output channels; planTiles says which loops) times `columns` outputs of
// the last loop (one vector each per row), accumulated in registers over
// every reduction loop (c, kh, kw); per step one vector load of the
// contiguous operand, one broadcast of the other per row, one FMA per row.
// No im2col buffer and no packing: the shifted rows of a tile stay in L1
// across the row tiles. A long reduction (a weight gradient over a batch) is
// blocked. One output-tile loop goes on the thread pool; each output is
// summed by one thread in a fixed order, so results do not depend on the
// thread count.
//
// kiln-tile-matmul takes contractions with projected-permutation maps and
// one reduction; this pass takes those it cannot: shifted reads, or more
// than one reduction loop.
//
//===----------------------------------------------------------------------===//
#include "passes/Passes.h"
#include "passes/fusion/SourceOps.h"
#include "passes/tiling/VectorizeSupport.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/Utils/Utils.h"
#include "mlir/Dialect/SCF/Transforms/TileUsingInterface.h"
#include "mlir/Dialect/SCF/Transforms/Transforms.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

namespace kiln {
#define GEN_PASS_DEF_TILECONVOLUTION
#include "passes/Passes.h.inc"
} // namespace kiln

using namespace mlir;
using kiln::kParallelAttr;

namespace {

/// A contraction this pass tiles: its output's last loop `column` runs
/// along the last dim of input `vectorOperand` (contiguously, shifted only
/// by reduction loops) and not at all in the other input; `rowCandidates`
/// are the other output loops that index only the other (scalar) input:
/// a register tile's rows (output channels; a weight gradient's input
/// channels or taps).
struct WindowContraction {
  unsigned column;
  unsigned vectorOperand;
  SmallVector<unsigned> rowCandidates;
};

/// The longest innermost reduction loop unrolled in a register tile.
constexpr int64_t kUnrollTaps = 7;

/// Marks the tiles of a window contraction until they become vector code.
constexpr llvm::StringLiteral kRegisterTileAttr = "kiln.register_tile";

/// `expr` is `d<column>` plus non-negative multiples of reduction loops.
bool isShiftedColumn(AffineExpr expr, unsigned column, ArrayRef<utils::IteratorType> iterators) {
  if (expr == getAffineDimExpr(column, expr.getContext()))
    return true;
  auto add = dyn_cast<AffineBinaryOpExpr>(expr);
  if (!add || add.getKind() != AffineExprKind::Add)
    return false;
  auto isShift = [&](AffineExpr e) {
    AffineExpr dim = e;
    if (auto mul = dyn_cast<AffineBinaryOpExpr>(e); mul && mul.getKind() == AffineExprKind::Mul) {
      auto c = dyn_cast<AffineConstantExpr>(mul.getRHS());
      if (!c || c.getValue() < 0)
        return false;
      dim = mul.getLHS();
    }
    auto d = dyn_cast<AffineDimExpr>(dim);
    return d && linalg::isReductionIterator(iterators[d.getPosition()]);
  };
  // (column + shift) + shift ... : the column is the innermost left operand.
  return isShift(add.getRHS()) && isShiftedColumn(add.getLHS(), column, iterators);
}

/// The body is out + a * b (either order).
bool isMultiplyAccumulate(linalg::GenericOp op) {
  Block &body = op.getRegion().front();
  auto yield = cast<linalg::YieldOp>(body.getTerminator());
  auto add = yield.getOperand(0).getDefiningOp<arith::AddFOp>();
  if (!add || body.getOperations().size() != 3)
    return false;
  Value out = body.getArgument(2);
  Value other = add.getLhs() == out ? add.getRhs() : add.getRhs() == out ? add.getLhs() : Value();
  auto mul = other ? other.getDefiningOp<arith::MulFOp>() : nullptr;
  if (!mul)
    return false;
  Value a = body.getArgument(0), b = body.getArgument(1);
  return (mul.getLhs() == a && mul.getRhs() == b) || (mul.getLhs() == b && mul.getRhs() == a);
}

std::optional<WindowContraction> matchWindowContraction(linalg::GenericOp op) {
  if (op.getNumDpsInputs() != 2 || op.getNumDpsInits() != 1 || !op.hasPureTensorSemantics() ||
      !isMultiplyAccumulate(op) || kiln::readsAgainstTheLoops(op))
    return std::nullopt;
  Type element = getElementTypeOrSelf(op->getResult(0).getType());
  if (!element.isF32() && !element.isF64())
    return std::nullopt;
  for (Value v : op->getOperands())
    if (getElementTypeOrSelf(v.getType()) != element)
      return std::nullopt;
  SmallVector<int64_t> ranges = op.getStaticLoopRanges();
  for (int64_t r : ranges)
    if (ShapedType::isDynamic(r) || r == 0)
      return std::nullopt;
  // Parallel loops first (the output's, in order), then the reductions.
  SmallVector<utils::IteratorType> iterators = op.getIteratorTypesArray();
  unsigned parallel = op.getNumParallelLoops(), loops = op.getNumLoops();
  if (parallel < 2 || parallel == loops)
    return std::nullopt;
  for (unsigned i = 0; i < loops; ++i)
    if (linalg::isParallelIterator(iterators[i]) != (i < parallel))
      return std::nullopt;
  SmallVector<AffineMap> maps = op.getIndexingMapsArray();
  // The output is indexed by the parallel loops, in order.
  if (maps[2] != AffineMap::get(loops, 0, AffineMap::getMultiDimIdentityMap(parallel, op.getContext()).getResults(),
                                op.getContext()))
    return std::nullopt;
  WindowContraction w{parallel - 1, 0, {}};
  int found = 0;
  for (unsigned i = 0; i < 2; ++i) {
    AffineMap m = maps[i];
    if (!m.isFunctionOfDim(w.column))
      continue;
    ArrayRef<AffineExpr> results = m.getResults();
    if (results.empty() || !isShiftedColumn(results.back(), w.column, iterators))
      return std::nullopt;
    for (AffineExpr e : results.drop_back())
      if (e.isFunctionOfDim(w.column))
        return std::nullopt;
    w.vectorOperand = i;
    ++found;
  }
  if (found != 1)
    return std::nullopt;
  for (unsigned i = 0; i + 1 < parallel; ++i)
    if (!maps[w.vectorOperand].isFunctionOfDim(i) && maps[1 - w.vectorOperand].isFunctionOfDim(i))
      w.rowCandidates.push_back(i);
  if (w.rowCandidates.empty())
    return std::nullopt;
  // A contraction with one reduction and no shifted read is a matmul
  // (batched, broadcast, transposed): kiln-tile-matmul's.
  if (loops - parallel == 1 && maps[w.vectorOperand].getResults().back() == getAffineDimExpr(w.column, op.getContext()))
    return std::nullopt;
  return w;
}

/// How a window contraction is tiled.
struct TilePlan {
  SmallVector<std::pair<unsigned, int64_t>> rows; // row loops and their tile sizes (one or two)
  int64_t columns = 0;                            // the column loop's tile size
  int64_t reductionBlock = 0;                     // the last reduction loop's block; 0: not blocked
  int64_t rowCount() const {
    int64_t n = 1;
    for (auto [loop, size] : rows)
      n *= size;
    return n;
  }
};

/// A register tile as kiln-tile-matmul's: half the vector registers are
/// accumulators (16 of AVX-512's 32), up to 8 rows (4 with 16 registers),
/// columns filling the rest. The rows are the output's second-to-last loop
/// when it is long enough, else the longest candidate; when that is short
/// (a weight gradient of one input channel: its rows are the taps) a
/// second candidate fills the accumulators left.
/// A long reduction (a weight gradient sums over every image and position:
/// its operands' slices for one tile are megabytes) is blocked so that the
/// operands of one block stay in L2.
TilePlan planTiles(ArrayRef<int64_t> ranges, const WindowContraction &w, unsigned parallel, int64_t vectorBits,
                   int64_t elementBits) {
  int64_t lanes = std::max<int64_t>(vectorBits / elementBits, 1);
  int64_t accumulators = vectorBits >= 512 ? 16 : 8, maxRows = vectorBits >= 512 ? 8 : 4;
  SmallVector<unsigned> candidates(w.rowCandidates);
  // Longest first; among equals the later loop (its elements are nearer).
  llvm::sort(candidates, [&](unsigned a, unsigned b) { return ranges[a] > ranges[b] || (ranges[a] == ranges[b] && a > b); });
  unsigned first = candidates.front();
  if (llvm::is_contained(candidates, parallel - 2) && ranges[parallel - 2] >= maxRows)
    first = parallel - 2;
  TilePlan plan;
  int64_t rows = std::min(ranges[first], maxRows);
  plan.rows.push_back({first, rows});
  int64_t columnVectors = std::min(std::max<int64_t>(accumulators / rows, 1), llvm::divideCeilSigned(ranges[w.column], lanes));
  plan.columns = std::min(ranges[w.column], lanes * columnVectors);
  int64_t budget = accumulators / llvm::divideCeilSigned(plan.columns, lanes);
  for (unsigned c : candidates)
    if (c != first && rows < budget && budget / rows >= 2) {
      plan.rows.push_back({c, std::min(ranges[c], budget / rows)});
      break;
    }
  // Bytes one tile reads over the whole reduction.
  int64_t reduction = 1;
  for (unsigned i = parallel; i < ranges.size(); ++i)
    reduction *= ranges[i];
  int64_t bytes = reduction * (plan.columns + plan.rowCount()) * (elementBits / 8);
  constexpr int64_t kL2Bytes = 1 << 20, kBlockBytes = 256 << 10;
  if (bytes > kL2Bytes) {
    int64_t last = ranges.back();
    int64_t block = kBlockBytes / (elementBits / 8) / (ranges[w.column] + ranges[first]);
    block = std::max<int64_t>(64, block / 16 * 16);
    if (block < last)
      plan.reductionBlock = block;
  }
  return plan;
}

/// Replaces one register tile (every parallel loop 1 but the row loops
/// `rowLoops` and the column loop; static sizes) by its vector code: the
/// accumulators start from the fill (or the output), then a loop nest over
/// the reduction loops loads one vector of the contiguous operand per step
/// and adds, per row, the other operand's element times it (vector.fma).
void emitRegisterTile(RewriterBase &rewriter, linalg::GenericOp tile, const WindowContraction &w,
                      ArrayRef<unsigned> rowLoops) {
  Location loc = tile.getLoc();
  SmallVector<int64_t> ranges = tile.getStaticLoopRanges();
  unsigned loops = ranges.size();
  int64_t columns = ranges[w.column];
  Type element = getElementTypeOrSelf(tile->getResult(0).getType());
  auto vectorType = VectorType::get({columns}, element);
  SmallVector<AffineMap> maps = tile.getIndexingMapsArray();
  Value vectorOperand = tile.getDpsInputs()[w.vectorOperand];
  Value scalarOperand = tile.getDpsInputs()[1 - w.vectorOperand];
  AffineMap vectorMap = maps[w.vectorOperand], scalarMap = maps[1 - w.vectorOperand], outMap = maps[2];
  Value out = tile.getDpsInits()[0];
  // Row r of the tile: its index along each row loop (row-major).
  int64_t rows = 1;
  for (unsigned l : rowLoops)
    rows *= ranges[l];
  auto rowIndex = [&](int64_t r, unsigned k) {
    int64_t inner = 1;
    for (unsigned j = k + 1; j < rowLoops.size(); ++j)
      inner *= ranges[rowLoops[j]];
    return r / inner % ranges[rowLoops[k]];
  };

  rewriter.setInsertionPoint(tile);
  auto constant = [&](OpBuilder &b, int64_t v) -> Value { return b.create<arith::ConstantIndexOp>(loc, v); };
  auto atRow = [&](OpBuilder &b, SmallVector<Value> &point, int64_t r) {
    for (auto [k, l] : llvm::enumerate(rowLoops))
      point[l] = constant(b, rowIndex(r, k));
  };
  // An operand's indices when the loops stand at `at`.
  auto indices = [&](OpBuilder &b, AffineMap map, ArrayRef<Value> at) { return kiln::indicesAt(b, loc, map, at); };
  SmallVector<Value> at(loops, constant(rewriter, 0));
  SmallVector<bool> inBounds{true};

  // The accumulators' start: the fill's value (the zeros every
  // convolution starts from), else what the output holds (a reduction
  // blocked into several passes).
  SmallVector<Value> accumulators;
  auto fill = out.getDefiningOp<linalg::FillOp>();
  for (int64_t r = 0; r < rows; ++r) {
    if (fill) {
      accumulators.push_back(rewriter.create<vector::BroadcastOp>(loc, vectorType, fill.getInputs()[0]));
      continue;
    }
    atRow(rewriter, at, r);
    Value padding = rewriter.create<arith::ConstantOp>(loc, rewriter.getFloatAttr(element, 0.0));
    accumulators.push_back(rewriter.create<vector::TransferReadOp>(loc, vectorType, out, indices(rewriter, outMap, at),
                                                                   padding, inBounds));
  }
  atRow(rewriter, at, 0);

  // One step: a vector of the contiguous operand, a broadcast per row.
  auto step = [&](OpBuilder &b, ArrayRef<Value> current, SmallVector<Value> accs) {
    SmallVector<Value> point(current);
    Value padding = b.create<arith::ConstantOp>(loc, b.getFloatAttr(element, 0.0));
    Value vec = b.create<vector::TransferReadOp>(loc, vectorType, vectorOperand,
                                                 indices(b, vectorMap, point), padding, inBounds);
    for (int64_t r = 0; r < rows; ++r) {
      atRow(b, point, r);
      Value scalar = b.create<tensor::ExtractOp>(loc, scalarOperand, indices(b, scalarMap, point));
      Value broadcast = b.create<vector::BroadcastOp>(loc, vectorType, scalar);
      accs[r] = b.create<vector::FMAOp>(loc, broadcast, vec, accs[r]);
    }
    return accs;
  };
  // The reduction loops, outermost first; a loop of one step is no loop.
  std::function<SmallVector<Value>(OpBuilder &, unsigned, SmallVector<Value> &, SmallVector<Value>)> nest =
      [&](OpBuilder &b, unsigned d, SmallVector<Value> &current, SmallVector<Value> accs) -> SmallVector<Value> {
    if (d == loops)
      return step(b, current, std::move(accs));
    // The innermost loop, when short (a kernel row: 3 or 5 taps), is
    // unrolled: LLVM's unroller is off, and a loop of 26 instructions
    // spent 3 on itself.
    if (ranges[d] == 1 || (d + 1 == loops && ranges[d] <= kUnrollTaps)) {
      for (int64_t i = 0; i < ranges[d]; ++i) {
        current[d] = constant(b, i);
        accs = nest(b, d + 1, current, std::move(accs));
      }
      return accs;
    }
    auto loop = b.create<scf::ForOp>(loc, constant(b, 0), constant(b, ranges[d]), constant(b, 1), accs,
                                     [&](OpBuilder &lb, Location, Value iv, ValueRange iterArgs) {
                                       SmallVector<Value> inner(current);
                                       inner[d] = iv;
                                       lb.create<scf::YieldOp>(
                                           loc, nest(lb, d + 1, inner, SmallVector<Value>(iterArgs)));
                                     });
    return SmallVector<Value>(loop.getResults());
  };
  SmallVector<Value> current(at);
  accumulators = nest(rewriter, tile.getNumParallelLoops(), current, std::move(accumulators));

  // (Written over the fill's destination: the fill itself is dead then.)
  Value result = fill ? fill.getOutputs()[0] : out;
  for (int64_t r = 0; r < rows; ++r) {
    atRow(rewriter, at, r);
    result = rewriter.create<vector::TransferWriteOp>(loc, accumulators[r], result, indices(rewriter, outMap, at),
                                                      inBounds)
                 .getResult();
  }
  rewriter.replaceOp(tile, result);
}

struct TileConvolutionPass : kiln::impl::TileConvolutionBase<TileConvolutionPass> {
  using TileConvolutionBase::TileConvolutionBase;

  /// One window contraction to register tiles: loops over the other
  /// parallel dims (one each), then the column tiles, then the row tiles
  /// (a column tile's shifted operand rows are reused by every row tile);
  /// the zero fill fused into each tile; the partial tiles peeled. A
  /// blocked reduction goes between the first row loop (outermost, on the
  /// pool) and the rest, its fill left whole.
  void tile(linalg::GenericOp op, const WindowContraction &w, IRRewriter &rewriter) {
    SmallVector<int64_t> ranges = op.getStaticLoopRanges();
    unsigned loops = ranges.size(), parallel = op.getNumParallelLoops();
    int64_t elementBits = getElementTypeOrSelf(op->getResult(0).getType()).getIntOrFloatBitWidth();
    TilePlan plan = planTiles(ranges, w, parallel, vectorBits, elementBits);
    SmallVector<OpFoldResult> sizes(loops, rewriter.getIndexAttr(0));
    SmallVector<unsigned> rowLoops;
    for (unsigned i = 0; i < parallel; ++i)
      sizes[i] = rewriter.getIndexAttr(1);
    sizes[w.column] = rewriter.getIndexAttr(plan.columns);
    for (auto [loop, size] : plan.rows) {
      sizes[loop] = rewriter.getIndexAttr(size);
      rowLoops.push_back(loop);
    }
    bool blocked = plan.reductionBlock > 0;
    if (blocked) {
      for (unsigned i = parallel; i < loops; ++i)
        sizes[i] = rewriter.getIndexAttr(1);
      sizes[loops - 1] = rewriter.getIndexAttr(plan.reductionBlock);
    }
    // Loop order: (blocked: the first row loop, then the reductions;) the
    // other parallel loops, the column tiles, the row tiles.
    SmallVector<int64_t> interchange;
    auto isRow = [&](unsigned i) { return llvm::is_contained(rowLoops, i); };
    if (blocked) {
      interchange.push_back(rowLoops.front());
      for (unsigned i = parallel; i < loops; ++i)
        interchange.push_back(i);
    }
    for (unsigned i = 0; i < parallel; ++i)
      if (i != w.column && !isRow(i))
        interchange.push_back(i);
    interchange.push_back(w.column);
    for (unsigned r : rowLoops)
      if (!blocked || r != rowLoops.front())
        interchange.push_back(r);
    if (!blocked)
      for (unsigned i = parallel; i < loops; ++i)
        interchange.push_back(i);
    double flops = 2;
    std::string shape;
    for (int64_t r : ranges) {
      flops *= double(r);
      shape += (shape.empty() ? "" : "x") + std::to_string(r);
    }
    // The tiled loops in order, with their trip counts.
    SmallVector<unsigned> tiledLoops;
    SmallVector<int64_t> trips;
    for (int64_t i : interchange)
      if (getConstantIntValue(sizes[i]).value_or(0) > 0) {
        tiledLoops.push_back(unsigned(i));
        trips.push_back(llvm::divideCeilSigned(ranges[i], *getConstantIntValue(sizes[i])));
      }
    // The thread pool takes the outermost parallel loop with enough
    // iterations to share evenly (a batch, then the column tiles, then the
    // row tiles; a blocked reduction's first row loop).
    int64_t poolLoop = -1;
    if (flops >= double(parallelMinFlops)) {
      int64_t longest = -1;
      for (auto [k, i] : llvm::enumerate(tiledLoops)) {
        if (i >= parallel)
          break; // loops inside a reduction loop would be dispatched once per step of it
        if (trips[k] >= 8) {
          poolLoop = k;
          break;
        }
        if (longest < 0 || trips[k] > trips[longest])
          longest = k;
      }
      if (poolLoop < 0)
        poolLoop = longest;
    }
    Location loc = op.getLoc();
    std::string tileShape;
    for (auto [loop, size] : plan.rows)
      tileShape += std::to_string(size) + "x";
    kiln::explain(explain, loc,
                  "window contraction " + shape + " (" + std::to_string(parallel) + " output loops, " +
                      std::to_string(loops - parallel) + " reductions) in " + tileShape +
                      std::to_string(plan.columns) + " register tiles, operand " + std::to_string(w.vectorOperand) +
                      " read as vectors at a shift" +
                      (blocked ? ", the reduction in blocks of " + std::to_string(plan.reductionBlock) : "") +
                      (poolLoop >= 0 ? ", tiles on the thread pool" : ""));

    scf::SCFTilingOptions tiling;
    tiling.setTileSizes(sizes);
    tiling.setInterchange(interchange);
    scf::SCFTileAndFuseOptions options;
    options.setTilingOptions(tiling);
    Operation *fill = blocked ? nullptr : op.getDpsInits()[0].getDefiningOp<linalg::FillOp>();
    options.setFusionControlFn([&](tensor::ExtractSliceOp, OpResult producer, bool) {
      return std::make_tuple(fill && producer.getOwner() == fill, false);
    });
    rewriter.setInsertionPoint(op);
    auto tiled = scf::tileConsumerAndFuseProducersUsingSCF(rewriter, cast<TilingInterface>(op.getOperation()), options);
    if (failed(tiled))
      return; // stays a plain loop nest
    for (auto [original, replacement] : tiled->replacements)
      rewriter.replaceAllUsesWith(original, replacement);
    // The tile, marked for emitRegisterTile with its row loops (peeling
    // copies the mark).
    SmallVector<int64_t> rowAttr(rowLoops.begin(), rowLoops.end());
    for (Operation *t : tiled->tiledAndFusedOps)
      if (isa<linalg::GenericOp>(t))
        t->setAttr(kRegisterTileAttr, rewriter.getDenseI64ArrayAttr(rowAttr));
    SmallVector<scf::ForOp> forLoops;
    for (LoopLikeOpInterface l : tiled->loops)
      if (auto f = dyn_cast<scf::ForOp>(l.getOperation()))
        forLoops.push_back(f);
    if (forLoops.size() != tiledLoops.size())
      return;
    // The kernel's name (for the profile) on its outermost loop that runs
    // more than once: canonicalization folds the others away.
    auto named = llvm::find_if(trips, [](int64_t t) { return t > 1; });
    forLoops[named == trips.end() ? 0 : named - trips.begin()]->setAttr(
        kiln::kKernelAttr, rewriter.getStringAttr("convolution " + shape));
    if (poolLoop >= 0)
      forLoops[poolLoop]->setAttr(kParallelAttr, rewriter.getUnitAttr());
    // The partial tiles peeled, innermost loop first: every tile gets
    // static sizes (the reduction block's last one too).
    for (int64_t k = int64_t(forLoops.size()) - 1; k >= 0; --k) {
      if (ranges[tiledLoops[k]] % *getConstantIntValue(sizes[tiledLoops[k]]) == 0)
        continue;
      scf::ForOp partial;
      if (succeeded(scf::peelForLoopAndSimplifyBounds(rewriter, forLoops[k], partial)) && partial)
        partial->removeAttr(kiln::kKernelAttr); // the edge of the same kernel
    }
    tiledOps++;
  }

  void runOnOperation() override {
    func::FuncOp f = getOperation();
    IRRewriter rewriter(&getContext());
    SmallVector<std::pair<linalg::GenericOp, WindowContraction>> targets;
    f.walk([&](linalg::GenericOp op) {
      if (auto w = matchWindowContraction(op))
        targets.push_back({op, *w});
    });
    if (targets.empty())
      return;
    for (auto &[op, w] : targets)
      tile(op, w, rewriter);
    // The peeled bounds folded into static tile sizes.
    if (failed(kiln::canonicalizeWith(f, RewritePatternSet(&getContext()))))
      return signalPassFailure();
    // Every register tile (parallel loops 1 but the row and column ones)
    // to vector code.
    SmallVector<std::tuple<linalg::GenericOp, WindowContraction, SmallVector<unsigned>>> tiles;
    f.walk([&](linalg::GenericOp op) {
      auto rows = op->getAttrOfType<DenseI64ArrayAttr>(kRegisterTileAttr);
      if (!rows)
        return;
      op->removeAttr(kRegisterTileAttr);
      if (auto w = matchWindowContraction(op))
        tiles.push_back({op, *w, SmallVector<unsigned>(rows.asArrayRef().begin(), rows.asArrayRef().end())});
    });
    for (auto &[op, w, rows] : tiles)
      emitRegisterTile(rewriter, op, w, rows);
  }
};

} // namespace
