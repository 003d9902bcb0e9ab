// GEMM throughput of kiln's generated code against OpenBLAS and oneDNN,
// run in the same process, with this machine's measured peak FMA rate and
// stream-triad bandwidth as yardsticks. Google Benchmark runs every case;
// counters: GFLOP/s (GB/s for the GEMV), percent of the measured peak.
//   OPENBLAS_CORETYPE=Cooperlake build/bench/kiln-gemm-bench --benchmark_repetitions=5 \
//       --benchmark_report_aggregates_only=true
// (OpenBLAS 0.3.21 does not recognise this CPU and falls back to a slow
// kernel unless OPENBLAS_CORETYPE names one; bench/run_gemm.sh sets it.)
#include "Yardsticks.h"
#include "kiln/kiln.h"
#include "kiln_rt.h" // kiln_context: the thread count per call

#include <benchmark/benchmark.h>
#include <cblas.h>
#include <dnnl.h>
#include <immintrin.h>

#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

// oneDNN (Debian's build) runs on libgomp's OpenMP; its thread count is
// OpenMP's.
extern "C" void omp_set_num_threads(int);

namespace {

double peakGflops = 0, triadGBs = 0;

struct Shape {
  int64_t m, n, k;
  std::string name() const { return std::to_string(m) + "x" + std::to_string(n) + "x" + std::to_string(k); }
  double flops() const { return 2.0 * double(m) * double(n) * double(k); }
  bool gemv() const { return m == 1; }
  double bytes() const { return 4.0 * double(m * k + k * n + m * n); }
};

struct Operands {
  kiln::HostTensor a, b, c;
  explicit Operands(const Shape &s)
      : a(kiln::DType::f32, {s.m, s.k}), b(kiln::DType::f32, {s.k, s.n}), c(kiln::DType::f32, {s.m, s.n}) {
    for (int64_t i = 0; i < a.size(); ++i)
      a.data<float>()[i] = float(i % 13) * 0.01f;
    for (int64_t i = 0; i < b.size(); ++i)
      b.data<float>()[i] = float(i % 7) * 0.02f;
  }
};

/// GFLOP/s (GB/s for the GEMV) and percent of the peak of `threads` cores
/// (the triad bandwidth is already a whole-socket figure when threads = 2).
void setCounters(benchmark::State &state, const Shape &s, int threads) {
  double perIteration = s.gemv() ? s.bytes() : s.flops();
  state.counters[s.gemv() ? "GB/s" : "GFLOP/s"] =
      benchmark::Counter(perIteration / 1e9, benchmark::Counter::kIsIterationInvariantRate);
  double peak = s.gemv() ? triadGBs : peakGflops * threads;
  state.counters["%peak"] =
      benchmark::Counter(100 * perIteration / 1e9 / peak, benchmark::Counter::kIsIterationInvariantRate);
}

void kilnGemm(benchmark::State &state, Shape s, int threads) {
  kiln::Graph g("gemm");
  g.output(kiln::matmul(g.input("a", {s.m, s.k}), g.input("b", {s.k, s.n})), "c");
  auto fn = kiln::Function::compile(g);
  if (!fn) {
    state.SkipWithError(fn.error().c_str());
    return;
  }
  Operands o(s);
  kiln::HostTensor workspace(kiln::DType::f32, {int64_t(fn->workspaceSize() / 4) + 16});
  void *buffers[] = {o.a.data(), o.b.data(), o.c.data()};
  kiln_context ctx;
  kiln_context_init(&ctx);
  ctx.num_threads = threads; // the runtime's pool (KILN_NUM_THREADS is the default)
  for (auto _ : state)
    benchmark::DoNotOptimize(fn->entry()(buffers, &ctx, workspace.data()));
  setCounters(state, s, threads);
}

void openblasGemm(benchmark::State &state, Shape s, int threads) {
  openblas_set_num_threads(threads);
  Operands o(s);
  for (auto _ : state)
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, int(s.m), int(s.n), int(s.k), 1.0f,
                o.a.data<float>(), int(s.k), o.b.data<float>(), int(s.n), 0.0f, o.c.data<float>(), int(s.n));
  setCounters(state, s, threads);
  const char *core = std::getenv("OPENBLAS_CORETYPE");
  state.SetLabel(std::string("OPENBLAS_CORETYPE=") + (core ? core : "(unset)"));
}

void onednnGemm(benchmark::State &state, Shape s, int threads) {
  omp_set_num_threads(threads);
  Operands o(s);
  for (auto _ : state)
    dnnl_sgemm('N', 'N', s.m, s.n, s.k, 1.0f, o.a.data<float>(), s.k, o.b.data<float>(), s.n, 0.0f,
               o.c.data<float>(), s.n);
  setCounters(state, s, threads);
}

} // namespace

int main(int argc, char **argv) {
  auto [peak, triad] = kiln::bench::measureYardsticks();
  peakGflops = peak;
  triadGBs = triad;
  std::vector<Shape> shapes{{128, 128, 128},  {256, 256, 256}, {512, 512, 512}, {1024, 1024, 1024},
                            {2048, 2048, 2048}, {512, 768, 768}, {512, 3072, 768}, {1, 4096, 4096}};
  // KILN_GEMM_SHAPES=MxNxK,... measures those instead (a model's own shapes,
  // from its --profile table).
  if (const char *list = std::getenv("KILN_GEMM_SHAPES"); list && *list) {
    shapes.clear();
    std::stringstream items(list);
    for (std::string item; std::getline(items, item, ',');) {
      Shape s{};
      if (std::sscanf(item.c_str(), "%" SCNd64 "x%" SCNd64 "x%" SCNd64, &s.m, &s.n, &s.k) != 3 || s.m < 1 || s.n < 1 || s.k < 1) {
        std::fprintf(stderr, "KILN_GEMM_SHAPES: '%s' is not MxNxK\n", item.c_str());
        return 2;
      }
      shapes.push_back(s);
    }
  }
  for (const Shape &s : shapes) {
    for (int t : {1, 2}) {
      benchmark::RegisterBenchmark(("kiln/" + s.name() + "/threads:" + std::to_string(t)).c_str(),
                                   kilnGemm, s, t)->UseRealTime();
      benchmark::RegisterBenchmark(("openblas/" + s.name() + "/threads:" + std::to_string(t)).c_str(),
                                   openblasGemm, s, t)->UseRealTime();
      benchmark::RegisterBenchmark(("onednn/" + s.name() + "/threads:" + std::to_string(t)).c_str(),
                                   onednnGemm, s, t)->UseRealTime();
    }
  }
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
