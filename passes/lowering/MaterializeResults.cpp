//===- MaterializeResults.cpp - one fresh tensor per function result -----===//
#include "passes/Passes.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "llvm/ADT/SmallPtrSet.h"

namespace kiln {
#define GEN_PASS_DEF_MATERIALIZERESULTS
#include "passes/Passes.h.inc"
} // namespace kiln

using namespace mlir;

namespace {
struct MaterializeResultsPass : kiln::impl::MaterializeResultsBase<MaterializeResultsPass> {
  void runOnOperation() override {
    getOperation().walk([](func::ReturnOp ret) {
      OpBuilder b(ret);
      llvm::SmallPtrSet<Value, 8> seen;
      for (OpOperand &operand : ret->getOpOperands()) {
        Value v = operand.get();
        auto type = dyn_cast<RankedTensorType>(v.getType());
        bool needsCopy = isa<BlockArgument>(v) || !seen.insert(v).second;
        if (!type || !needsCopy)
          continue;
        Value empty = b.create<tensor::EmptyOp>(ret.getLoc(), type.getShape(), type.getElementType());
        operand.set(b.create<linalg::CopyOp>(ret.getLoc(), v, empty).getResult(0));
      }
    });
  }
};
} // namespace
