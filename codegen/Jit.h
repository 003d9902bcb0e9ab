//===- Jit.h - load a kiln object into this process --------------*- C++ -*-===//
//
// The JIT runs the very object file AOT would write: codegen emits it, and
// this loads it into an ORC LLJIT and resolves its few external symbols
// (allocation, memcpy/memset, libm) from an explicit table, never from a
// search of the process.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_CODEGEN_JIT_H
#define KILN_CODEGEN_JIT_H

#include "kiln_rt.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"
#include <memory>

namespace llvm::orc {
class LLJIT;
}

namespace kiln {

/// Replacements for the allocator generated code calls (tests count calls
/// through these to prove that no call leaks).
struct AllocatorHooks {
  void *(*malloc)(size_t) = nullptr;
  void (*free)(void *) = nullptr;
  void *(*alignedAlloc)(size_t, size_t) = nullptr;
};

class JitObject {
public:
  static llvm::Expected<std::unique_ptr<JitObject>>
  load(llvm::StringRef object, llvm::StringRef symbol, const AllocatorHooks &hooks = {});
  ~JitObject();

  kiln_entry_fn entry() const { return entry_; }
  /// Bytes of workspace every call needs (`<symbol>_workspace_size()`).
  size_t workspaceSize() const { return workspaceSize_; }
  /// Scratch bytes per thread of a parallel loop (allocated by the runtime).
  size_t scratchSize() const { return scratchSize_; }
  /// The op and source position of run-time check `site`
  /// (`<symbol>_error_site`), or "" if unknown.
  std::string errorSite(int32_t site) const {
    const char *text = errorSite_ ? errorSite_(site) : nullptr;
    return text ? text : "";
  }

  /// With --profile: the (kernels + 1) x 2 counters (nanoseconds, calls;
  /// the last row the whole call) and the JSON table describing each row
  /// (kiln-profile-kernels); null without.
  int64_t *profileCounters() const { return profileCounters_; }
  const char *profileKernels() const { return profileKernels_; }

private:
  JitObject() = default;
  std::unique_ptr<llvm::orc::LLJIT> jit_;
  kiln_entry_fn entry_ = nullptr;
  size_t workspaceSize_ = 0;
  size_t scratchSize_ = 0;
  const char *(*errorSite_)(int32_t) = nullptr;
  int64_t *profileCounters_ = nullptr;
  const char *profileKernels_ = nullptr;
};

} // namespace kiln

#endif
