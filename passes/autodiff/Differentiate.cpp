//===- Differentiate.cpp - the kiln-differentiate pass -------------------===//
#include "passes/Passes.h"
#include "passes/autodiff/Autodiff.h"

namespace kiln {
#define GEN_PASS_DEF_DIFFERENTIATE
#include "passes/Passes.h.inc"
} // namespace kiln

using namespace mlir;

namespace {
struct DifferentiatePass : kiln::impl::DifferentiateBase<DifferentiatePass> {
  using DifferentiateBase::DifferentiateBase;
  void runOnOperation() override {
    ModuleOp module = getOperation();
    auto f = module.lookupSymbol<func::FuncOp>(func);
    if (!f) {
      module.emitError() << "kiln-differentiate: no function @" << func;
      return signalPassFailure();
    }
    SmallVector<std::string> names(wrt.begin(), wrt.end());
    auto args = kiln::selectArguments(f, names);
    if (failed(args) || failed(kiln::differentiate(f, *args, func + "_grad", of)))
      return signalPassFailure();
  }
};
} // namespace
