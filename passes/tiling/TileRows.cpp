//===- TileRows.cpp - row kernels: softmax, layer_norm, losses by row -----===//
//
// softmax, log_softmax, layer_norm and the losses lower to a few linalg ops
// that reduce over the last dimension and broadcast the result back. Run one
// by one, each streams the whole tensor through memory, and each row
// reduction is a serial chain. This pass makes each such group one kernel:
//
//  0. A reduction over every axis or over two or more trailing axes is made
//     a row reduction first: its reduced axes collapsed into one row (a
//     reduction to a scalar reads its input as one row of [1, n]).
//  1. The kernel is the last op of the group (the root: its result leaves
//     the group; whole rows, or one value per row) and every producer that only feeds the group and indexes
//     rows the same way (its outer loops parallel, row dims first). The root
//     is tiled to one row (outer dims 1, the last dim whole) and the group
//     fused into that loop (scf::tileConsumerAndFuseProducersUsingSCF), so a
//     row is read from memory once and its temporaries stay in L1. The row
//     loop is marked kiln.parallel: rows are independent.
//  2. Within a row, reductions are tiled into vector-wide partial
//     reductions (scf::tileReductionUsingScf) and elementwise ops into
//     vector-wide chunks, the partial chunks peeled, and every piece
//     vectorized at its static shape.
//
//===----------------------------------------------------------------------===//
#include "passes/Passes.h"
#include "passes/fusion/SourceOps.h"
#include "passes/tiling/VectorizeSupport.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/SCF/Transforms/TileUsingInterface.h"
#include "mlir/Dialect/SCF/Transforms/Transforms.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Tensor/Transforms/Transforms.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Interfaces/TilingInterface.h"
#include "mlir/IR/Dominance.h"
#include "mlir/Transforms/CSE.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace kiln {
#define GEN_PASS_DEF_TILEROWS
#include "passes/Passes.h.inc"
} // namespace kiln

using namespace mlir;
using kiln::kParallelAttr;

