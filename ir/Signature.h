//===- Signature.h - a model's entry function and its named tensors -*- C++ -*-===//
//
// A kiln model is a module whose entry function's arguments are inputs or
// parameters (`nn.param`) and whose results are outputs, each named by
// `nn.name` (defaults: in0.., param0.., out0..). This is the ABI's view of a
// function (docs/abi.md): JIT, AOT, `kiln run` and the interpreter use it.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_IR_SIGNATURE_H
#define KILN_IR_SIGNATURE_H

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"
#include <string>

namespace kiln::nn {

struct ArgSpec {
  std::string name;
  bool isParam = false;
  mlir::RankedTensorType type;
  mlir::DictionaryAttr init; // the nn.param dictionary, for parameters
};

struct ResultSpec {
  std::string name;
  mlir::RankedTensorType type;
};

struct Signature {
  std::string entry;
  llvm::SmallVector<ArgSpec> args; // inputs and parameters, in argument order
  llvm::SmallVector<ResultSpec> results;
};

/// What a tensor's name may be: 1 to 256 bytes, no control character, and
/// neither '=' (`--input NAME=FILE` splits there) nor '/' (names become
/// file names: `--params-dir`, `--output-dir`). PyTorch's and ONNX's names
/// (`blocks.0.attn.weight`, `onnx::MatMul_123`) are names as they are; AOT
/// headers use a C identifier made from each (docs/abi.md). The verifier
/// and the C++ Graph both ask this.
bool isTensorName(llvm::StringRef name);
inline constexpr const char *kTensorNameRule = "1 to 256 characters, no control character, '=' or '/'";

/// The function named `name`; with an empty name, @main or else the only
/// function. Emits a diagnostic on the module and fails otherwise.
mlir::FailureOr<mlir::func::FuncOp> findEntry(mlir::ModuleOp module, llvm::StringRef name);

/// Reads names, kinds and types; rejects non-tensor or dynamic types and
/// duplicate names with a diagnostic at the function.
mlir::FailureOr<Signature> readSignature(mlir::func::FuncOp func);

} // namespace kiln::nn

#endif
