//===- ObjectBundle.h - several relocatable objects as one byte string -*- C++ -*-===//
//
// A model's code may be generated in several partitions at once (one per
// core: codegen/Codegen.cpp), each an ELF object of its own. The compiler
// hands them on as one string: a single object is itself (an ELF file, as
// before), several are a bundle
//
//   "KILNOBJ1" | u32 count | count x (u64 size | size bytes)    (little-endian)
//
// that the JIT loads object by object and AOT writes as files for `ld -r`.
// The object cache stores the string as it is.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_CODEGEN_OBJECTBUNDLE_H
#define KILN_CODEGEN_OBJECTBUNDLE_H

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <string>
#include <vector>

namespace kiln {

/// One object: itself; several: the bundle.
std::string bundleObjects(const std::vector<std::string> &objects);

/// The objects of `bytes` (views into it): a bundle's members, or `bytes`
/// itself when it is no bundle. A truncated or inconsistent bundle is an
/// error.
llvm::Expected<std::vector<llvm::StringRef>> unbundleObjects(llvm::StringRef bytes);

} // namespace kiln

#endif
