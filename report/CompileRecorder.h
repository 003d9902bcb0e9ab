//===- CompileRecorder.h - a compilation watched phase by phase -*- C++ -*-===//
#ifndef KILN_REPORT_COMPILERECORDER_H
#define KILN_REPORT_COMPILERECORDER_H

#include "ir/Signature.h"
#include "kiln/Function.h"
#include "report/ReportData.h"
#include "report/SourceIndex.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"

namespace kiln::report {

/// What a recorded compilation leaves besides the phases in ReportData.
struct Recorded {
  mlir::OwningOpRef<mlir::ModuleOp> nnModule; // the module after the nn phase
  std::string modelEntry;                     // the user's function in it
  nn::Signature signature;                    // of the compiled function
};

/// Lowers `module` through every phase down to llvm, in place, recording
/// after each phase its IR (printed without locations, each op's line
/// linked to its source lines through `sources`), its passes' times, and
/// every fusion and tiling decision. Errors are diagnostics on the
/// module's context.
mlir::FailureOr<Recorded> recordCompilation(mlir::ModuleOp module, const CompileOptions &options,
                                            size_t irLimitBytes, SourceIndex &sources, ReportData &data);

} // namespace kiln::report

#endif
