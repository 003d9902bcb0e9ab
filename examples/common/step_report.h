//===- step_report.h - what the training examples print about a model -----===//
//
// The size of a compiled model and its training step's per-kernel profile
// (compiled with CompileOptions::profile), as the training examples print
// them.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "kiln/kiln.h"

#include <cstdio>

/// The number of parameter elements of `fn`.
inline int64_t parameterCount(const kiln::Function &fn) {
  int64_t count = 0;
  for (const kiln::TensorInfo &p : fn.params()) {
    int64_t n = 1;
    for (int64_t d : p.shape)
      n *= d;
    count += n;
  }
  return count;
}

/// Prints the training step's per-kernel table (its 30 biggest kernels);
/// false, with the error in `error`, when it was not compiled with timers.
inline bool printStepProfile(const kiln::Function &step, std::string &error) {
  auto table = step.profile();
  if (!table) {
    error = table.error();
    return false;
  }
  std::printf("profile of the training step:\n%s\n", table->table(0, 30).c_str());
  return true;
}
