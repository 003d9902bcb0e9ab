// Yardsticks the benchmarks measure in-process: this core's peak f32 FMA
// rate and one thread's stream-triad bandwidth.
#pragma once
#include <benchmark/benchmark.h>
#include <immintrin.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <vector>

namespace kiln::bench {

/// Peak f32 FMA GFLOP/s of one core: 12 independent accumulator chains.
__attribute__((target("avx512f"))) inline double measurePeakAvx512() {
  __m512 acc[12];
  for (auto &a : acc)
    a = _mm512_set1_ps(1.0f);
  const __m512 x = _mm512_set1_ps(0.999999f), y = _mm512_set1_ps(1e-7f);
  const long iterations = 20'000'000;
  auto start = std::chrono::steady_clock::now();
  for (long i = 0; i < iterations; ++i)
    for (auto &a : acc)
      a = _mm512_fmadd_ps(a, x, y);
  double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  float sink = 0;
  for (auto &a : acc)
    sink += _mm512_reduce_add_ps(a);
  benchmark::DoNotOptimize(sink);
  return 12.0 * 16 * 2 * double(iterations) / s / 1e9;
}

/// Stream triad a = b + s c over 3 x 64 MB, GB/s (one thread), best of 5.
inline double measureTriad() {
  const size_t n = 16 << 20;
  std::vector<float> a(n), b(n, 1.0f), c(n, 2.0f);
  double best = 0;
  for (int r = 0; r < 5; ++r) {
    auto start = std::chrono::steady_clock::now();
    for (size_t i = 0; i < n; ++i)
      a[i] = b[i] + 0.5f * c[i];
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    benchmark::DoNotOptimize(a.data());
    best = std::max(best, 3.0 * n * sizeof(float) / s / 1e9);
  }
  return best;
}

/// Both yardsticks, measured and printed in the line bench/run_bench.sh keeps.
struct Yardsticks {
  double peakGflops, triadGBs;
};
inline Yardsticks measureYardsticks() {
  Yardsticks y{measurePeakAvx512(), measureTriad()};
  std::printf("measured: peak f32 FMA %.1f GFLOP/s (1 core, AVX-512), stream triad %.1f GB/s (1 thread)\n",
              y.peakGflops, y.triadGBs);
  return y;
}

} // namespace kiln::bench
