//===- Bufferize.cpp - MLIR's bufferization with kiln's fixed settings ---===//
//
// kiln-bufferize-module and kiln-results-to-out-params run MLIR's library
// entry points with the settings kiln's ABI needs, so that the phase table
// builds them from typed constructors (no option strings) and prints them
// as they run.
//
//===----------------------------------------------------------------------===//
#include "passes/Passes.h"

#include "mlir/Dialect/Bufferization/Transforms/OneShotAnalysis.h"
#include "mlir/Dialect/Bufferization/Transforms/OneShotModuleBufferize.h"
#include "mlir/Dialect/Bufferization/Transforms/Passes.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"

namespace kiln {
#define GEN_PASS_DEF_BUFFERIZEMODULE
#define GEN_PASS_DEF_RESULTSTOOUTPARAMS
#include "passes/Passes.h.inc"
} // namespace kiln

using namespace mlir;

namespace {

struct BufferizeModulePass : kiln::impl::BufferizeModuleBase<BufferizeModulePass> {
  void runOnOperation() override {
    bufferization::OneShotBufferizationOptions options;
    options.bufferizeFunctionBoundaries = true;
    options.setFunctionBoundaryTypeConversion(bufferization::LayoutMapOption::IdentityLayoutMap);
    if (failed(bufferization::runOneShotModuleBufferize(getOperation(), options)))
      signalPassFailure();
  }
};

struct ResultsToOutParamsPass : kiln::impl::ResultsToOutParamsBase<ResultsToOutParamsPass> {
  void runOnOperation() override {
    bufferization::BufferResultsToOutParamsOpts options;
    options.hoistStaticAllocs = true;
    if (failed(bufferization::promoteBufferResultsToOutParams(getOperation(), options)))
      signalPassFailure();
  }
};

} // namespace
