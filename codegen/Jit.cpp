//===- Jit.cpp - load a kiln object into this process --------------------===//
#include "codegen/Jit.h"
#include "codegen/ObjectBundle.h"

#include "llvm/ExecutionEngine/JITLink/JITLink.h"
#include "llvm/ExecutionEngine/Orc/LLJIT.h"
#include "llvm/ExecutionEngine/Orc/ObjectLinkingLayer.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/TargetSelect.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <unistd.h>

namespace kiln {

JitObject::~JitObject() = default;

namespace {
// The external symbols generated code may reference. Anything else is a
// codegen bug and fails the load with LLVM's "Symbols not found" message.
template <typename F> void *fn(F *f) { return reinterpret_cast<void *>(f); }

std::vector<std::pair<const char *, void *>> runtimeSymbols(const AllocatorHooks &hooks) {
  using D = double;
  using F = float;
  return {
      {"malloc", hooks.malloc ? fn(hooks.malloc) : fn(&::malloc)},
      {"free", hooks.free ? fn(hooks.free) : fn(&::free)},
      {"aligned_alloc", hooks.alignedAlloc ? fn(hooks.alignedAlloc) : fn(&::aligned_alloc)},
      {"kiln_rt1_parallel_for", fn(&kiln_parallel_for)},
      {"kiln_rt1_parallel_begin", fn(&kiln_parallel_begin)},
      {"kiln_rt1_parallel_end", fn(&kiln_parallel_end)},
      {"kiln_rt1_profile_now", fn(&kiln_profile_now)},
      {"kiln_rt1_check_probe", fn(&kiln_check_probe)},
      {"memcpy", fn(&::memcpy)},
      {"memmove", fn(&::memmove)},
      {"memset", fn(&::memset)},
      {"exp", fn(static_cast<D (*)(D)>(&::exp))},
      {"expf", fn(static_cast<F (*)(F)>(&::expf))},
      {"exp2", fn(static_cast<D (*)(D)>(&::exp2))},
      {"exp2f", fn(static_cast<F (*)(F)>(&::exp2f))},
      {"expm1", fn(static_cast<D (*)(D)>(&::expm1))},
      {"expm1f", fn(static_cast<F (*)(F)>(&::expm1f))},
      {"log", fn(static_cast<D (*)(D)>(&::log))},
      {"logf", fn(static_cast<F (*)(F)>(&::logf))},
      {"log2", fn(static_cast<D (*)(D)>(&::log2))},
      {"log2f", fn(static_cast<F (*)(F)>(&::log2f))},
      {"log1p", fn(static_cast<D (*)(D)>(&::log1p))},
      {"log1pf", fn(static_cast<F (*)(F)>(&::log1pf))},
      {"tanh", fn(static_cast<D (*)(D)>(&::tanh))},
      {"tanhf", fn(static_cast<F (*)(F)>(&::tanhf))},
      {"erf", fn(static_cast<D (*)(D)>(&::erf))},
      {"erff", fn(static_cast<F (*)(F)>(&::erff))},
      {"sqrt", fn(static_cast<D (*)(D)>(&::sqrt))},
      {"sqrtf", fn(static_cast<F (*)(F)>(&::sqrtf))},
      {"pow", fn(static_cast<D (*)(D, D)>(&::pow))},
      {"powf", fn(static_cast<F (*)(F, F)>(&::powf))},
      {"fma", fn(static_cast<D (*)(D, D, D)>(&::fma))},
      {"fmaf", fn(static_cast<F (*)(F, F, F)>(&::fmaf))},
      {"floor", fn(static_cast<D (*)(D)>(&::floor))},
      {"floorf", fn(static_cast<F (*)(F)>(&::floorf))},
      {"ceil", fn(static_cast<D (*)(D)>(&::ceil))},
      {"ceilf", fn(static_cast<F (*)(F)>(&::ceilf))},
      {"fmod", fn(static_cast<D (*)(D, D)>(&::fmod))},
      {"fmodf", fn(static_cast<F (*)(F, F)>(&::fmodf))},
      {"sin", fn(static_cast<D (*)(D)>(&::sin))},
      {"sinf", fn(static_cast<F (*)(F)>(&::sinf))},
      {"cos", fn(static_cast<D (*)(D)>(&::cos))},
      {"cosf", fn(static_cast<F (*)(F)>(&::cosf))},
  };
}
/// With KILN_PERF_MAP=1, every function of a loaded object (the entry and
/// each outlined kernel, `<model>_parallel_N`) is appended to
/// /tmp/perf-<pid>.map, the file `perf report` reads to name addresses in
/// code that no ELF file on disk holds. Lines are "START SIZE NAME" in hex,
/// written once the object is linked (its final addresses known).
bool perfMapWanted() {
  const char *env = std::getenv("KILN_PERF_MAP"); // read at every load: a load is rare
  return env && std::strcmp(env, "1") == 0;
}

class PerfMapPlugin : public llvm::orc::ObjectLinkingLayer::Plugin {
public:
  void modifyPassConfig(llvm::orc::MaterializationResponsibility &, llvm::jitlink::LinkGraph &,
                        llvm::jitlink::PassConfiguration &config) override {
    // The outlined kernels are local symbols that the entry reaches through
    // its section (`.text + offset`), not by name: JITLink would prune the
    // names (their code stays). Kept, so that they reach the map.
    config.PrePrunePasses.push_back([](llvm::jitlink::LinkGraph &graph) {
      for (llvm::jitlink::Symbol *symbol : graph.defined_symbols())
        if (symbol->hasName() && symbol->isCallable())
          symbol->setLive(true);
      return llvm::Error::success();
    });
    config.PostFixupPasses.push_back([](llvm::jitlink::LinkGraph &graph) {
      static std::mutex mutex; // several models may load at once
      std::lock_guard<std::mutex> lock(mutex);
      std::string path = "/tmp/perf-" + std::to_string(getpid()) + ".map";
      if (FILE *map = std::fopen(path.c_str(), "a")) {
        for (llvm::jitlink::Symbol *symbol : graph.defined_symbols())
          if (symbol->hasName() && symbol->isCallable() && symbol->getSize() > 0)
            std::fprintf(map, "%llx %llx %s\n", (unsigned long long)symbol->getAddress().getValue(),
                         (unsigned long long)symbol->getSize(), symbol->getName().str().c_str());
        std::fclose(map);
      }
      return llvm::Error::success(); // a map that cannot be written costs the user names, not the model
    });
  }
  llvm::Error notifyFailed(llvm::orc::MaterializationResponsibility &) override { return llvm::Error::success(); }
  llvm::Error notifyRemovingResources(llvm::orc::JITDylib &, llvm::orc::ResourceKey) override {
    return llvm::Error::success();
  }
  void notifyTransferringResources(llvm::orc::JITDylib &, llvm::orc::ResourceKey, llvm::orc::ResourceKey) override {}
};
} // namespace

llvm::Expected<std::unique_ptr<JitObject>>
JitObject::load(llvm::StringRef object, llvm::StringRef symbol, const AllocatorHooks &hooks) {
  static bool initialized = [] {
    llvm::InitializeNativeTarget();
    llvm::InitializeNativeTargetAsmPrinter();
    return true;
  }();
  (void)initialized;

  auto jit = llvm::orc::LLJITBuilder().create();
  if (!jit)
    return jit.takeError();
  if (perfMapWanted())
    if (auto *linker = llvm::dyn_cast<llvm::orc::ObjectLinkingLayer>(&(*jit)->getObjLinkingLayer()))
      linker->addPlugin(std::make_unique<PerfMapPlugin>());
  llvm::orc::SymbolMap symbols;
  for (auto &[name, address] : runtimeSymbols(hooks))
    symbols[(*jit)->mangleAndIntern(name)] = {llvm::orc::ExecutorAddr::fromPtr(address),
                                              llvm::JITSymbolFlags::Exported};
  if (auto err = (*jit)->getMainJITDylib().define(llvm::orc::absoluteSymbols(std::move(symbols))))
    return std::move(err);
  // The model's code, in one object or in several generated at once.
  auto objects = unbundleObjects(object);
  if (!objects)
    return objects.takeError();
  for (llvm::StringRef part : *objects)
    if (auto err = (*jit)->addObjectFile(llvm::MemoryBuffer::getMemBufferCopy(part, "kiln-model.o")))
      return std::move(err);
  auto address = (*jit)->lookup(symbol);
  if (!address)
    return address.takeError();

  auto sizeFn = (*jit)->lookup((symbol + "_workspace_size").str());
  if (!sizeFn)
    return sizeFn.takeError();
  std::unique_ptr<JitObject> result(new JitObject());
  result->entry_ = address->toPtr<kiln_entry_fn>();
  result->workspaceSize_ = size_t(sizeFn->toPtr<int64_t (*)()>()());
  if (auto scratchFn = (*jit)->lookup((symbol + "_scratch_size").str()))
    result->scratchSize_ = size_t(scratchFn->toPtr<int64_t (*)()>()());
  else
    llvm::consumeError(scratchFn.takeError());
  if (auto siteFn = (*jit)->lookup((symbol + "_error_site").str()))
    result->errorSite_ = siteFn->toPtr<const char *(*)(int32_t)>();
  else
    llvm::consumeError(siteFn.takeError()); // an object from before error sites
  // A profiled object (--profile) exports its counters and kernel table.
  auto countersFn = (*jit)->lookup((symbol + "_profile_counters").str());
  auto kernelsFn = (*jit)->lookup((symbol + "_profile_kernels").str());
  if (countersFn && kernelsFn) {
    result->profileCounters_ = countersFn->toPtr<int64_t *(*)()>()();
    result->profileKernels_ = kernelsFn->toPtr<const char *(*)()>()();
  }
  if (!countersFn)
    llvm::consumeError(countersFn.takeError());
  if (!kernelsFn)
    llvm::consumeError(kernelsFn.takeError());
  result->jit_ = std::move(*jit);
  return result;
}

} // namespace kiln
