//===- kiln-opt.cpp - an mlir-opt with kiln's dialect, passes and phases -===//
//
//   kiln-opt model.mlir --kiln-to-linalg          every phase up to linalg
//   kiln-opt model.mlir --kiln-phase-bufferized   one phase
//   kiln-opt model.mlir --kiln-lower-nn-to-linalg one pass
//
//===----------------------------------------------------------------------===//
#include "passes/Pipeline.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"

int main(int argc, char **argv) {
  mlir::DialectRegistry registry;
  kiln::registerDialects(registry);
  kiln::registerPassesAndPipelines();
  return mlir::asMainReturnCode(
      mlir::MlirOptMain(argc, argv, "kiln-opt: kiln's pass runner\n", registry));
}
