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
// a packed panel, so its register tile is a matmul's: `rows` outputs of the
// second-to-last loop (output channels) times `columns` of the last (one
// vector each per row), accumulated in registers over every reduction loop
// (c, kh, kw); per step one vector load of the contiguous operand, one
// broadcast of the other per row, one FMA per row. No im2col buffer and no
// packing: the shifted rows of a tile stay in L1 across the row tiles.
// The output-tile loops go on the thread pool; each output is summed by one
// thread in a fixed order, so results do not depend on the thread count.
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
/// by reduction loops) and not at all in the other input; `row` is the
/// output's second-to-last loop.
struct WindowContraction {
  unsigned row, column;
  unsigned vectorOperand;
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
  WindowContraction w{parallel - 2, parallel - 1, 0};
  int found = 0;
  for (unsigned i = 0; i < 2; ++i) {
    AffineMap m = maps[i];
    if (!m.isFunctionOfDim(w.column))
      continue;
    ArrayRef<AffineExpr> results = m.getResults();
    if (results.empty() || !isShiftedColumn(results.back(), w.column, iterators) || m.isFunctionOfDim(w.row))
      return std::nullopt;
    for (AffineExpr e : results.drop_back())
      if (e.isFunctionOfDim(w.column))
        return std::nullopt;
    w.vectorOperand = i;
    ++found;
  }
  if (found != 1)
    return std::nullopt;
  // A contraction with one reduction and no shifted read is a matmul
  // (batched, broadcast, transposed): kiln-tile-matmul's.
  if (loops - parallel == 1 && maps[w.vectorOperand].getResults().back() == getAffineDimExpr(w.column, op.getContext()))
    return std::nullopt;
  return w;
}

/// Rows x columns of a register tile: as kiln-tile-matmul's, half the
/// vector registers are accumulators (16 of AVX-512's 32), up to 8 rows (4
/// with 16 registers), columns filling the rest.
std::pair<int64_t, int64_t> registerTile(int64_t vectorBits, int64_t elementBits, int64_t rows, int64_t columns) {
  int64_t lanes = std::max<int64_t>(vectorBits / elementBits, 1);
  int64_t accumulators = vectorBits >= 512 ? 16 : 8;
  int64_t r = std::min<int64_t>(rows, vectorBits >= 512 ? 8 : 4);
  int64_t c = lanes * std::max<int64_t>(accumulators / r, 1);
  return {r, std::min<int64_t>(c, columns)};
}

