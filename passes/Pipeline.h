//===- Pipeline.h - kiln's ordered phase table ------------------*- C++ -*-===//
//
// The one list of phases a model goes through. `kiln --emit=<phase>`,
// `--dump-dir`, `kiln-opt --kiln-to-<phase>` and the C++ API all read this
// table, so the phases a user sees are the phases the compiler runs.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_PASSES_PIPELINE_H
#define KILN_PASSES_PIPELINE_H

#include "mlir/Pass/PassManager.h"
#include "llvm/ADT/ArrayRef.h"
#include <string>

namespace kiln {

struct PipelineOptions {
  std::string entry = "main";       // the model function
  int64_t vectorBits = 512;         // the target's vector width (tiling's cost model)
  int64_t tileRows = 0, tileColumns = 0; // register tile override (0: cost model)
  int64_t l2Bytes = 1 << 20;        // the target's L2 per core (tiling's cache model)
  int64_t threads = 1;              // the threads the code will run on (a recurrence's rows split across them)
  bool explainFusion = false;       // fusion and tiling passes remark on each decision
  bool profile = false;             // time every kernel (kiln-profile-kernels)
  bool check = false;               // ... and probe what each writes (kiln run --check)
  int64_t perturbKernel = -1;       // with check: plant an error there (tests of the checker)
  std::string symbol = "kiln_main"; // the exported ABI entry symbol

  /// The grad phase: differentiate `entry` with respect to `wrt` (empty:
  /// every parameter) into `<entry>_grad`, of the output `of` alone when
  /// set ...
  bool gradient = false;
  std::vector<std::string> wrt;
  std::string of;
  /// ... or build `<entry>_train_step` with this optimizer.
  bool trainStep = false;
  std::string loss;                  // "" = the first rank-0 output
  std::vector<std::string> trainParams; // empty = every parameter
  std::string optimizer = "sgd";
  double momentum = 0, beta1 = 0.9, beta2 = 0.999, eps = 1e-8, weightDecay = 0, clipNorm = 0;

  /// The function the later phases compile and export.
  std::string compiledEntry() const {
    return entry + (gradient ? "_grad" : trainStep ? "_train_step" : "");
  }
};

struct Phase {
  const char *name;
  const char *summary;
  /// Adds the passes that produce this phase from the previous one, each
  /// from its typed constructor and options struct.
  void (*addPasses)(mlir::OpPassManager &pm, const PipelineOptions &options);
};

/// The MLIR phases, in order. After the last one, codegen produces
/// llvm-ir, asm and obj (codegen/Codegen.h).
llvm::ArrayRef<Phase> phases();

/// The index of the grad phase (the last phase on nn IR).
int gradPhase();

/// The index of the phase named `name`, or -1.
int phaseIndex(llvm::StringRef name);

/// Adds the passes that take a module from phase `from` (exclusive; -1 is
/// the parsed input) through phase `to` (inclusive).
void addPhases(mlir::OpPassManager &pm, int from, int to, const PipelineOptions &options);

/// The passes of `phase` as a textual pipeline, as `mlir-opt
/// --pass-pipeline` and `kiln-opt` read it ("" when it adds none).
std::string phasePipelineText(const Phase &phase, const PipelineOptions &options);

/// Registers the nn dialect and everything the pipeline needs: every MLIR
/// dialect, interface external model and LLVM IR translation (without the
/// external models, bufferization and tiling silently do nothing).
void registerDialects(mlir::DialectRegistry &registry);

/// Registers MLIR's passes, kiln's passes and, per phase, the pipelines
/// `kiln-phase-<name>` (that phase only) and `kiln-to-<name>` (all phases up
/// to it) for kiln-opt.
void registerPassesAndPipelines();

} // namespace kiln

#endif