namespace {

/// Marks a row loop made here until its pieces are vectorized; the value is
/// the number of row dimensions (all but the last).
constexpr llvm::StringLiteral kRowKernelAttr = "kiln.row_kernel";
/// Marks an op of a row kernel until it is vectorized.
constexpr llvm::StringLiteral kRowPieceAttr = "kiln.row_piece";

/// The first `rowDims` results of `map` are d0, d1, ...: the map indexes
/// rows the way the kernel's loops do.
bool rowsFirst(AffineMap map, int64_t rowDims) {
  if (map.getNumResults() < unsigned(rowDims))
    return false;
  for (int64_t i = 0; i < rowDims; ++i) {
    auto d = dyn_cast<AffineDimExpr>(map.getResult(i));
    if (!d || d.getPosition() != unsigned(i))
      return false;
  }
  return true;
}

/// A generic whose first `rowDims` loops are parallel and index its
/// outputs row-first; inputs either index rows first or not at all
/// (broadcast along rows, like layer_norm's gamma).
bool isRowAligned(linalg::GenericOp op, int64_t rowDims) {
  if (!op.hasPureTensorSemantics() || op.getNumLoops() < unsigned(rowDims) || kiln::readsAgainstTheLoops(op))
    return false;
  auto iterators = op.getIteratorTypesArray();
  for (int64_t i = 0; i < rowDims; ++i)
    if (!linalg::isParallelIterator(iterators[i]))
      return false;
  for (OpOperand &operand : op->getOpOperands()) {
    AffineMap map = op.getMatchingIndexingMap(&operand);
    if (op.isDpsInit(&operand) ? !rowsFirst(map, rowDims) : !rowsFirst(map, rowDims) &&
                                                                llvm::any_of(map.getResults(), [&](AffineExpr e) {
                                                                  for (int64_t i = 0; i < rowDims; ++i)
                                                                    if (e.isFunctionOfDim(i))
                                                                      return true;
                                                                  return false;
                                                                }))
      return false;
  }
  for (int64_t size : op.getStaticLoopRanges())
    if (ShapedType::isDynamic(size))
      return false;
  // The row's pieces are vectorized.
  return !kiln::whyNotVectorizable(op);
}

bool isRowReduction(linalg::GenericOp op, int64_t rowDims) {
  auto iterators = op.getIteratorTypesArray();
  return int64_t(iterators.size()) == rowDims + 1 && linalg::isReductionIterator(iterators.back());
}

/// The group around `root`: ops that feed only the group, row-aligned.
/// Visited in reverse program order, so users join before producers.
llvm::SetVector<Operation *> groupOf(linalg::GenericOp root, int64_t rowDims) {
  llvm::SetVector<Operation *> group;
  group.insert(root);
  Block *block = root->getBlock();
  for (Operation &op : llvm::reverse(llvm::make_range(block->begin(), root->getIterator()))) {
    if (!isa<linalg::GenericOp, linalg::FillOp>(op))
      continue;
    if (auto g = dyn_cast<linalg::GenericOp>(op); g && !isRowAligned(g, rowDims))
      continue;
    if (op.use_empty())
      continue;
    bool feedsOnlyGroup = llvm::all_of(op.getUsers(), [&](Operation *user) { return group.contains(user); });
    // Each use must read the value row-first (a per-row value, not a
    // broadcast of something computed over all rows).
    bool rowUses = llvm::all_of(op.getUses(), [&](OpOperand &use) {
      auto user = dyn_cast<linalg::GenericOp>(use.getOwner());
      return user && rowsFirst(user.getMatchingIndexingMap(&use), rowDims);
    });
    if (feedsOnlyGroup && rowUses)
      group.insert(&op);
  }
  return group;
}

/// A reduction over its trailing loops (p parallel loops, then r >= 2
/// reductions), or over all of them, that reads its inputs whole: the
/// shape collapseReduction makes a row reduction of. (nn.reduce_sum over
/// every axis or over a CNN's spatial axes; as plain loops a sum is one
/// serial chain of adds, at about 3 GB/s here for a 2 MB tensor.)
bool isCollapsibleReduction(linalg::GenericOp op) {
  if (!op.hasPureTensorSemantics() || op.getNumDpsInits() != 1 || op.getNumDpsInputs() == 0 ||
      !isa<func::FuncOp>(op->getParentOp()))
    return false;
  auto iterators = op.getIteratorTypesArray();
  int64_t loops = int64_t(iterators.size()), p = 0;
  while (p < loops && linalg::isParallelIterator(iterators[p]))
    ++p;
  int64_t r = loops - p;
  if (r == 0 || (p > 0 && r < 2))
    return false;
  for (int64_t i = p; i < loops; ++i)
    if (!linalg::isReductionIterator(iterators[i]))
      return false;
  for (int64_t size : op.getStaticLoopRanges())
    if (ShapedType::isDynamic(size) || size == 0)
      return false;
  AffineMap identity = AffineMap::getMultiDimIdentityMap(loops, op.getContext());
  for (OpOperand *input : op.getDpsInputOperands())
    if (op.getMatchingIndexingMap(input) != identity)
      return false;
  if (op.getMatchingIndexingMap(op.getDpsInitOperand(0)) !=
      AffineMap::get(loops, 0, identity.getResults().take_front(p), op.getContext()))
    return false;
  if (!op.getRegion().front().getOps<linalg::IndexOp>().empty())
    return false; // its body reads the loop indices, which collapsing renumbers
  return !kiln::whyNotVectorizable(op);
}

/// `op` (isCollapsibleReduction) with its reduced loops collapsed into one,
/// the inputs read through tensor.collapse_shape; a reduction to a scalar
/// gets a unit row ([1, n] in, [1] out), so that it is one row.
void collapseReduction(IRRewriter &rewriter, linalg::GenericOp op) {
  Location loc = op.getLoc();
  int64_t loops = op.getNumLoops(), p = op.getNumParallelLoops();
  SmallVector<int64_t> ranges = op.getStaticLoopRanges();
  int64_t reduced = 1;
  for (int64_t i = p; i < loops; ++i)
    reduced *= ranges[i];
  SmallVector<ReassociationIndices> collapse;
  for (int64_t i = 0; i < p; ++i)
    collapse.push_back({i});
  collapse.emplace_back();
  for (int64_t i = p; i < loops; ++i)
    collapse.back().push_back(i);
  rewriter.setInsertionPoint(op);
  SmallVector<Value> inputs;
  for (Value input : op.getDpsInputs()) {
    Value collapsed = loops - p > 1 ? rewriter.create<tensor::CollapseShapeOp>(loc, input, collapse) : input;
    if (p == 0) // the one row
      collapsed = rewriter.create<tensor::ExpandShapeOp>(
          loc, RankedTensorType::get({1, reduced}, getElementTypeOrSelf(input.getType())), collapsed,
          ArrayRef<ReassociationIndices>{{0, 1}});
    inputs.push_back(collapsed);
  }
  Value init = op.getDpsInits()[0];
  if (p == 0)
    init = rewriter.create<tensor::ExpandShapeOp>(loc, RankedTensorType::get({1}, getElementTypeOrSelf(init.getType())),
                                                  init, ArrayRef<ReassociationIndices>{});
  int64_t newLoops = std::max<int64_t>(p, 1) + 1;
  SmallVector<AffineMap> maps(inputs.size(), AffineMap::getMultiDimIdentityMap(newLoops, op.getContext()));
  maps.push_back(AffineMap::get(newLoops, 0, maps.front().getResults().drop_back(), op.getContext()));
  SmallVector<utils::IteratorType> iterators(newLoops - 1, utils::IteratorType::parallel);
  iterators.push_back(utils::IteratorType::reduction);
  auto collapsedOp = rewriter.create<linalg::GenericOp>(loc, init.getType(), inputs, ValueRange{init}, maps, iterators);
  rewriter.inlineRegionBefore(op.getRegion(), collapsedOp.getRegion(), collapsedOp.getRegion().begin());
  Value result = collapsedOp.getResult(0);
  if (p == 0)
    result = rewriter.create<tensor::CollapseShapeOp>(loc, op.getResultTypes()[0], result,
                                                      ArrayRef<ReassociationIndices>{});
  rewriter.replaceOp(op, result);
}

struct TileRowsPass : kiln::impl::TileRowsBase<TileRowsPass> {
  using TileRowsBase::TileRowsBase;

