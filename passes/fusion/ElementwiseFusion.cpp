//===- ElementwiseFusion.cpp - elementwise fusion without recomputation --===//
#include "passes/Passes.h"
#include "passes/fusion/SourceOps.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace kiln {
#define GEN_PASS_DEF_FUSEELEMENTWISE
#include "passes/Passes.h.inc"
} // namespace kiln

using namespace mlir;

namespace {
struct FuseElementwisePass : kiln::impl::FuseElementwiseBase<FuseElementwisePass> {
  using FuseElementwiseBase::FuseElementwiseBase;

  void runOnOperation() override {
    MLIRContext *ctx = &getContext();
    RewritePatternSet patterns(ctx);
    // Why each producer stays a loop of its own (the latest reason; ops
    // fused later are gone from the IR when the reasons are reported).
    llvm::DenseMap<Operation *, std::pair<Location, std::string>> leftAlone;
    linalg::ControlFusionFn control = [&](OpOperand *fused) {
      Operation *producer = fused->get().getDefiningOp();
      auto consumer = dyn_cast<linalg::GenericOp>(fused->getOwner());
      if (!producer || !consumer)
        return false;
      // A producer computed from indices alone (a causal mask: iota >= iota)
      // costs less to compute again in each consumer, broadcast or not,
      // than to read back; read back, its booleans (bits in vectors, bytes
      // in memory) also kept the consumers from being vectorized.
      if (auto g = dyn_cast<linalg::GenericOp>(producer); g && g.getNumDpsInputs() == 0 && g.getNumResults() == 1 &&
                                                          llvm::all_of(g.getIndexingMapsArray(), [](AffineMap m) {
                                                            return m.isPermutation();
                                                          }))
        return true;
      if (!producer->hasOneUse()) {
        leftAlone.insert_or_assign(
            producer, std::make_pair(producer->getLoc(),
                                     "has " + std::to_string(std::distance(producer->use_begin(), producer->use_end())) +
                                         " users; fusing it into each would compute it again for each"));
        return false;
      }
      // A loop body's compile time grows faster than its length (LLVM's
      // vectorizer and instruction selection work per basic block), so a
      // chain longer than the limit is cut into kernels of bounded size:
      // compile time stays linear in the number of ops, and each cut costs
      // one extra pass over memory.
      auto bodyOps = [](Operation *op) -> int64_t {
        auto generic = dyn_cast<linalg::GenericOp>(op);
        return generic ? int64_t(generic.getBlock()->getOperations().size()) : 1;
      };
      // The fused body: both bodies less the producer's yield.
      if (bodyOps(producer) + bodyOps(consumer) - 1 > maxKernelOps) {
        leftAlone.insert_or_assign(
            producer, std::make_pair(producer->getLoc(),
                                     "would make a kernel of more than " + std::to_string(maxKernelOps) +
                                         " ops (max-kernel-ops: compile time grows faster than a loop body)"));
        return false;
      }
      // A permutation map reads each producer element exactly once.
      if (!consumer.getMatchingIndexingMap(fused).isPermutation()) {
        leftAlone.insert_or_assign(
            producer, std::make_pair(producer->getLoc(),
                                     std::string(linalg::isaContractionOpInterface(consumer)
                                                     ? "feeds a matmul, which reads each element many times"
                                                     : "is read through a broadcast, so fusing would recompute it")));
        return false;
      }
      // The fused op takes the consumer's location: make it cover both.
      kiln::absorbLocation(consumer, producer->getLoc());
      return true;
    };
    linalg::populateElementwiseOpsFusionPatterns(patterns, control);
    linalg::GenericOp::getCanonicalizationPatterns(patterns, ctx);
    if (failed(applyPatternsAndFoldGreedily(getOperation(), std::move(patterns))))
      return signalPassFailure();
    getOperation().walk([&](Operation *op) {
      if (auto fused = dyn_cast<FusedLoc>(op->getLoc()); fused && isa<linalg::GenericOp>(op) &&
                                                          fused.getLocations().size() > 1)
        kiln::explain(explain, op->getLoc(), "elementwise kernel (one loop): " + kiln::describeSourceOps(op->getLoc()));
      auto it = leftAlone.find(op);
      if (it != leftAlone.end() && it->second.first == op->getLoc())
        kiln::explain(explain, op->getLoc(),
                      "not fused into its consumer: " + kiln::describeSourceOps(op->getLoc()) + " " + it->second.second);
    });
  }
};
} // namespace
