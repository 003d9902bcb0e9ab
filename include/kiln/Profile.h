//===- Profile.h - where a compiled function's time goes --------*- C++ -*-===//
//
// A function compiled with CompileOptions::profile (`--profile`) times each
// of its kernels on every call. Function::profile() reads the totals:
// one row per kernel with its kind, the source ops it computes, its work
// per call (FLOPs for matmuls, bytes of the buffers it touches), its calls
// and time. The rows are what `kiln run --profile`, kiln-train-bench
// --profile and `kiln report` show, as a table or as JSON.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_PROFILE_H
#define KILN_PROFILE_H

#include <cstdint>
#include <string>
#include <vector>

namespace kiln {

/// One kernel of a profiled function, totals over the calls since the
/// last reset.
struct KernelProfile {
  int id = 0;           // the kernel's place in the function, 0 first
  std::string kind;     // matmul, row, reduction, elementwise, copy, fill
  std::string ops;      // "nn.matmul at model.mlir:5:8, nn.add at ..."
  int64_t flops = 0;    // per call: float adds, multiplies, divides (FMA 2)
  int64_t bytes = 0;    // per call: the buffers the kernel reads or writes
  int64_t calls = 0;
  double seconds = 0;   // all calls together
};

/// This machine's yardsticks, measured in this process: one core's peak
/// f32 FMA rate and one thread's stream-triad bandwidth.
struct MachinePeak {
  double gflopsPerCore = 0;
  double triadGBs = 0;
  std::string vectorUnit; // what the peak was measured with: "AVX-512", "AVX2", "scalar"
};
/// Measured on first use (about a tenth of a second), then the same.
const MachinePeak &machinePeak();

struct Profile {
  std::vector<KernelProfile> kernels; // in program order
  int64_t calls = 0;                  // calls of the whole function
  double seconds = 0;                 // the whole function, all calls
  /// Time inside the function but in no kernel (views, argument passing
  /// between kernels), all calls.
  double unattributedSeconds() const;

  /// The table, kernels sorted by time: share, milliseconds per call,
  /// GFLOP/s (matmuls) or GB/s (the rest), percent of the peak (`threads` x
  /// one core's FMA rate; one thread's triad), kind and source ops;
  /// then the unattributed row. `maxRows` = 0: every kernel. `threads` = 0:
  /// the thread pool's default size (KILN_NUM_THREADS, else the cores).
  std::string table(int threads = 0, size_t maxRows = 0) const;
  /// The same as JSON: {"calls", "seconds_per_call", "unattributed_seconds_per_call",
  /// "threads", "peak": {...}, "kernels": [{"id", "kind", "ops", "flops", "bytes",
  /// "calls", "seconds_per_call", "share", "rate", "unit", "percent_of_peak"}, ...]}.
  std::string json(int threads = 0) const;
};

} // namespace kiln

#endif