  /// The last row-aligned generic at the function's top level that
  /// reduces rows somewhere in its group (and is not yet a kernel).
  std::optional<std::pair<linalg::GenericOp, llvm::SetVector<Operation *>>> nextRoot(func::FuncOp f) {
    for (Operation &op : llvm::reverse(f.getBody().front())) {
      auto g = dyn_cast<linalg::GenericOp>(op);
      if (!g || g.getNumDpsInits() != 1 || g.getNumLoops() < 2 || done.contains(g))
        continue;
      // Empty rows or no rows: plain loops that run zero times.
      if (llvm::is_contained(g.getStaticLoopRanges(), 0))
        continue;
      int64_t rowDims = int64_t(g.getNumLoops()) - 1;
      // The root writes whole rows (softmax's division) or one value per
      // row (a sum over the row whose result leaves the group: the
      // log-sum-exp of cross-entropy, reduce_sum over the last axis; as
      // plain loops those were scalar chains at about 1 GB/s).
      if (!isRowAligned(g, rowDims) ||
          !(linalg::isParallelIterator(g.getIteratorTypesArray().back()) || isRowReduction(g, rowDims)))
        continue;
      auto group = groupOf(g, rowDims);
      bool reduces = llvm::any_of(group, [&](Operation *member) {
        auto m = dyn_cast<linalg::GenericOp>(member);
        return m && isRowReduction(m, rowDims);
      });
      if (reduces)
        return std::make_pair(g, group);
      done.insert(g);
    }
    return std::nullopt;
  }

