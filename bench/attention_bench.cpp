// Attention on its own: kiln's nn.attention (flash attention from 4096
// scores per head) and the plain composite of the same attention
// (matmul, mask, softmax, matmul: what the char LM spells out), forward and
// forward + backward, batch 1, 8 heads, D = 64, causal or not.
// One line per configuration:
//   kiln flash|composite fwd|fwdbwd L=.. causal=0|1 threads=.. ms=.. gflops=.. peak_pct=.. mib=..
// ms is the median of `runs` calls after one warm-up call; GFLOP/s counts
// 4 L^2 D per head forward (half of it with causal) and 2.5 times that for
// the backward (PyTorch's convention); peak_pct is of the FMA peak measured
// in this process times the threads; mib is what a call needs besides its
// inputs and outputs (workspace + threads x per-thread scratch).
// Threads: KILN_NUM_THREADS. bench/attention_vs_torch.sh runs it beside
// PyTorch's scaled_dot_product_attention.
// Usage: kiln-attention-bench [runs=5] [lengths=512,1024,2048,4096,8192] [composite-max=4096]
//        kiln-attention-bench --peak-rss L     (run it in a fresh process)
// The second form compiles the causal flash forward at L, calls it once and
// prints the process's resident memory before the call and at its peak:
//   kiln flash fwd L=.. causal=1 threads=.. rss_before_mib=.. peak_rss_mib=..
#include "kiln/kiln.h"
#include "kiln_rt.h" // kiln_num_threads

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <random>
#include <sstream>
#include <sys/resource.h>
#include <unistd.h>
#include <string>
#include <vector>

using namespace kiln;
using Clock = std::chrono::steady_clock;

namespace {

constexpr int64_t kHeads = 8, kD = 64;

/// o = attention(q, k, v) over [1, 8, L, 64], as nn.attention or spelled out.
void build(Graph &g, int64_t l, bool causal, bool composite) {
  Shape shape = {1, kHeads, l, kD};
  Tensor q = g.input("q", shape), k = g.input("k", shape), v = g.input("v", shape);
  if (!composite) {
    AttentionOptions options;
    options.causal = causal;
    g.output(attention(q, k, v, options), "o");
    return;
  }
  Tensor scores = mul(matmul(q, k, false, true), 1.0 / 8.0);
  if (causal) // key j for query i when j <= i
    scores = select(le(g.arange(l, DType::i64), reshape(g.arange(l, DType::i64), {l, 1})), scores,
                    -std::numeric_limits<double>::infinity());
  g.output(matmul(softmax(scores, -1), v), "o");
}

HostTensor randomTensor(const Shape &shape, uint32_t seed) {
  HostTensor t(DType::f32, shape);
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(-1, 1);
  float *data = t.data<float>();
  for (int64_t i = 0; i < t.size(); ++i)
    data[i] = dist(rng);
  return t;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

void runOne(int64_t l, bool causal, bool composite, bool backward, int runs, int threads) {
  Graph g;
  build(g, l, causal, composite);
  Result<Function> fn = backward ? grad(g, {"q", "k", "v"}) : Function::compile(g);
  if (!fn) {
    std::fprintf(stderr, "compile failed: %s\n", fn.error().c_str());
    std::exit(1);
  }
  std::vector<HostTensor> inputs;
  for (const TensorInfo &in : fn->inputs())
    inputs.push_back(randomTensor(in.shape, uint32_t(inputs.size() + 1)));
  std::vector<double> times;
  for (int r = 0; r <= runs; ++r) {
    auto t = Clock::now();
    if (auto out = fn->run(inputs); !out) {
      std::fprintf(stderr, "run failed: %s\n", out.error().c_str());
      std::exit(1);
    }
    if (r > 0) // the first call warms up
      times.push_back(std::chrono::duration<double>(Clock::now() - t).count());
  }
  double seconds = median(times);
  double flops = 4.0 * kHeads * double(l) * double(l) * kD * (causal ? 0.5 : 1.0) * (backward ? 3.5 : 1.0);
  double gflops = flops / seconds / 1e9;
  double peak = machinePeak().gflopsPerCore * threads;
  double mib = double(fn->workspaceSize() + size_t(threads) * fn->scratchSize()) / (1 << 20);
  std::printf("kiln %s %s L=%lld causal=%d threads=%d ms=%.3f gflops=%.2f peak_pct=%.1f mib=%.1f\n",
              composite ? "composite" : "flash", backward ? "fwdbwd" : "fwd", (long long)l, int(causal), threads,
              seconds * 1e3, gflops, 100 * gflops / peak, mib);
  std::fflush(stdout);
}

/// Resident memory now (MiB), from /proc/self/statm.
double residentMib() {
  long pages = 0, resident = 0;
  if (std::FILE *f = std::fopen("/proc/self/statm", "r")) {
    if (std::fscanf(f, "%ld %ld", &pages, &resident) != 2)
      resident = 0;
    std::fclose(f);
  }
  return double(resident) * double(sysconf(_SC_PAGESIZE)) / (1 << 20);
}

/// The process's peak resident memory so far (MiB).
double peakResidentMib() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return double(usage.ru_maxrss) / 1024;
}

int peakRss(int64_t l) {
  Graph g;
  build(g, l, /*causal=*/true, /*composite=*/false);
  Result<Function> fn = Function::compile(g);
  if (!fn) {
    std::fprintf(stderr, "compile failed: %s\n", fn.error().c_str());
    return 1;
  }
  std::vector<HostTensor> inputs;
  for (const TensorInfo &in : fn->inputs())
    inputs.push_back(randomTensor(in.shape, uint32_t(inputs.size() + 1)));
  double before = residentMib();
  if (auto out = fn->run(inputs); !out) {
    std::fprintf(stderr, "run failed: %s\n", out.error().c_str());
    return 1;
  }
  std::printf("kiln flash fwd L=%lld causal=1 threads=%d rss_before_mib=%.0f peak_rss_mib=%.0f\n", (long long)l,
              kiln_num_threads(), before, peakResidentMib());
  return 0;
}

} // namespace

int main(int argc, char **argv) {
  if (argc == 3 && std::string(argv[1]) == "--peak-rss")
    return peakRss(std::atoll(argv[2]));
  int runs = argc > 1 ? std::atoi(argv[1]) : 5;
  std::vector<int64_t> lengths = {512, 1024, 2048, 4096, 8192};
  if (argc > 2) {
    lengths.clear();
    std::stringstream list(argv[2]);
    for (std::string item; std::getline(list, item, ',');)
      lengths.push_back(std::atoll(item.c_str()));
  }
  int64_t compositeMax = argc > 3 ? std::atoll(argv[3]) : 4096; // its [L, L] scores: 8 x 4096^2 x 4 B = 512 MiB
  int threads = kiln_num_threads();
  for (int64_t l : lengths)
    for (bool causal : {true, false})
      for (bool backward : {false, true})
        for (bool composite : {false, true})
          if (!composite || l <= compositeMax)
            runOne(l, causal, composite, backward, runs, threads);
  return 0;
}
