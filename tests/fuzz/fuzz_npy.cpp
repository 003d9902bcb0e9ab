//===- fuzz_npy.cpp - libFuzzer target: the runtime's .npy reader ---------===//
//
// Any bytes as a .npy file: kiln_npy_read either fails with a message or
// returns a tensor whose buffer holds exactly the bytes its dtype and shape
// say (every byte is read, so AddressSanitizer sees a short buffer), and
// writing it back and reading it again gives the same tensor.
//
//===----------------------------------------------------------------------===//
#include "kiln_rt.h"

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <sys/mman.h>
#include <unistd.h>

static std::string memoryFile(const uint8_t *data, size_t size) {
  // One in-memory file, rewritten per input: no disk traffic.
  static int fd = memfd_create("kiln-fuzz-npy", 0);
  if (fd < 0 || ftruncate(fd, 0) != 0 || pwrite(fd, data, size, 0) != ssize_t(size))
    abort();
  return "/proc/self/fd/" + std::to_string(fd);
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  std::string path = memoryFile(data, size);
  kiln_npy npy;
  char err[512] = {0};
  if (kiln_npy_read(path.c_str(), &npy, err, sizeof err) != KILN_OK) {
    if (err[0] == 0)
      abort(); // a failure must say why
    return 0;
  }
  int64_t count = 1;
  for (int32_t d = 0; d < npy.rank; ++d)
    count *= npy.shape[d];
  size_t bytes = size_t(count) * kiln_dtype_size(npy.dtype);
  volatile uint8_t sum = 0;
  for (size_t i = 0; i < bytes; ++i)
    sum += static_cast<const uint8_t *>(npy.data)[i];
  // Round trip through the writer (to memory as well).
  static int out = memfd_create("kiln-fuzz-npy-out", 0);
  std::string outPath = "/proc/self/fd/" + std::to_string(out);
  if (out < 0 || ftruncate(out, 0) != 0 ||
      kiln_npy_write(outPath.c_str(), npy.dtype, npy.rank, npy.shape, npy.data, err, sizeof err) != KILN_OK)
    abort();
  kiln_npy again;
  if (kiln_npy_read(outPath.c_str(), &again, err, sizeof err) != KILN_OK || again.dtype != npy.dtype ||
      again.rank != npy.rank || std::memcmp(again.shape, npy.shape, sizeof(int64_t) * npy.rank) != 0 ||
      std::memcmp(again.data, npy.data, bytes) != 0)
    abort();
  kiln_npy_free(&again);
  kiln_npy_free(&npy);
  return 0;
}