  void runOnOperation() override {
    func::FuncOp f = getOperation();
    IRRewriter rewriter(&getContext());
    // Reductions over trailing axes or over everything become row
    // reductions first (their reduced axes one row).
    SmallVector<linalg::GenericOp> collapsible;
    f.walk([&](linalg::GenericOp g) {
      if (isCollapsibleReduction(g))
        collapsible.push_back(g);
    });
    for (linalg::GenericOp g : collapsible)
      collapseReduction(rewriter, g);
    while (auto next = nextRoot(f)) {
      auto [root, group] = *next;
      int64_t rowDims = int64_t(root.getNumLoops()) - 1;
      int64_t elements = 1; // (the root is erased below)
      for (int64_t r : root.getStaticLoopRanges())
        elements *= r;
      scf::SCFTilingOptions tiling;
      // One row at a time; a unit dimension gets no loop (a loop of one
      // trip would be folded away, and the marks on it with it: the
      // kernel of a softmax over [1, 512, 512] went unvectorized and serial).
      // (With a single row, every row dimension gets its one-trip loop.)
      SmallVector<int64_t> rowRanges(ArrayRef<int64_t>(root.getStaticLoopRanges()).take_front(rowDims));
      bool oneRow = llvm::all_of(rowRanges, [](int64_t r) { return r == 1; });
      SmallVector<OpFoldResult> sizes;
      for (int64_t r : rowRanges)
        sizes.push_back(rewriter.getIndexAttr(r == 1 && !oneRow ? 0 : 1));
      sizes.push_back(rewriter.getIndexAttr(0)); // the row stays whole
      tiling.setTileSizes(sizes);
      scf::SCFTileAndFuseOptions options;
      options.setTilingOptions(tiling);
      options.setFusionControlFn([&](tensor::ExtractSliceOp, OpResult producer, bool) {
        return std::make_tuple(group.contains(producer.getOwner()), false);
      });
      Location groupLoc = root.getLoc();
      for (Operation *member : group)
        if (member != root.getOperation())
          groupLoc = FusedLoc::get(&getContext(), {member->getLoc(), groupLoc});
      int64_t rowLength = root.getStaticLoopRanges().back();
      rewriter.setInsertionPoint(root);
      auto result = scf::tileConsumerAndFuseProducersUsingSCF(
          rewriter, cast<TilingInterface>(root.getOperation()), options);
      if (failed(result)) {
        done.insert(root);
        continue;
      }
      for (auto [original, replacement] : result->replacements)
        rewriter.replaceAllUsesWith(original, replacement);
      for (Operation *member : llvm::reverse(group))
        if (member->use_empty()) {
          done.erase(member);
          rewriter.eraseOp(member);
        }
      if (result->loops.empty())
        continue;
      if (elements >= parallelMinElements)
        result->loops.front()->setAttr(kParallelAttr, rewriter.getUnitAttr());
      // The row loop is the kernel: its location records the group's ops.
      result->loops.front()->setLoc(groupLoc);
      kiln::explain(explain, groupLoc,
                    "row kernel (one row at a time, rows of " + std::to_string(rowLength) + ", " +
                        std::to_string(elements / rowLength) + " rows" +
                        (elements >= parallelMinElements ? " on the thread pool" : "") +
                        "): " + kiln::describeSourceOps(groupLoc));
      result->loops.front()->setAttr(kRowKernelAttr, rewriter.getI64IntegerAttr(rowDims));
    }
    // A producer with two users in the group was fused twice (softmax's
    // exponentials feed the sum and the division): one copy stays.
    DominanceInfo dominance;
    eliminateCommonSubExpressions(rewriter, dominance, f);
    SmallVector<std::pair<linalg::GenericOp, int64_t>> rowOps;
    f.walk([&](scf::ForOp kernel) {
      if (auto rowDims = kernel->getAttrOfType<IntegerAttr>(kRowKernelAttr))
        kernel.walk([&](linalg::GenericOp g) { rowOps.push_back({g, rowDims.getInt()}); });
    });
    for (auto [g, loops] : rowOps)
      splitRowOp(rewriter, g, loops);
    // The pieces to vectorize, marked before canonicalization folds the
    // loop of a kernel of one row (a reduction to a scalar) away with its
    // mark (ops keep their attributes when folded or cloned).
    f.walk([&](scf::ForOp kernel) {
      if (kernel->hasAttr(kRowKernelAttr))
        kernel.walk([&](linalg::LinalgOp piece) { piece->setAttr(kRowPieceAttr, rewriter.getUnitAttr()); });
    });
    // Fold the peeled bounds into static piece shapes, then vectorize the
    // pieces (each at most `width` elements of a row).
    RewritePatternSet patterns(&getContext());
    // A row's temporaries: extract_slice(tensor.empty) becomes a one-row
    // tensor.empty, a buffer of the row loop's own (scratch when parallel).
    tensor::populateFoldTensorEmptyPatterns(patterns);
    if (failed(kiln::canonicalizeWith(f, std::move(patterns))))
      return signalPassFailure();
    llvm::SetVector<Operation *> pieces;
    f.walk([&](scf::ForOp kernel) {
      if (!kernel->hasAttr(kRowKernelAttr))
        return;
      kernel->removeAttr(kRowKernelAttr);
      // A row's temporaries stay in its loop (loop-invariant code motion
      // would hoist a tensor.empty, and the buffer would be shared by all
      // rows, so by all threads): an explicit allocation is not hoisted.
      kernel.walk([&](tensor::EmptyOp empty) {
        rewriter.setInsertionPoint(empty);
        rewriter.replaceOpWithNewOp<bufferization::AllocTensorOp>(empty, empty.getType(),
                                                                  empty.getDynamicSizes());
      });
      kernel.walk([&](linalg::LinalgOp piece) { pieces.insert(piece); });
    });
    // (And the marked ones whose kernel's loop was folded away.)
    f.walk([&](linalg::LinalgOp piece) {
      if (piece->removeAttr(kRowPieceAttr))
        pieces.insert(piece);
    });
    pieces.remove_if([&](Operation *piece) {
      SmallVector<int64_t> ranges = cast<linalg::LinalgOp>(piece).getStaticLoopRanges();
      int64_t elements = 1;
      for (int64_t r : ranges)
        elements = ShapedType::isDynamic(r) || ShapedType::isDynamic(elements) ? ShapedType::kDynamic : elements * r;
      return ShapedType::isDynamic(elements) || elements > maxPieceElements();
    });
    for (Operation *piece : pieces) {
      rewriter.setInsertionPoint(piece);
      (void)linalg::vectorize(rewriter, piece); // what cannot be vectorized stays scalar
    }
  }

