//===- ChunkElementwise.cpp - the rest of the kernels onto the threads ---===//
//
// Matmuls and row kernels are put on the thread pool as they are tiled.
// Everything else that is big — elementwise kernels (a GELU, a training
// step's parameter updates), reductions that keep a dimension (a bias's
// gradient), transposes — ran on the calling thread: on two threads the
// attention LM's step spent 24 ms of 90 in them, at one thread's speed.
// Tiling such an op along its outermost loop, when that loop is parallel,
// gives a loop of independent chunks, each the same op on a slice.
//
//===----------------------------------------------------------------------===//
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
      // A returned result may be an update written in place into its own
      // input (a training step's parameters, kiln-update-in-place), which
      // is planned on the whole op: left as it is.
      if (llvm::any_of(op.getUsers(), [](Operation *user) { return isa<func::ReturnOp>(user); }))
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
      sizes[0] = rewriter.getIndexAttr((ranges[0] + chunks - 1) / chunks);
      scf::SCFTilingOptions options;
      options.setTileSizes(sizes);
      rewriter.setInsertionPoint(op);
      auto tiled = scf::tileUsingSCF(rewriter, cast<TilingInterface>(op.getOperation()), options);
      if (failed(tiled) || tiled->loops.size() != 1)
        continue;
      rewriter.replaceOp(op, tiled->replacements);
      tiled->loops.front()->setAttr(kiln::kParallelAttr, rewriter.getUnitAttr());
    }
  }
};

} // namespace
