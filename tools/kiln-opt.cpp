//===- kiln-opt.cpp - an mlir-opt with kiln's dialect, passes and phases -===//
//
//   kiln-opt model.mlir --kiln-to-linalg          every phase up to linalg
//   kiln-opt model.mlir --kiln-phase-bufferized   one phase
//   kiln-opt model.mlir --kiln-lower-nn-to-linalg one pass
//
//===----------------------------------------------------------------------===//
#include "ir/SourceLimits.h"
#include "passes/Pipeline.h"

#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/SourceMgr.h"

#include <cstring>

/// The input file (the first argument that is no option) is checked for
/// kiln's nesting limit before MLIR's parser sees it: text nested thousands
/// deep would overflow the parser's stack.
static bool inputNestsTooDeep(int argc, char **argv) {
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "-o")) {
      ++i; // the output file
      continue;
    }
    if (argv[i][0] == '-')
      continue;
    auto buffer = llvm::MemoryBuffer::getFile(argv[i], /*IsText=*/true);
    if (!buffer)
      return false; // MlirOptMain reports it
    llvm::StringRef text = (*buffer)->getBuffer();
    llvm::SourceMgr sources;
    sources.AddNewSourceBuffer(std::move(*buffer), llvm::SMLoc());
    mlir::MLIRContext context;
    mlir::SourceMgrDiagnosticHandler handler(sources, &context); // file:line:col with the line
    return failed(kiln::nn::checkNesting(text, argv[i], &context));
  }
  return false;
}

int main(int argc, char **argv) {
  if (inputNestsTooDeep(argc, argv))
    return 1;
  mlir::DialectRegistry registry;
  kiln::registerDialects(registry);
  kiln::registerPassesAndPipelines();
  return mlir::asMainReturnCode(
      mlir::MlirOptMain(argc, argv, "kiln-opt: kiln's pass runner\n", registry));
}