/// Replaces one register tile (every parallel loop 1 but `row` and
/// `column`, static sizes) by its vector code: the accumulators start from
/// the fill (or the output), then a loop nest over the reduction loops
/// loads one vector of the contiguous operand per step and adds, per row,
/// the other operand's element times it (vector.fma).
void emitRegisterTile(RewriterBase &rewriter, linalg::GenericOp tile, const WindowContraction &w) {
  Location loc = tile.getLoc();
  SmallVector<int64_t> ranges = tile.getStaticLoopRanges();
  unsigned loops = ranges.size();
  int64_t rows = ranges[w.row], columns = ranges[w.column];
  Type element = getElementTypeOrSelf(tile->getResult(0).getType());
  auto vectorType = VectorType::get({columns}, element);
  SmallVector<AffineMap> maps = tile.getIndexingMapsArray();
  Value vectorOperand = tile.getDpsInputs()[w.vectorOperand];
  Value scalarOperand = tile.getDpsInputs()[1 - w.vectorOperand];
  AffineMap vectorMap = maps[w.vectorOperand], scalarMap = maps[1 - w.vectorOperand], outMap = maps[2];
  Value out = tile.getDpsInits()[0];

  rewriter.setInsertionPoint(tile);
  auto constant = [&](OpBuilder &b, int64_t v) -> Value { return b.create<arith::ConstantIndexOp>(loc, v); };
  // An operand's indices when the loops stand at `at`.
  auto indices = [&](OpBuilder &b, AffineMap map, ArrayRef<Value> at) {
    SmallVector<Value> result;
    for (AffineExpr e : map.getResults())
      result.push_back(getValueOrCreateConstantIndexOp(
          b, loc, affine::makeComposedFoldedAffineApply(b, loc, AffineMap::get(loops, 0, e), getAsOpFoldResult(at))));
    return result;
  };
  SmallVector<Value> at(loops, constant(rewriter, 0));
  SmallVector<bool> inBounds{true};

  // The accumulators' start: the fill's value (the zeros every
  // convolution starts from), else what the output holds.
  SmallVector<Value> accumulators;
  auto fill = out.getDefiningOp<linalg::FillOp>();
  for (int64_t r = 0; r < rows; ++r) {
    if (fill) {
      accumulators.push_back(rewriter.create<vector::BroadcastOp>(loc, vectorType, fill.getInputs()[0]));
      continue;
    }
    at[w.row] = constant(rewriter, r);
    Value padding = rewriter.create<arith::ConstantOp>(loc, rewriter.getFloatAttr(element, 0.0));
    accumulators.push_back(rewriter.create<vector::TransferReadOp>(loc, vectorType, out, indices(rewriter, outMap, at),
                                                                   padding, inBounds));
  }
  at[w.row] = constant(rewriter, 0);

  // One step: a vector of the contiguous operand, a broadcast per row.
  auto step = [&](OpBuilder &b, ArrayRef<Value> current, SmallVector<Value> accs) {
    SmallVector<Value> point(current);
    Value padding = b.create<arith::ConstantOp>(loc, b.getFloatAttr(element, 0.0));
    Value vec = b.create<vector::TransferReadOp>(loc, vectorType, vectorOperand,
                                                 indices(b, vectorMap, point), padding, inBounds);
    for (int64_t r = 0; r < rows; ++r) {
      point[w.row] = constant(b, r);
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
    at[w.row] = constant(rewriter, r);
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
  /// the zero fill fused into each tile; the partial tiles peeled.
  void tile(linalg::GenericOp op, const WindowContraction &w, IRRewriter &rewriter) {
    SmallVector<int64_t> ranges = op.getStaticLoopRanges();
    unsigned loops = ranges.size(), parallel = op.getNumParallelLoops();
    int64_t elementBits = getElementTypeOrSelf(op->getResult(0).getType()).getIntOrFloatBitWidth();
    auto [rows, columns] = registerTile(vectorBits, elementBits, ranges[w.row], ranges[w.column]);
    SmallVector<OpFoldResult> sizes;
    SmallVector<int64_t> interchange;
    for (unsigned i = 0; i < loops; ++i) {
      int64_t size = i == w.row ? rows : i == w.column ? columns : i < parallel ? 1 : 0;
      sizes.push_back(rewriter.getIndexAttr(size));
      if (i < parallel && i != w.row && i != w.column)
        interchange.push_back(i);
    }
    interchange.append({w.column, w.row});
    for (unsigned i = parallel; i < loops; ++i)
      interchange.push_back(i);
    double flops = 2;
    std::string shape;
    for (int64_t r : ranges) {
      flops *= double(r);
      shape += (shape.empty() ? "" : "x") + std::to_string(r);
    }
    // The thread pool takes the outermost loop with enough iterations to
    // share evenly (a batch, then the column tiles, then the row tiles).
    SmallVector<int64_t> trips;
    for (unsigned i : ArrayRef(interchange).take_front(parallel))
      trips.push_back(llvm::divideCeilSigned(ranges[i], i == w.row ? rows : i == w.column ? columns : 1));
    int64_t poolLoop = -1;
    if (flops >= double(parallelMinFlops)) {
      for (auto [i, t] : llvm::enumerate(trips))
        if (t >= 8) {
          poolLoop = i;
          break;
        }
      if (poolLoop < 0)
        poolLoop = std::max_element(trips.begin(), trips.end()) - trips.begin();
    }
    Location loc = op.getLoc();
    kiln::explain(explain, loc,
                  "window contraction " + shape + " (" + std::to_string(parallel) + " output loops, " +
                      std::to_string(loops - parallel) + " reductions) in " + std::to_string(rows) + "x" +
                      std::to_string(columns) + " register tiles, operand " + std::to_string(w.vectorOperand) +
                      " read as vectors at a shift" + (poolLoop >= 0 ? ", tiles on the thread pool" : ""));

    scf::SCFTilingOptions tiling;
    tiling.setTileSizes(sizes);
    tiling.setInterchange(interchange);
    scf::SCFTileAndFuseOptions options;
    options.setTilingOptions(tiling);
    Operation *fill = op.getDpsInits()[0].getDefiningOp<linalg::FillOp>();
    options.setFusionControlFn([&](tensor::ExtractSliceOp, OpResult producer, bool) {
      return std::make_tuple(producer.getOwner() == fill, false);
    });
    rewriter.setInsertionPoint(op);
    auto tiled = scf::tileConsumerAndFuseProducersUsingSCF(rewriter, cast<TilingInterface>(op.getOperation()), options);
    if (failed(tiled))
      return; // stays a plain loop nest
    for (auto [original, replacement] : tiled->replacements)
      rewriter.replaceAllUsesWith(original, replacement);
    // The tile, marked for emitRegisterTile (peeling copies the mark).
    for (Operation *t : tiled->tiledAndFusedOps)
      if (isa<linalg::GenericOp>(t))
        t->setAttr(kRegisterTileAttr, rewriter.getUnitAttr());
    SmallVector<scf::ForOp> forLoops;
    for (LoopLikeOpInterface l : tiled->loops)
      if (auto f = dyn_cast<scf::ForOp>(l.getOperation()))
        forLoops.push_back(f);
    if (forLoops.size() != parallel)
      return;
    // The kernel's name (for the profile) on its outermost loop that runs
    // more than once: canonicalization folds the others away.
    auto named = llvm::find_if(trips, [](int64_t t) { return t > 1; });
    forLoops[named == trips.end() ? 0 : named - trips.begin()]->setAttr(
        kiln::kKernelAttr, rewriter.getStringAttr("convolution " + shape));
    if (poolLoop >= 0)
      forLoops[poolLoop]->setAttr(kParallelAttr, rewriter.getUnitAttr());
    // The partial row tiles, then the partial column tiles, peeled: every
    // tile gets static sizes.
    scf::ForOp partial;
    (void)scf::peelForLoopAndSimplifyBounds(rewriter, forLoops[parallel - 1], partial);
    if (succeeded(scf::peelForLoopAndSimplifyBounds(rewriter, forLoops[parallel - 2], partial)) && partial)
      partial->removeAttr(kiln::kKernelAttr);
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
    SmallVector<std::pair<linalg::GenericOp, WindowContraction>> tiles;
    f.walk([&](linalg::GenericOp op) {
      if (!op->hasAttr(kRegisterTileAttr))
        return;
      op->removeAttr(kRegisterTileAttr);
      if (auto w = matchWindowContraction(op))
        tiles.push_back({op, *w});
    });
    for (auto &[op, w] : tiles)
      emitRegisterTile(rewriter, op, w);
  }
};

} // namespace
