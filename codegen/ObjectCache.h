//===- ObjectCache.h - compiled objects on disk, keyed by what made them -*- C++ -*-===//
//
// Compiling an unchanged model again loads its object from disk instead of
// running the phases after `grad` and LLVM. An entry's key is a SHA-256 of
// kiln's build identity (the library file's size, time and inode: a rebuilt
// kiln never reuses an older build's objects), LLVM's version, the target
// CPU and features, the pipeline options, and the module's IR after the
// grad phase. An entry carries a magic number, a format version, its
// object's size and SHA-256: anything that does not check out is ignored
// and rewritten, never trusted. Writes go to a temporary file renamed into
// place (atomic); the folder keeps under a size limit by evicting the
// entries used longest ago. Modules with large constants (weights) are
// never cached.
//
// Where: $KILN_CACHE_DIR, else $XDG_CACHE_HOME/kiln, else ~/.cache/kiln.
// Off: KILN_CACHE=off (or 0, no, false), CompileOptions::cache = false,
// `kiln compile --no-cache`. Size limit: $KILN_CACHE_MAX_BYTES (default
// 512 MiB).
//
//===----------------------------------------------------------------------===//
#ifndef KILN_CODEGEN_OBJECTCACHE_H
#define KILN_CODEGEN_OBJECTCACHE_H

#include "mlir/IR/BuiltinOps.h"
#include "llvm/ADT/StringRef.h"

#include <cstdint>
#include <optional>
#include <string>

namespace kiln {

/// What a cache entry holds besides the object.
struct CachedObject {
  std::string object;
  int64_t workspaceBytes = 0;
  int64_t kernels = 0;
};

/// The cache folder, or "" when the cache is off (`enabled` false, or
/// KILN_CACHE says off).
std::string objectCacheDirectory(bool enabled);

/// True when `module` holds constants too large to cache (weights).
bool holdsLargeConstants(mlir::ModuleOp module);

/// The key of `module` compiled with `settings` (the pipeline options and
/// target, as text) by this build of kiln.
std::string objectCacheKey(mlir::ModuleOp module, llvm::StringRef settings);

/// The entry for `key` in `dir`, when it exists and checks out.
std::optional<CachedObject> lookupObject(const std::string &dir, const std::string &key);

/// Writes the entry for `key` (best effort: a cache that cannot be written
/// is no error), then evicts old entries past the size limit.
void storeObject(const std::string &dir, const std::string &key, const CachedObject &entry);

} // namespace kiln

#endif
