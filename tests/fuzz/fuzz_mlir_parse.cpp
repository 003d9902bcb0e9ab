//===- fuzz_mlir_parse.cpp - libFuzzer target: kiln IR in, nn phase out ---===//
//
// Any text as a model file: the nesting limit, MLIR's parser, the nn
// dialect's verifiers and shape rules, the signature and size checks and
// the nn phase (canonicalization, CSE) must end in success or in a located
// diagnostic -- never a crash, an assertion, a leak or undefined behaviour.
// kiln's own entry points make a context per model (tens of milliseconds
// under ASan); this target reuses one for 500 inputs to reach millions of
// inputs, the same checks in the same order (codegen/Compiler.cpp). The
// compile-and-run target (fuzz_mlir_run) goes through the public API.
//
//===----------------------------------------------------------------------===//
#include "codegen/Compiler.h"
#include "ir/ModelLimits.h"
#include "ir/Signature.h"
#include "ir/SourceLimits.h"
#include "passes/Pipeline.h"

#include "mlir/IR/Diagnostics.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"

#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>

using namespace mlir;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static std::unique_ptr<MLIRContext> context;
  static int uses = 0;
  if (!context || ++uses % 500 == 0)
    context = kiln::createContext(); // uniqued types and attributes accumulate
  std::string text(reinterpret_cast<const char *>(data), size);
  int errors = 0;
  ScopedDiagnosticHandler handler(context.get(), [&](Diagnostic &d) {
    if (d.getSeverity() == DiagnosticSeverity::Error)
      ++errors;
    return success();
  });
  // Every failure below must have said why.
  auto failedSilently = [&] { return errors == 0; };
  if (failed(kiln::nn::checkNesting(text, "fuzz.mlir", context.get()))) {
    if (failedSilently())
      abort();
    return 0;
  }
  OwningOpRef<ModuleOp> module = parseSourceString<ModuleOp>(text, context.get(), "fuzz.mlir");
  if (!module) {
    if (failedSilently())
      abort();
    return 0;
  }
  auto entry = kiln::nn::findEntry(*module, "");
  if (failed(entry) || failed(kiln::nn::readSignature(*entry)) ||
      failed(kiln::nn::verifyTensorSizes(*module)) || failed(kiln::nn::verifyOpCount(*module))) {
    if (failedSilently())
      abort();
    return 0;
  }
  kiln::PipelineOptions options;
  options.entry = entry->getSymName().str();
  PassManager pm(context.get());
  kiln::addPhases(pm, -1, 0, options); // the nn phase
  if (failed(pm.run(*module)) && failedSilently())
    abort();
  return 0;
}
