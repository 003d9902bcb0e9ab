//===- Compiler.h - parse, verify, lower through the phases, emit -*- C++ -*-===//
//
// The driver shared by the `kiln` tool and the C++ API: it parses kiln IR,
// checks the model's signature, runs the phase table (passes/Pipeline.h) with
// the requested instrumentation (IR printing, numbered dumps, timing) and
// emits LLVM IR, assembly or an object. Errors are MLIR diagnostics on the
// context's handler.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_CODEGEN_COMPILER_H
#define KILN_CODEGEN_COMPILER_H

#include "ir/Signature.h"
#include "kiln/Aot.h"
#include "kiln/Function.h"
#include "passes/Pipeline.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/OwningOpRef.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Support/Timing.h"
#include "llvm/Support/SourceMgr.h"

#include <functional>

namespace kiln {

/// An MLIR context with every dialect and translation kiln uses.
std::unique_ptr<mlir::MLIRContext> createContext();

/// Makes a context that a frontend created (with only the dialects it
/// builds) able to run every phase: the dialects, interface models and
/// translations of createContext(), loaded.
void prepareContext(mlir::MLIRContext &context);

/// While alive, collects a context's errors as "file:line:col: error:
/// message" lines (the C++ builder's locations name the user's source).
class CollectedDiagnostics {
public:
  explicit CollectedDiagnostics(mlir::MLIRContext &context);
  /// The collected errors (or `fallback`) as an Error.
  Error error(const std::string &fallback) const;

private:
  std::string text_;
  mlir::ScopedDiagnosticHandler handler_;
};

/// Parses kiln IR from `sourceMgr` (diagnostics name the file:line:col).
mlir::OwningOpRef<mlir::ModuleOp> parseModule(llvm::SourceMgr &sourceMgr,
                                              mlir::MLIRContext &context);

/// kiln IR text parsed in its own context, every diagnostic collected as
/// text ("file:line:col: error: ...").
struct ParsedSource {
  std::unique_ptr<mlir::MLIRContext> context = createContext();
  llvm::SourceMgr sourceMgr;
  std::string diagnostics;
  llvm::raw_string_ostream diagStream{diagnostics};
  std::unique_ptr<mlir::SourceMgrDiagnosticHandler> handler;
  mlir::OwningOpRef<mlir::ModuleOp> module;

  ParsedSource(const std::string &source, const std::string &name);
  /// The collected diagnostics (or `fallback`) as an Error.
  Error error(const std::string &fallback);
};

/// The stages a user can ask for: the phases, then llvm-ir, asm, obj.
std::vector<std::string> stageNames();

/// What a compilation produced, for `kiln compile --stats` and AOT.
struct CompileReport {
  int64_t workspaceBytes = 0;
  int64_t kernels = 0; // linalg ops in the compiled entry after the linalg phase
  std::vector<std::pair<std::string, double>> phaseSeconds;
  bool fromCache = false; // the object came from the on-disk cache (codegen/ObjectCache.h)
  /// With CompileOptions::check: the module after the grad phase (what the
  /// reference interpreter runs), printed with its locations.
  std::string referenceModule;
  std::string referenceEntry; // the compiled function in it
  /// `kiln report`'s hooks into lowerModule: called with each phase's pass
  /// manager before it runs (to add instrumentation) and with the module
  /// after it ran; with CompileOptions::explainFusion, the fusion and
  /// tiling remarks go to `explanation` instead of stderr.
  std::function<void(mlir::PassManager &, llvm::StringRef phase)> beforePhase;
  std::function<void(llvm::StringRef phase, mlir::ModuleOp module)> afterPhase;
  std::function<void(mlir::Diagnostic &)> explanation;
  /// Lowering to a phase, return "" instead of the module's text (the
  /// caller has seen the module through afterPhase; a big model's text,
  /// weights and all, would be gigabytes).
  bool discardText = false;
};

/// The pipeline options `options` ask for (entry resolved in `module`).
mlir::FailureOr<PipelineOptions> pipelineOptions(mlir::ModuleOp module,
                                                 const CompileOptions &options);

/// Runs phases `fromPhase`+1 .. `toPhase` (indices into phases(); -1 is the
/// parsed input) on `module` in place, each phase timed under `timing`.
mlir::LogicalResult lowerModule(mlir::ModuleOp module, int fromPhase, int toPhase,
                                const PipelineOptions &pipeline, const CompileOptions &options,
                                mlir::TimingScope &timing, CompileReport *report = nullptr);

/// A module lowered all the way: its signature (read before lowering) and
/// the object file bytes.
struct CompiledObject {
  nn::Signature signature;
  std::string object;
  std::string symbol;
};

/// Lowers `module` to `stage` (a phase, llvm-ir, asm or obj) and returns
/// the text or object. The signature of the compiled entry (the model, its
/// _grad or its _train_step), read after the grad phase, goes to
/// `signature` when given. Errors are diagnostics.
mlir::FailureOr<std::string> lowerAndEmit(mlir::ModuleOp module, const std::string &stage,
                                          const CompileOptions &options,
                                          nn::Signature *signature = nullptr,
                                          CompileReport *report = nullptr);

/// compileArtifact of a module already built (a Graph's, compiled without
/// text); `error` words a failure with the diagnostics collected so far.
Result<ArtifactReport> compileArtifactModule(mlir::ModuleOp module, const std::string &sourceName,
                                             const CompileOptions &options, const ArtifactOptions &artifact,
                                             const std::function<Error(const std::string &)> &error);

/// The model's signature in public terms; `withValues` false leaves the
/// parameters' stored initial values out (their kind stays `Values`): a
/// reader of names and shapes need not copy a big model's weights.
std::vector<TensorInfo> describe(const nn::Signature &signature, bool withValues = true);

} // namespace kiln

#endif
