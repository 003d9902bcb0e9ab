//===- SplitDestinations.cpp - one user per destination tensor -----------===//
#include "passes/Passes.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

namespace kiln {
#define GEN_PASS_DEF_SPLITDESTINATIONS
#include "passes/Passes.h.inc"
} // namespace kiln

using namespace mlir;

namespace {

/// Whether `use` makes its owner write into the value (a destination-style
/// init); reads (a transfer_read, an scf.for's initial value) share freely.
bool writesInto(OpOperand &use) {
  auto dps = dyn_cast<DestinationStyleOpInterface>(use.getOwner());
  return dps && dps.isDpsInit(&use);
}

/// Gives each destination use after the first its own clone of `op` (and
/// of `op`'s destination operand, if that is itself a destination op).
void split(Operation *op) {
  SmallVector<OpOperand *> uses;
  for (OpOperand &use : op->getUses())
    if (writesInto(use))
      uses.push_back(&use);
  if (uses.size() < 2)
    return;
  for (OpOperand *use : llvm::drop_begin(uses)) {
    OpBuilder b(op);
    IRMapping map;
    if (auto fill = dyn_cast<linalg::FillOp>(op))
      if (Operation *init = fill.getOutputs()[0].getDefiningOp<tensor::EmptyOp>())
        map.map(init->getResult(0), b.clone(*init)->getResult(0));
    use->set(b.clone(*op, map)->getResult(0));
  }
}

struct SplitDestinationsPass : kiln::impl::SplitDestinationsBase<SplitDestinationsPass> {
  void runOnOperation() override {
    SmallVector<Operation *> destinations;
    getOperation().walk([&](Operation *op) {
      if (isa<tensor::EmptyOp>(op) ||
          (isa<linalg::FillOp>(op) && op->getNumResults() == 1 &&
           cast<linalg::FillOp>(op).getOutputs()[0].getDefiningOp<tensor::EmptyOp>()))
        destinations.push_back(op);
    });
    // Fills first, so that each cloned fill gets its own empty.
    for (Operation *op : destinations)
      if (isa<linalg::FillOp>(op))
        split(op);
    for (Operation *op : destinations)
      if (isa<tensor::EmptyOp>(op))
        split(op);
  }
};

} // namespace