  int64_t width() const { return std::max<int64_t>(vectorBits / 32, 1) * 4; } // four f32 vectors
  /// A whole row up to this long is vectorized in one piece.
  int64_t maxPieceElements() const { return 2 * width(); }

  /// Splits a one-row op into vector-wide pieces along the row and peels
  /// the partial piece.
  void splitRowOp(IRRewriter &rewriter, linalg::GenericOp op, int64_t rowDims) {
    SmallVector<int64_t> ranges = op.getStaticLoopRanges();
    if (int64_t(ranges.size()) != rowDims + 1)
      return; // a per-row scalar op (mean = sum / n): nothing to split
    SmallVector<OpFoldResult> sizes(rowDims, rewriter.getIndexAttr(0));
    sizes.push_back(rewriter.getIndexAttr(width()));
    scf::ForOp loop;
    rewriter.setInsertionPoint(op);
    if (ranges.back() <= maxPieceElements()) {
      return; // vectorized whole
    } else if (isRowReduction(op, rowDims)) {
      auto tiled = scf::tileReductionUsingScf(rewriter, cast<PartialReductionOpInterface>(op.getOperation()), sizes);
      if (failed(tiled))
        return;
      // (tileReductionUsingScf replaces the op with the merged result itself.)
      loop = dyn_cast<scf::ForOp>(tiled->loops.front().getOperation());
    } else {
      scf::SCFTilingOptions options;
      options.setTileSizes(sizes);
      auto tiled = scf::tileUsingSCF(rewriter, cast<TilingInterface>(op.getOperation()), options);
      if (failed(tiled))
        return;
      rewriter.replaceOp(op, tiled->replacements);
      loop = dyn_cast<scf::ForOp>(tiled->loops.front().getOperation());
    }
    if (loop) {
      // The last, partial piece gets its own static shape.
      scf::ForOp partial;
      (void)scf::peelForLoopAndSimplifyBounds(rewriter, loop, partial);
    }
  }

  llvm::SmallPtrSet<Operation *, 8> done;
};

} // namespace
