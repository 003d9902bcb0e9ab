//===- Registration.cpp - dialects, passes and pipelines for kiln tools --===//
#include "ir/Dialect.h"
#include "passes/Passes.h"
#include "passes/Pipeline.h"

#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/InitAllPasses.h"
#include "mlir/Target/LLVMIR/Dialect/Builtin/BuiltinToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/LLVMIR/LLVMToLLVMIRTranslation.h"

namespace kiln {

void registerDialects(mlir::DialectRegistry &registry) {
  registry.insert<nn::NNDialect>();
  mlir::registerAllDialects(registry);
  mlir::registerAllExtensions(registry);
  mlir::registerBuiltinDialectTranslation(registry);
  mlir::registerLLVMDialectTranslation(registry);
}

void registerPassesAndPipelines() {
  mlir::registerAllPasses();
  registerKilnPasses();
  for (int i = 0; i < (int)phases().size(); ++i) {
    const Phase &phase = phases()[i];
    auto build = [i](int from) {
      return [i, from](mlir::OpPassManager &pm) { addPhases(pm, from, i, PipelineOptions{}); };
    };
    mlir::PassPipelineRegistration<>(std::string("kiln-phase-") + phase.name,
                                     std::string("kiln phase '") + phase.name +
                                         "' only: " + phase.summary,
                                     build(i - 1));
    mlir::PassPipelineRegistration<>(std::string("kiln-to-") + phase.name,
                                     std::string("every kiln phase up to '") + phase.name + "'",
                                     build(-1));
  }
}

} // namespace kiln
