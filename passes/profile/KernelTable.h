//===- KernelTable.h - names the per-kernel table uses ----------*- C++ -*-===//
//
// The kernel table (kiln-profile-kernels' JSON) names the element types of
// its probes one way for its writer and its reader (api/Check.cpp).
//
//===----------------------------------------------------------------------===//
#ifndef KILN_PASSES_PROFILE_KERNELTABLE_H
#define KILN_PASSES_PROFILE_KERNELTABLE_H

#include "mlir/IR/Types.h"

#include <string>

namespace kiln {

/// "f32", "f64", "i1", "i32" or "i64"; "" for a type the checker cannot read.
inline std::string kernelTableDType(mlir::Type t) {
  if (t.isF32())
    return "f32";
  if (t.isF64())
    return "f64";
  for (unsigned bits : {1u, 32u, 64u})
    if (t.isInteger(bits))
      return "i" + std::to_string(bits);
  return "";
}

} // namespace kiln

#endif
