//===- fuzz_onnx_import.cpp - libFuzzer: bytes as an ONNX model ----------===//
//
// Any bytes given to kiln::importOnnx (and the graph's printing, which the
// CLI does next) give a graph or an error, never a crash, a hang or a
// sanitizer report. Seeds: tests/fuzz/corpus/onnx (ONNX node tests and the
// PyTorch exports).
//
//===----------------------------------------------------------------------===//
#include "kiln/Onnx.h"

#include <cstdint>
#include <cstdio>
#include <string>
#include <unistd.h>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static const std::string path = "/tmp/kiln_fuzz_onnx_" + std::to_string(getpid()) + ".onnx";
  FILE *f = std::fopen(path.c_str(), "wb");
  if (!f)
    return 0;
  std::fwrite(data, 1, size, f);
  std::fclose(f);
  auto graph = kiln::importOnnx(path);
  if (graph)
    (void)(*graph)->str(true);
  return 0;
}
