// Memory-bound kernels: a chain of five elementwise ops (fused into one loop
// by kiln-fuse-elementwise) against a single add, softmax and layer norm, in
// GB/s of the bytes each must move, against this machine's stream triad.
//   build/bench/kiln-elementwise-bench --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
#include "Yardsticks.h"
#include "kiln/kiln.h"

#include <benchmark/benchmark.h>

#include <chrono>
#include <vector>

namespace {

constexpr int64_t kRows = 4096, kCols = 4096; // 16M elements

double triad = 0;

/// Compiles `build`'s graph over two [rows, cols] inputs and times a call;
/// `bytes` is what the kernel must read and write.
void run(benchmark::State &state, kiln::Tensor (*build)(kiln::Graph &, kiln::Tensor, kiln::Tensor),
         double bytes) {
  kiln::Graph g("kernel");
  kiln::Tensor x = g.input("x", {kRows, kCols}), y = g.input("y", {kRows, kCols});
  g.output(build(g, x, y), "z");
  auto fn = kiln::Function::compile(g);
  if (!fn) {
    state.SkipWithError(fn.error().c_str());
    return;
  }
  kiln::HostTensor a(kiln::DType::f32, {kRows, kCols}), b = a, out = a;
  for (int64_t i = 0; i < a.size(); ++i) {
    a.data<float>()[i] = float(i % 97) * 0.01f;
    b.data<float>()[i] = float(i % 89) * 0.02f;
  }
  kiln::HostTensor workspace(kiln::DType::f32, {int64_t(fn->workspaceSize() / 4) + 16});
  void *buffers[] = {a.data(), b.data(), out.data()};
  for (auto _ : state)
    benchmark::DoNotOptimize(fn->entry()(buffers, nullptr, workspace.data()));
  state.counters["GB/s"] = benchmark::Counter(bytes / 1e9, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["%triad"] = benchmark::Counter(100 * bytes / 1e9 / triad, benchmark::Counter::kIsIterationInvariantRate);
}

const double kTensorBytes = 4.0 * kRows * kCols;

kiln::Tensor add(kiln::Graph &, kiln::Tensor x, kiln::Tensor y) { return x + y; }
kiln::Tensor chain5(kiln::Graph &, kiln::Tensor x, kiln::Tensor y) {
  return kiln::maximum((x + y) * 2.0 - 1.0, 0.0) / 3.0; // add, mul, sub, max, div
}
kiln::Tensor softmax(kiln::Graph &, kiln::Tensor x, kiln::Tensor y) { return kiln::softmax(x + y, -1); }
kiln::Tensor layerNorm(kiln::Graph &, kiln::Tensor x, kiln::Tensor y) { return kiln::layer_norm(x + y, {-1}); }

} // namespace

int main(int argc, char **argv) {
  triad = kiln::bench::measureTriad();
  std::printf("measured: stream triad %.1f GB/s (1 thread)\n", triad);
  // Each kernel reads x and y and writes z: 3 tensors of 64 MB.
  benchmark::RegisterBenchmark("add/16M", run, add, 3 * kTensorBytes)->UseRealTime();
  benchmark::RegisterBenchmark("chain5_fused/16M", run, chain5, 3 * kTensorBytes)->UseRealTime();
  benchmark::RegisterBenchmark("softmax(x+y)/4096x4096", run, softmax, 3 * kTensorBytes)->UseRealTime();
  benchmark::RegisterBenchmark("layer_norm(x+y)/4096x4096", run, layerNorm, 3 * kTensorBytes)->UseRealTime();
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
