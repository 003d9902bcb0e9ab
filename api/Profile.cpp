//===- Profile.cpp - reading and showing the per-kernel profile ----------===//
//
// The counters and the kernel table come from kiln-profile-kernels
// (passes/profile/ProfileKernels.cpp) through the compiled object's
// `<symbol>_profile_counters` and `<symbol>_profile_kernels`; this file
// turns them into rows, measures the machine's peak to compare with, and
// prints the table and the JSON.
//
//===----------------------------------------------------------------------===//
#include "api/ProfileData.h"
#include "kiln_rt.h" // kiln_num_threads

#include "llvm/Support/Format.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <immintrin.h>
#include <memory>
#include <numeric>

namespace kiln {

namespace {

using Clock = std::chrono::steady_clock;

/// Peak f32 FMA GFLOP/s of one core, from 12 independent FMA chains (enough
/// to cover the latency of two FMA units).
__attribute__((target("avx512f"))) double peakAvx512() {
  __m512 acc[12];
  for (auto &a : acc)
    a = _mm512_set1_ps(1.0f);
  const __m512 x = _mm512_set1_ps(0.999999f), y = _mm512_set1_ps(1e-7f);
  const long iterations = 2'000'000;
  auto start = Clock::now();
  for (long i = 0; i < iterations; ++i)
    for (auto &a : acc)
      a = _mm512_fmadd_ps(a, x, y);
  double s = std::chrono::duration<double>(Clock::now() - start).count();
  volatile float sink = 0;
  for (auto &a : acc)
    sink = sink + _mm512_reduce_add_ps(a);
  return 12.0 * 16 * 2 * double(iterations) / s / 1e9;
}

__attribute__((target("avx2,fma"))) double peakAvx2() {
  __m256 acc[12];
  for (auto &a : acc)
    a = _mm256_set1_ps(1.0f);
  const __m256 x = _mm256_set1_ps(0.999999f), y = _mm256_set1_ps(1e-7f);
  const long iterations = 4'000'000;
  auto start = Clock::now();
  for (long i = 0; i < iterations; ++i)
    for (auto &a : acc)
      a = _mm256_fmadd_ps(a, x, y);
  double s = std::chrono::duration<double>(Clock::now() - start).count();
  alignas(32) float lanes[8];
  volatile float sink = 0;
  for (auto &a : acc) {
    _mm256_store_ps(lanes, a);
    sink = sink + lanes[0];
  }
  return 12.0 * 8 * 2 * double(iterations) / s / 1e9;
}

/// Stream triad a = b + s c over 3 x 32 MB, GB/s, best of 3.
double triad() {
  const size_t n = 8 << 20;
  std::unique_ptr<float[]> a(new float[n]), b(new float[n]), c(new float[n]);
  std::fill_n(b.get(), n, 1.0f);
  std::fill_n(c.get(), n, 2.0f);
  std::fill_n(a.get(), n, 0.0f);
  double best = 0;
  for (int r = 0; r < 3; ++r) {
    auto start = Clock::now();
    float *pa = a.get();
    const float *pb = b.get(), *pc = c.get();
    for (size_t i = 0; i < n; ++i)
      pa[i] = pb[i] + 0.5f * pc[i];
    double s = std::chrono::duration<double>(Clock::now() - start).count();
    asm volatile("" : : "r"(pa) : "memory");
    best = std::max(best, 3.0 * double(n) * sizeof(float) / s / 1e9);
  }
  return best;
}

struct Rate {
  double value = 0;   // GFLOP/s or GB/s
  const char *unit = "";
  double percent = 0; // of the peak it is measured against
};

Rate rateOf(const KernelProfile &k, int threads, const MachinePeak &peak) {
  if (k.calls == 0 || k.seconds <= 0)
    return {};
  double perCall = k.seconds / double(k.calls);
  // Products are measured against the FMA peak, everything else against
  // the memory bandwidth.
  bool product = k.kind.rfind("matmul", 0) == 0 || k.kind.rfind("flash attention", 0) == 0 ||
                 k.kind.rfind("convolution", 0) == 0 || k.kind.rfind("recurrence", 0) == 0;
  if (product && k.flops > 0) {
    double gflops = double(k.flops) / perCall / 1e9;
    return {gflops, "GFLOP/s", 100 * gflops / (peak.gflopsPerCore * std::max(threads, 1))};
  }
  double gbs = double(k.bytes) / perCall / 1e9;
  return {gbs, "GB/s", 100 * gbs / peak.triadGBs};
}

} // namespace

const MachinePeak &machinePeak() {
  static const MachinePeak peak = [] {
    MachinePeak p;
    if (__builtin_cpu_supports("avx512f")) {
      p.gflopsPerCore = std::max(peakAvx512(), peakAvx512()); // the first warms the unit up
      p.vectorUnit = "AVX-512";
    } else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
      p.gflopsPerCore = std::max(peakAvx2(), peakAvx2());
      p.vectorUnit = "AVX2";
    } else {
      p.gflopsPerCore = 1; // no FMA to measure: matmul rows show rates only
      p.vectorUnit = "scalar";
    }
    p.triadGBs = triad();
    return p;
  }();
  return peak;
}

double Profile::unattributedSeconds() const {
  double inKernels = 0;
  for (const KernelProfile &k : kernels)
    inKernels += k.seconds;
  return std::max(0.0, seconds - inKernels);
}

