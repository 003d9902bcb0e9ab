//===- CollapseLoops.cpp - one loop for contiguous linalg ops -------------===//
#include "passes/Passes.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/PatternMatch.h"

namespace kiln {
#define GEN_PASS_DEF_COLLAPSELOOPS
#include "passes/Passes.h.inc"
} // namespace kiln

using namespace mlir;

namespace {

/// Runs of consecutive loops of `op` that can be one loop: the same
/// iterator type, and every indexing map keeps them in order and together.
/// Only runs of two or more loops; none when an operand is not a buffer
/// with an identity layout (a strided view cannot be collapsed; MLIR's
/// collapsing crashes on scalar operands, as a fill's value), or when a map
/// reorders the loops.
SmallVector<ReassociationIndices> collapsibleLoops(linalg::LinalgOp op) {
  for (Value operand : op->getOperands()) {
    auto type = dyn_cast<MemRefType>(operand.getType());
    if (!type || !type.getLayout().isIdentity() || type.getRank() == 0)
      return {};
  }
  SmallVector<AffineMap> maps = op.getIndexingMapsArray();
  // Only maps that keep the loops' order (elementwise, broadcasts): MLIR's
  // collapsing miscounts constant results (a unit dim read at 0) and
  // crashed on transposes.
  auto inOrder = [](AffineMap m) {
    if (!m.isProjectedPermutation())
      return false;
    int64_t last = -1;
    for (AffineExpr e : m.getResults()) {
      int64_t d = cast<AffineDimExpr>(e).getPosition();
      if (d <= last)
        return false;
      last = d;
    }
    return true;
  };
  if (!llvm::all_of(maps, inOrder))
    return {};
  SmallVector<utils::IteratorType> iterators = op.getIteratorTypesArray();
  SmallVector<ReassociationIndices> runs;
  ReassociationIndices run;
  auto close = [&] {
    if (run.size() > 1)
      runs.push_back(run);
    run.clear();
  };
  for (int64_t loop = 0; loop < int64_t(iterators.size()); ++loop) {
    if (!run.empty()) {
      ReassociationIndices longer = run;
      longer.push_back(loop);
      if (iterators[loop] == iterators[run.front()] && linalg::areDimSequencesPreserved(maps, {longer})) {
        run = longer;
        continue;
      }
      close();
    }
    run.push_back(loop);
  }
  close();
  return runs;
}

struct CollapseLoopsPass : kiln::impl::CollapseLoopsBase<CollapseLoopsPass> {
  void runOnOperation() override {
    IRRewriter rewriter(&getContext());
    SmallVector<linalg::LinalgOp> ops;
    getOperation().walk([&](linalg::LinalgOp op) {
      // Only ops on buffers that become plain loops (no tensors, no
      // contractions: those are tiled and vectorized already).
      // linalg.reduce neither: generalized, MLIR 19's collapsing crashed on
      // it (a softmax over [1, 512, 512] took the compiler down).
      if (op.hasPureBufferSemantics() && !linalg::isaContractionOpInterface(op) && !isa<linalg::ReduceOp>(op))
        ops.push_back(op);
    });
    for (linalg::LinalgOp op : ops) {
      SmallVector<ReassociationIndices> runs = collapsibleLoops(op);
      if (runs.empty())
        continue;
      rewriter.setInsertionPoint(op);
      linalg::LinalgOp target = op;
      if (!isa<linalg::GenericOp, linalg::CopyOp>(op.getOperation())) {
        auto generic = linalg::generalizeNamedOp(rewriter, op);
        if (failed(generic))
          continue;
        target = *generic;
      }
      auto collapsed = linalg::collapseOpIterationDims(target, runs, rewriter);
      if (failed(collapsed))
        continue; // left as it was: correct, only more loops
      rewriter.replaceOp(target, collapsed->results);
    }
  }
};

} // namespace
