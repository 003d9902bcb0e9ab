//===- SourceOps.cpp - which nn ops a lowered op came from ---------------===//
#include "passes/fusion/SourceOps.h"

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Diagnostics.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/raw_ostream.h"

using namespace mlir;

namespace kiln {

namespace {
void collect(Location loc, SmallVectorImpl<std::string> &out) {
  if (auto fused = dyn_cast<FusedLoc>(loc)) {
    for (Location inner : fused.getLocations())
      collect(inner, out);
    return;
  }
  std::string text;
  llvm::raw_string_ostream os(text);
  if (auto name = dyn_cast<NameLoc>(loc)) {
    os << name.getName().getValue();
    if (auto file = dyn_cast<FileLineColLoc>(name.getChildLoc()))
      os << " at " << file.getFilename().getValue() << ":" << file.getLine() << ":" << file.getColumn();
  } else if (auto file = dyn_cast<FileLineColLoc>(loc)) {
    os << file.getFilename().getValue() << ":" << file.getLine() << ":" << file.getColumn();
  } else {
    return; // unknown or call-site locations name nothing useful
  }
  if (!llvm::is_contained(out, text))
    out.push_back(text);
}
} // namespace

SmallVector<std::string> sourceOpList(Location loc) {
  SmallVector<std::string> parts;
  collect(loc, parts);
  return parts;
}

std::string describeSourceOps(Location loc) {
  SmallVector<std::string> parts = sourceOpList(loc);
  return parts.empty() ? std::string("an op without a source location") : llvm::join(parts, ", ");
}

void absorbLocation(Operation *op, Location absorbed) {
  op->setLoc(FusedLoc::get(op->getContext(), {absorbed, op->getLoc()}));
}

void explain(bool enabled, Location loc, const std::string &message) {
  if (enabled)
    emitRemark(loc) << message;
}

} // namespace kiln