std::string Profile::table(int threads, size_t maxRows) const {
  if (threads <= 0)
    threads = kiln_num_threads();
  const MachinePeak &peak = machinePeak();
  std::string out;
  llvm::raw_string_ostream os(out);
  double perCall = calls ? seconds / double(calls) : 0;
  os << llvm::format("%lld calls, %.3f ms per call; peak %.0f GFLOP/s per core (%s) x %d threads, "
                     "triad %.1f GB/s\n",
                     (long long)calls, perCall * 1e3, peak.gflopsPerCore, peak.vectorUnit.c_str(), threads,
                     peak.triadGBs);
  os << "  share  ms/call        rate   % peak  kind                 source ops\n";
  std::vector<const KernelProfile *> sorted;
  for (const KernelProfile &k : kernels)
    sorted.push_back(&k);
  std::sort(sorted.begin(), sorted.end(), [](const KernelProfile *a, const KernelProfile *b) {
    return a->seconds != b->seconds ? a->seconds > b->seconds : a->id < b->id;
  });
  size_t shown = maxRows ? std::min(maxRows, sorted.size()) : sorted.size();
  double rest = 0;
  for (size_t i = 0; i < sorted.size(); ++i) {
    const KernelProfile &k = *sorted[i];
    if (i >= shown) {
      rest += k.seconds;
      continue;
    }
    Rate r = rateOf(k, threads, peak);
    double kPerCall = k.calls ? k.seconds / double(k.calls) : 0;
    os << llvm::format("%6.1f%% %8.3f %7.1f %-7s %5.0f%%  %-20s ", seconds > 0 ? 100 * k.seconds / seconds : 0.0,
                       kPerCall * 1e3, r.value, r.unit, r.percent, k.kind.c_str())
       << (k.ops.empty() ? "(no source op)" : k.ops) << "\n";
  }
  auto row = [&](double s, const char *what) {
    const char *blank = "";
    os << llvm::format("%6.1f%% %8.3f %7s %-7s %6s  %s\n", seconds > 0 ? 100 * s / seconds : 0.0,
                       calls ? s / double(calls) * 1e3 : 0.0, blank, blank, blank, what);
  };
  if (shown < sorted.size())
    row(rest, ("(" + std::to_string(sorted.size() - shown) + " more kernels)").c_str());
  row(unattributedSeconds(), "unattributed (in the function, outside every kernel)");
  return out;
}

std::string Profile::json(int threads) const {
  if (threads <= 0)
    threads = kiln_num_threads();
  const MachinePeak &peak = machinePeak();
  llvm::json::Array rows;
  for (const KernelProfile &k : kernels) {
    Rate r = rateOf(k, threads, peak);
    rows.push_back(llvm::json::Object{
        {"id", k.id},
        {"kind", k.kind},
        {"ops", k.ops},
        {"flops", k.flops},
        {"bytes", k.bytes},
        {"calls", k.calls},
        {"seconds_per_call", k.calls ? k.seconds / double(k.calls) : 0.0},
        {"share", seconds > 0 ? k.seconds / seconds : 0.0},
        {"rate", r.value},
        {"unit", r.unit},
        {"percent_of_peak", r.percent},
    });
  }
  llvm::json::Object root{
      {"calls", calls},
      {"seconds_per_call", calls ? seconds / double(calls) : 0.0},
      {"unattributed_seconds_per_call", calls ? unattributedSeconds() / double(calls) : 0.0},
      {"threads", threads},
      {"peak", llvm::json::Object{{"gflops_per_core", peak.gflopsPerCore},
                                  {"triad_gbs", peak.triadGBs},
                                  {"vector_unit", peak.vectorUnit}}},
      {"kernels", std::move(rows)},
  };
  std::string out;
  llvm::raw_string_ostream os(out);
  os << llvm::formatv("{0:2}", llvm::json::Value(std::move(root))) << "\n";
  return out;
}

Result<Profile> readProfile(const int64_t *counters, const char *kernelsJson) {
  if (!counters || !kernelsJson)
    return Error{"this function was compiled without profiling (CompileOptions::profile, --profile)"};
  auto parsed = llvm::json::parse(kernelsJson);
  if (!parsed) {
    std::string why = llvm::toString(parsed.takeError());
    return Error{"the compiled function's kernel table is not JSON (a compiler bug): " + why};
  }
  const llvm::json::Array *rows = parsed->getAsArray();
  if (!rows)
    return Error{"the compiled function's kernel table is not a JSON array (a compiler bug)"};
  Profile p;
  for (const llvm::json::Value &row : *rows) {
    const llvm::json::Object *o = row.getAsObject();
    if (!o)
      return Error{"a kernel table row is not a JSON object (a compiler bug)"};
    KernelProfile k;
    k.id = int(o->getInteger("id").value_or(-1));
    k.kind = o->getString("kind").value_or("").str();
    k.ops = o->getString("ops").value_or("").str();
    k.flops = o->getInteger("flops").value_or(0);
    k.bytes = o->getInteger("bytes").value_or(0);
    if (k.id != int(p.kernels.size()))
      return Error{"the kernel table's rows are out of order (a compiler bug)"};
    k.seconds = double(counters[2 * k.id]) * 1e-9;
    k.calls = counters[2 * k.id + 1];
    p.kernels.push_back(std::move(k));
  }
  size_t whole = p.kernels.size();
  p.seconds = double(counters[2 * whole]) * 1e-9;
  p.calls = counters[2 * whole + 1];
  return p;
}

void resetProfile(int64_t *counters, const char *kernelsJson) {
  if (!counters || !kernelsJson)
    return;
  auto parsed = llvm::json::parse(kernelsJson);
  if (!parsed) {
    llvm::consumeError(parsed.takeError());
    return;
  }
  size_t rows = parsed->getAsArray() ? parsed->getAsArray()->size() + 1 : 0;
  std::memset(counters, 0, rows * 2 * sizeof(int64_t));
}

} // namespace kiln
