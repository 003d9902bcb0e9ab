//===- ChunkElementwise.cpp - the rest of the kernels onto the threads ---===//
//
// Matmuls and row kernels are put on the thread pool as they are tiled.
// Everything else that is big — elementwise kernels (a GELU, a training
// step's parameter updates), reductions that keep a dimension (a bias's
// gradient), transposes — ran on the calling thread: on two threads the
// attention LM's step spent 24 ms of 90 in them, at one thread's speed.
// Tiling such an op along its outermost loop, when that loop is parallel,
// gives a loop of independent chunks, each the same op on a slice. An op
// that reads an input across the grain (a transpose) is also tiled into
// blocks inside each chunk, so that the input's lines stay in L1.
//
//===----------------------------------------------------------------------===//
#include "ir/Dialect.h"
#include "passes/Passes.h"
#include "passes/tiling/VectorizeSupport.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/Utils/Utils.h"
#include "mlir/Dialect/SCF/Transforms/TileUsingInterface.h"
#include "mlir/Interfaces/TilingInterface.h"

namespace kiln {
#define GEN_PASS_DEF_CHUNKELEMENTWISE
#include "passes/Passes.h.inc"
} // namespace kiln

using namespace mlir;

namespace {

/// More chunks than threads, so uneven chunks even out; few enough that a
/// chunk's loop overhead is nothing.
constexpr int64_t kMaxChunks = 64;

/// The loop an input of `op` reads along its contiguous (last) axis, when
/// that is not the op's last loop: `op` moves data across the grain (a
/// transpose), and row by row it would read one float per cache line, each
/// line 4 x (row length) bytes from the last (a 2048x512 transpose: 1.6
/// GB/s). -1 when every input is read along the op's last loop.
int64_t transposedLoop(linalg::LinalgOp op) {
  int64_t last = int64_t(op.getNumLoops()) - 1;
  for (OpOperand *input : op.getDpsInputOperands()) {
    AffineMap map = op.getMatchingIndexingMap(input);
    if (map.getNumResults() < 2 || !map.isProjectedPermutation())
      continue;
    auto dim = dyn_cast<AffineDimExpr>(map.getResults().back());
    if (dim && int64_t(dim.getPosition()) != last)
      return dim.getPosition();
  }
  return -1;
}

/// A transposing op's blocks: kBlockColumns of its last loop by kBlockRows
/// of the loop its input reads along (16 floats: one cache line of each
/// input row), so a block's lines stay in L1 while it is written.
constexpr int64_t kBlockColumns = 64, kBlockRows = 16;

struct ChunkElementwisePass : kiln::impl::ChunkElementwiseBase<ChunkElementwisePass> {
  using ChunkElementwiseBase::ChunkElementwiseBase;

  void runOnOperation() override {
    func::FuncOp f = getOperation();
    SmallVector<linalg::LinalgOp> targets;
    // Only the function's top level: what is inside a loop is a piece of
    // a kernel already (a register tile, a row).
    for (Operation &op : f.getBody().front()) {
      auto linalgOp = dyn_cast<linalg::LinalgOp>(op);
      if (!linalgOp || !linalgOp.hasPureTensorSemantics() || isa<linalg::FillOp>(op) ||
          kiln::readsAgainstTheLoops(linalgOp))
        continue;
      // A result returned as an update written in place into an argument
      // (a training step's parameters: `nn.updates`, kiln-update-in-place)
      // is planned on the whole op: left as it is. Other returned results
      // are chunked like the rest (a weight gradient's transpose, 4 MiB,
      // ran whole on one thread at 2.8 GB/s).
      if (kiln::returnsInPlaceUpdate(&op))
        continue;
      SmallVector<int64_t> ranges = linalgOp.getStaticLoopRanges();
      int64_t elements = 1;
      for (int64_t r : ranges)
        elements = ShapedType::isDynamic(r) ? 0 : elements * r;
      if (elements >= parallelMinElements)
        targets.push_back(linalgOp);
    }
    IRRewriter rewriter(&getContext());
    for (linalg::LinalgOp op : targets) {
      SmallVector<int64_t> ranges = op.getStaticLoopRanges();
      auto iterators = op.getIteratorTypesArray();
      // Chunks of the outermost loop, so each chunk reads whole rows (a
      // reduction over rows, like a bias's gradient, chunked by columns
      // read each cache line for two floats: slower on two threads than
      // whole on one).
      if (ranges.empty() || !linalg::isParallelIterator(iterators[0]) || ranges[0] < 2)
        continue;
      int64_t chunks = std::min(ranges[0], kMaxChunks);
      SmallVector<OpFoldResult> sizes(ranges.size(), rewriter.getIndexAttr(0));
      int64_t chunk = (ranges[0] + chunks - 1) / chunks;
      // Across the grain: the chunks are split into blocks (and a chunk
      // is at least a block's rows when the transposed loop is the first).
      int64_t across = linalg::isParallelIterator(iterators.back()) ? transposedLoop(op) : -1;
      size_t loops = 1;
      if (across >= 0) {
        int64_t last = int64_t(ranges.size()) - 1;
        if (across == 0)
          chunk = std::max(chunk, kBlockRows);
        else if (linalg::isParallelIterator(iterators[across]) && ranges[across] > kBlockRows)
          sizes[across] = rewriter.getIndexAttr(kBlockRows), ++loops;
        if (ranges[last] > kBlockColumns)
          sizes[last] = rewriter.getIndexAttr(kBlockColumns), ++loops;
      }
      sizes[0] = rewriter.getIndexAttr(chunk);
      scf::SCFTilingOptions options;
      options.setTileSizes(sizes);
      rewriter.setInsertionPoint(op);
      auto tiled = scf::tileUsingSCF(rewriter, cast<TilingInterface>(op.getOperation()), options);
      if (failed(tiled) || tiled->loops.size() != loops)
        continue;
      rewriter.replaceOp(op, tiled->replacements);
      tiled->loops.front()->setAttr(kiln::kParallelAttr, rewriter.getUnitAttr());
    }
  }
};

} // namespace
