//===- SinkTemporaries.cpp - a parallel loop's temporaries stay in it -----===//
//
// Loop-invariant code motion hoists every tensor.empty out of the loops
// (it is pure and has no operands), so a temporary that each iteration of
// a parallel loop writes and reads (flash attention's block of scores, a
// matmul's epilogue tile) becomes one buffer allocated before the loop.
// kiln-parallelize-loops can then only run the loop on the thread pool if
// it proves that each iteration overwrites the buffer first; where the
// first write is a register tile's vector stores, it cannot, and the loop
// silently stays serial. This pass puts such a tensor.empty back: each use
// inside a kiln.parallel loop that does not contain the empty gets its own
// copy next to it (an empty has no contents to share), so bufferization
// allocates it inside the loop and the outlined body takes it from each
// thread's scratch.
//
//===----------------------------------------------------------------------===//
#include "passes/Passes.h"

#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

namespace kiln {
#define GEN_PASS_DEF_SINKTEMPORARIES
#include "passes/Passes.h.inc"
} // namespace kiln

using namespace mlir;

namespace {

/// The outermost kiln.parallel loop around `op`, or null.
Operation *parallelLoopAround(Operation *op) {
  Operation *outermost = nullptr;
  for (Operation *at = op->getParentOp(); at; at = at->getParentOp())
    if (isa<scf::ForOp>(at) && at->hasAttr(kiln::kParallelAttr))
      outermost = at;
  return outermost;
}

struct SinkTemporariesPass : kiln::impl::SinkTemporariesBase<SinkTemporariesPass> {
  void runOnOperation() override {
    SmallVector<tensor::EmptyOp> empties;
    getOperation().walk([&](tensor::EmptyOp empty) {
      if (empty.getDynamicSizes().empty())
        empties.push_back(empty);
    });
    for (tensor::EmptyOp empty : empties) {
      for (OpOperand &use : llvm::make_early_inc_range(empty->getUses())) {
        Operation *user = use.getOwner();
        Operation *loop = parallelLoopAround(user);
        if (!loop || loop->isProperAncestor(empty))
          continue;
        OpBuilder b(user);
        use.set(b.clone(*empty)->getResult(0));
      }
      if (empty->use_empty())
        empty->erase();
    }
  }
};

} // namespace
