//===- fuzz_mlir_parse.cpp - libFuzzer target: kiln IR in, nn phase out ---===//
//
// Any text as a model file: parsing, the nn dialect's verifiers and shape
// rules, the signature checks and the nn phase (canonicalization) must end
// in success or in located diagnostics -- never a crash, an assertion, a
// leak or undefined behaviour. Fast enough for millions of inputs; the
// compile-and-run target (fuzz_mlir_run) goes further at a lower rate.
//
//===----------------------------------------------------------------------===//
#include "kiln/Function.h"

#include <cstdint>
#include <cstdlib>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  std::string source(reinterpret_cast<const char *>(data), size);
  auto signature = kiln::readSignature(source, "fuzz.mlir");
  auto nn = kiln::lowerToStage(source, "fuzz.mlir", "nn");
  // A model whose signature reads must also get through the nn phase or
  // say why; a failure without a message is a bug.
  if (!nn && nn.error().empty())
    abort();
  if (!signature && signature.error().empty())
    abort();
  return 0;
}
