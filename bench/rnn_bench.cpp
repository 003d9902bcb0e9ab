//===- rnn_bench.cpp - kiln's GRU and LSTM layers, forward and backward ---===//
//
// The configurations of issue 15's table: batch 32, 64 steps, input size =
// hidden size in {256, 512}, one layer; forward, and forward + backward
// (the gradient of sum(output) with respect to x and every parameter).
// One line per configuration, the median of RUNS calls after one warm-up:
//   kiln gru|lstm fwd|fwdbwd H=.. threads=.. ms=.. gflops=.. checkpoint=k workspace_mb=..
// (the thread count is KILN_NUM_THREADS, as bench/rnn_vs_torch.py sets it).
// GFLOP/s count the products only: 2 B T (I + H) G H forward, twice that
// more backward. The forward + backward rows run once per CHECKPOINTS
// entry: the layers' checkpointEvery (0: every state saved), with the
// workspace it takes (the saved states live there): memory against time.
//   kiln-rnn-bench [RUNS=5] [HIDDEN=256,512] [CHECKPOINTS=0] [STEPS=64]
// With KILN_RNN_PROFILE=1 each configuration is compiled with the
// per-kernel profiler and its table (the slowest kernels) follows its line;
// the timings are then of the profiled code. With KILN_RNN_SPLIT_AB=1 each
// configuration is also compiled for one thread (its scan kept whole, where
// the default compiles for KILN_NUM_THREADS and may split the scan's rows
// across them: kiln-split-scan-rows), calls alternating, and a second line
// gives that build's median and the ratio. KILN_RNN_BATCH=B changes the
// batch (32); KILN_RNN_DUMP=DIR writes every pass's IR of the default
// build under DIR.
//   kiln-rnn-bench --serve
// answers one timed call per stdin line `CELL fwd|fwdbwd H THREADS` with
// `ms=..` (bench/rnn_vs_torch.py pairs them with PyTorch's calls).
//
//===----------------------------------------------------------------------===//
#include "kiln/kiln.h"
#include "kiln_rt.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <vector>

using namespace kiln;

