//===- UpdateInPlace.cpp - results that overwrite their arguments --------===//
#include "ir/Dialect.h"
#include "passes/Passes.h"

#include "mlir/Dialect/Bufferization/IR/Bufferization.h"

namespace kiln {
#define GEN_PASS_DEF_UPDATEINPLACE
#include "passes/Passes.h.inc"
} // namespace kiln

using namespace mlir;

namespace {
struct UpdateInPlacePass : kiln::impl::UpdateInPlaceBase<UpdateInPlacePass> {
  void runOnOperation() override {
    func::FuncOp f = getOperation();
    if (f.isExternal())
      return;
    auto ret = cast<func::ReturnOp>(f.getBody().front().getTerminator());
    OpBuilder b(ret);
    for (unsigned i = 0; i < f.getNumResults(); ++i) {
      auto target = f.getResultAttrOfType<IntegerAttr>(i, kiln::nn::kUpdatesAttr);
      if (!target)
        continue;
      Value dest = f.getArgument(target.getInt());
      auto write = b.create<bufferization::MaterializeInDestinationOp>(ret.getLoc(), ret.getOperand(i), dest);
      ret.setOperand(i, write.getResult());
    }
  }
};
} // namespace
