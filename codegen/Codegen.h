//===- Codegen.h - LLVM dialect -> LLVM IR -> asm / object -------*- C++ -*-===//
#ifndef KILN_CODEGEN_CODEGEN_H
#define KILN_CODEGEN_CODEGEN_H

#include "mlir/IR/BuiltinOps.h"
#include "mlir/Support/Timing.h"
#include "llvm/Support/Error.h"
#include "llvm/Target/TargetMachine.h"
#include <memory>
#include <string>

namespace kiln {

/// A TargetMachine for `cpu` ("" or "host": this machine's CPU and features;
/// otherwise an LLVM CPU name such as "x86-64-v3" or "skylake-avx512" with
/// exactly that CPU's features). Unknown names are an error, never ignored.
llvm::Expected<std::unique_ptr<llvm::TargetMachine>> createTargetMachine(llvm::StringRef cpu);

enum class ArtifactKind { LLVMIR, Assembly, Object };

/// Translates a module in the LLVM dialect, optimizes it at O3 for `tm` and
/// returns LLVM IR text, assembly text or an ELF object. Its three steps
/// (translate, optimize, codegen) are timed under `timing` when it is enabled;
/// with `llvmPassTimes`, LLVM's own per-pass times follow on stderr.
/// `threadSanitizer` instruments the code for ThreadSanitizer (the program
/// that links it must be linked with -fsanitize=thread).
llvm::Expected<std::string> emitArtifact(mlir::ModuleOp module, llvm::TargetMachine &tm,
                                         ArtifactKind kind, mlir::TimingScope &timing,
                                         bool llvmPassTimes = false,
                                         bool threadSanitizer = false);

} // namespace kiln

#endif