namespace {

int64_t kBatch = std::getenv("KILN_RNN_BATCH") ? std::atoll(std::getenv("KILN_RNN_BATCH")) : 32;
int64_t kSteps = 64; // STEPS

HostTensor randomInput(const Shape &shape) {
  HostTensor t(DType::f32, shape);
  std::mt19937 rng(1);
  std::uniform_real_distribution<float> dist(-1, 1);
  for (int64_t i = 0; i < t.size(); ++i)
    t.data<float>()[i] = dist(rng);
  return t;
}

/// The layer's graph: one GRU or LSTM layer, the sum of its outputs.
void buildLayer(Graph &g, const std::string &cell, int64_t hidden, int64_t checkpoint) {
  Tensor x = g.input("x", {kSteps, kBatch, hidden});
  RecurrentOptions options;
  options.checkpointEvery = checkpoint;
  RecurrentResult r = cell == "gru" ? gru(g, "cell", x, hidden, options) : lstm(g, "cell", x, hidden, options);
  g.output(reduce_sum(r.output, {0, 1, 2}), "loss");
}

/// The forward, or the gradient of the sum with respect to x and every
/// parameter.
Result<Function> compileLayer(const Graph &g, bool backward, const CompileOptions &o) {
  if (!backward)
    return Function::compile(g, o);
  std::vector<std::string> wrt{"x"};
  for (const char *p : {"weight_ih", "weight_hh", "bias_ih", "bias_hh"})
    wrt.push_back(std::string("cell_") + p + "_l0");
  return grad(g, wrt, o);
}

int bench(const std::string &cell, int64_t hidden, bool backward, int64_t checkpoint, int runs) {
  Graph g("rnn_bench");
  buildLayer(g, cell, hidden, checkpoint);
  const char *profileEnv = std::getenv("KILN_RNN_PROFILE");
  CompileOptions compileOptions;
  compileOptions.profile = profileEnv && std::string(profileEnv) == "1";
  if (const char *dumpEnv = std::getenv("KILN_RNN_DUMP")) // one file per pass, for reading the IR
    compileOptions.dumpDir = std::string(dumpEnv) + "/" + cell + "-" + std::to_string(hidden) + (backward ? "-bwd" : "-fwd");
  auto compile = [&](int64_t threads, bool dump) -> Result<Function> {
    CompileOptions o = compileOptions;
    o.threads = threads;
    if (!dump) // (the A/B twin would number its files into the same folder)
      o.dumpDir.clear();
    return compileLayer(g, backward, o);
  };
  Result<Function> fn = compile(0, /*dump=*/true);
  if (!fn) {
    std::fprintf(stderr, "compile failed: %s\n", fn.error().c_str());
    return 1;
  }
  // KILN_RNN_SPLIT_AB=1: the same layer also compiled for one thread (its
  // scan whole, not split by rows), calls alternating with the default's,
  // both run on KILN_NUM_THREADS: the row split's effect, in one process.
  const char *abEnv = std::getenv("KILN_RNN_SPLIT_AB");
  std::optional<Result<Function>> whole;
  if (abEnv && std::string(abEnv) == "1")
    whole = compile(1, /*dump=*/false);
  if (whole && !*whole) {
    std::fprintf(stderr, "compile failed: %s\n", (*whole).error().c_str());
    return 1;
  }
  HostTensor xv = randomInput({kSteps, kBatch, hidden});
  std::vector<double> ms, wholeMs;
  auto timeCall = [&](Function &f, std::vector<double> &into, bool keep) {
    auto start = std::chrono::steady_clock::now();
    auto out = f.run({xv});
    double elapsed = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    if (!out) {
      std::fprintf(stderr, "run failed: %s\n", out.error().c_str());
      return false;
    }
    if (keep) // the first call warms up
      into.push_back(elapsed);
    return true;
  };
  for (int i = 0; i <= runs; ++i) {
    if (!timeCall(*fn, ms, i > 0))
      return 1;
    if (whole && !timeCall(**whole, wholeMs, i > 0))
      return 1;
  }
  std::sort(ms.begin(), ms.end());
  double median = ms[ms.size() / 2];
  int64_t gates = cell == "gru" ? 3 : 4;
  double flops = 2.0 * kBatch * kSteps * (2 * hidden) * gates * hidden * (backward ? 3 : 1);
  std::printf("kiln %s %s H=%lld threads=%d ms=%.3f gflops=%.2f checkpoint=%lld workspace_mb=%.2f steps=%lld\n",
              cell.c_str(), backward ? "fwdbwd" : "fwd", (long long)hidden, kiln_num_threads(), median,
              flops / (median * 1e-3) / 1e9, (long long)checkpoint, double(fn->workspaceSize()) / (1 << 20),
              (long long)kSteps);
  if (compileOptions.profile)
    if (auto p = fn->profile())
      std::printf("%s\n", p->table(kiln_num_threads(), 12).c_str());
  if (whole) {
    std::sort(wholeMs.begin(), wholeMs.end());
    double w = wholeMs[wholeMs.size() / 2];
    std::printf("  compiled for 1 thread (scan whole): ms=%.3f; for %d (rows split where they can be): %.2fx\n", w,
                kiln_num_threads(), w / median);
  }
  std::fflush(stdout);
  return 0;
}

/// --serve: one timed call per request line `CELL fwd|fwdbwd H THREADS`
/// read from stdin, answered `ms=..` (each configuration compiled for its
/// thread count on first use, then called once to warm up), so that a
/// driver can alternate single calls with another framework's
/// (bench/rnn_vs_torch.py): the machine's drift then cancels in each pair.
int serve() {
  struct Layer {
    std::unique_ptr<Graph> graph;
    Function fn;
    HostTensor x;
  };
  std::map<std::string, Layer> layers;
  std::string cell, mode;
  int64_t hidden = 0;
  int threads = 0;
  while (std::cin >> cell >> mode >> hidden >> threads) {
    if ((cell != "gru" && cell != "lstm") || (mode != "fwd" && mode != "fwdbwd") || hidden < 1 || threads < 1) {
      std::fprintf(stderr, "kiln-rnn-bench --serve: bad request `%s %s %lld %d` (want gru|lstm fwd|fwdbwd H THREADS)\n",
                   cell.c_str(), mode.c_str(), (long long)hidden, threads);
      return 2;
    }
    std::string key = cell + " " + mode + " " + std::to_string(hidden) + " " + std::to_string(threads);
    auto it = layers.find(key);
    if (it == layers.end()) {
      auto g = std::make_unique<Graph>("rnn_bench");
      buildLayer(*g, cell, hidden, 0);
      CompileOptions o;
      o.threads = threads;
      Result<Function> fn = compileLayer(*g, mode == "fwdbwd", o);
      if (!fn) {
        std::fprintf(stderr, "compile failed: %s\n", fn.error().c_str());
        return 1;
      }
      fn->setNumThreads(threads);
      HostTensor x = randomInput({kSteps, kBatch, hidden});
      if (auto warm = fn->run({x}); !warm) {
        std::fprintf(stderr, "run failed: %s\n", warm.error().c_str());
        return 1;
      }
      it = layers.emplace(key, Layer{std::move(g), std::move(*fn), x}).first;
    }
    auto start = std::chrono::steady_clock::now();
    auto out = it->second.fn.run({it->second.x});
    double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    if (!out) {
      std::fprintf(stderr, "run failed: %s\n", out.error().c_str());
      return 1;
    }
    std::printf("ms=%.3f\n", ms);
    std::fflush(stdout);
  }
  return 0;
}

} // namespace

int main(int argc, char **argv) {
  if (argc > 1 && std::string(argv[1]) == "--serve")
    return serve();
  int runs = argc > 1 ? std::atoi(argv[1]) : 5;
  std::vector<int64_t> hiddens{256, 512};
  if (argc > 2) {
    hiddens.clear();
    std::stringstream list(argv[2]);
    for (std::string item; std::getline(list, item, ',');)
      hiddens.push_back(std::atoll(item.c_str()));
  }
  std::vector<int64_t> checkpoints{0};
  if (argc > 3) {
    checkpoints.clear();
    std::stringstream list(argv[3]);
    for (std::string item; std::getline(list, item, ',');)
      checkpoints.push_back(std::atoll(item.c_str()));
  }
  if (argc > 4)
    kSteps = std::atoll(argv[4]);
  for (const char *cell : {"gru", "lstm"})
    for (int64_t h : hiddens)
      for (bool backward : {false, true})
        for (int64_t k : backward ? checkpoints : std::vector<int64_t>{0})
          if (int rc = bench(cell, h, backward, k, runs))
            return rc;
  return 0;
}
