//===- SourceOps.h - which nn ops a lowered op came from --------*- C++ -*-===//
//
// kiln-lower-nn-to-linalg names each op's location after its nn op
// (NameLoc "nn.add" around the source position); fusion joins the
// locations of what it fuses (FusedLoc). A kernel's location so records its
// source ops, and --explain-fusion reads them back from it.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_PASSES_FUSION_SOURCEOPS_H
#define KILN_PASSES_FUSION_SOURCEOPS_H

#include "mlir/IR/Location.h"
#include "mlir/IR/Operation.h"
#include "llvm/ADT/SmallVector.h"

#include <string>

namespace kiln {

/// "nn.add at model.mlir:3:8", "nn.relu at model.mlir:4:8": the source ops
/// recorded in `loc`, in order, each once.
llvm::SmallVector<std::string> sourceOpList(mlir::Location loc);
/// The same joined: "nn.add at model.mlir:3:8, nn.relu at model.mlir:4:8".
std::string describeSourceOps(mlir::Location loc);

/// Marks `op`'s location as also covering `absorbed`'s (a fused producer).
void absorbLocation(mlir::Operation *op, mlir::Location absorbed);

/// An explanation of a fusion decision, as a remark on `loc`; a no-op unless
/// `enabled` (the passes' explain option, set by --explain-fusion).
void explain(bool enabled, mlir::Location loc, const std::string &message);

} // namespace kiln

#endif
