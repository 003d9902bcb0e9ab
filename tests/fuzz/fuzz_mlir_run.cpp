//===- fuzz_mlir_run.cpp - libFuzzer target: compile and run any model ----===//
//
// Any text as a model: compile it (JIT, every phase down to machine code)
// and run it on deterministic random inputs; then run the reference
// interpreter on the same inputs. Each step ends in a result or an error
// message -- never a crash, hang, leak or undefined behaviour in kiln's
// compiler or runtime. Models over a size budget are skipped, so that one
// input cannot take the fuzzer's memory.
//
//===----------------------------------------------------------------------===//
#include "kiln/Function.h"

#include <cstdint>
#include <cstdlib>
#include <random>
#include <string>

namespace {

constexpr int64_t kMaxBytesPerTensor = 1 << 20;

kiln::HostTensor randomInput(const kiln::TensorInfo &info, std::mt19937 &rng) {
  kiln::HostTensor t(info.dtype, info.shape);
  std::uniform_real_distribution<double> u(-2, 2);
  for (int64_t i = 0; i < t.size(); ++i)
    t.set(i, info.dtype == kiln::DType::f32 || info.dtype == kiln::DType::f64 ? u(rng)
                                                                             : double(rng() % 3));
  return t;
}

} // namespace

extern "C" int LLVMFuzzerInitialize(int *, char ***) {
  setenv("KILN_CACHE", "off", 1); // every input compiled, nothing written to disk
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  std::string source(reinterpret_cast<const char *>(data), size);
  auto signature = kiln::readSignature(source, "fuzz.mlir");
  if (!signature) {
    if (signature.error().empty())
      abort();
    return 0;
  }
  for (const auto *list : {&signature->inputs, &signature->params, &signature->outputs})
    for (const kiln::TensorInfo &t : *list)
      if (kiln::checkedBytes(t.dtype, t.shape) > kMaxBytesPerTensor)
        return 0;
  kiln::CompileOptions options;
  options.cache = false;
  auto fn = kiln::Function::compileSource(source, "fuzz.mlir", options);
  if (!fn) {
    if (fn.error().empty())
      abort();
    return 0;
  }
  std::mt19937 rng{uint32_t(size)};
  std::vector<kiln::HostTensor> inputs;
  for (const kiln::TensorInfo &info : fn->inputs())
    inputs.push_back(randomInput(info, rng));
  auto results = fn->run(inputs);
  if (!results && results.error().empty())
    abort();
  auto reference = kiln::runReference(source, "fuzz.mlir", inputs);
  if (!reference && reference.error().empty())
    abort();
  return 0;
}
