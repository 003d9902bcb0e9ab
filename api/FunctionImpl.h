//===- FunctionImpl.h - what a compiled Function holds (internal) -*- C++ -*-===//
#ifndef KILN_API_FUNCTIONIMPL_H
#define KILN_API_FUNCTIONIMPL_H

#include "kiln/Function.h"
#include "codegen/Jit.h"
#include "kiln_rt.h"

#include <memory>
#include <string>
#include <vector>

namespace kiln {

struct Function::Impl {
  std::vector<TensorInfo> args, results;
  std::vector<HostTensor> paramValues; // one per argument; empty for inputs
  std::unique_ptr<JitObject> jit;
  std::string symbol;
  /// Planned temporaries, reused by every call. Not zeroed: it is scratch
  /// the code writes before it reads, and a large one (the attention LM's
  /// step plans 164 MB) cost 150-230 ms to clear, most of a cached compile.
  std::unique_ptr<void, void (*)(void *)> workspace{nullptr, kiln_free};
  int numThreads = 0;   // kiln_context.num_threads: 0 is the runtime's default
  /// CompileOptions::check: the module after the grad phase, as text with
  /// its locations (api/Check.cpp parses it for the reference interpreter),
  /// and the function in it that was compiled.
  std::string referenceModule;
  std::string entryName;
};

} // namespace kiln

#endif
