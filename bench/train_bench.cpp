// Training-step throughput of kiln's compiled train steps, so later work
// (fusion, tiling, threads) can show what it gains:
//   - the attention model: vocab 96, d_model 128, 4 heads, 2 layers,
//     context 64, batch 32, AdamW
//   - the MLP 784-256-256-10, batch 64, SGD
// Prints the median of 5 timed runs of N steps each (after one warm-up
// step), in steps/s and GFLOP/s (matmul FLOPs of forward + backward), and
// for the attention LM the forward pass alone (the loss), so the backward
// and update's cost can be read as a multiple of the forward's.
// Usage: kiln-train-bench [runs=5] [--profile]
//          --profile: also each step's per-kernel table (a profiled build
//                     of the same step; the timings above are unprofiled)
//        kiln-train-bench --write-models DIR   (the two models as .mlir, for
//                                              bench/compile_latency.sh)
#include "../examples/charlm/charlm_model.h"
#include "kiln/kiln.h"
#include "kiln_rt.h" // kiln_num_threads: KILN_NUM_THREADS or the CPUs

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <vector>

using Clock = std::chrono::steady_clock;

namespace {

double seconds(Clock::time_point a) { return std::chrono::duration<double>(Clock::now() - a).count(); }

/// The median calls per second of `fn` over `runs` runs of `steps` calls.
double medianRate(kiln::Function &fn, const std::vector<kiln::HostTensor> &inputs, int steps, int runs,
                  std::vector<double> *all = nullptr) {
  std::vector<double> rates;
  if (!fn.run(inputs)) // warm-up
    std::exit(1);
  for (int r = 0; r < runs; ++r) {
    auto t = Clock::now();
    for (int s = 0; s < steps; ++s)
      if (auto out = fn.run(inputs); !out) {
        std::fprintf(stderr, "step failed: %s\n", out.error().c_str());
        std::exit(1);
      }
    rates.push_back(steps / seconds(t));
  }
  std::sort(rates.begin(), rates.end());
  if (all)
    *all = rates;
  return rates[rates.size() / 2];
}

void report(const char *name, kiln::Function &step, const std::vector<kiln::HostTensor> &inputs,
            int steps, int runs, double flopsPerStep, double compileSeconds) {
  std::vector<double> rates;
  double median = medianRate(step, inputs, steps, runs, &rates);
  std::printf("%-44s %9.2f steps/s %8.2f GFLOP/s   (compile %.2f s, %d runs x %d steps, min %.2f max %.2f)\n",
              name, median, median * flopsPerStep / 1e9, compileSeconds, runs, steps, rates.front(),
              rates.back());
}

kiln::HostTensor scalar(double v) { return kiln::HostTensor::fromVector(std::vector<float>{float(v)}, {}); }

} // namespace

/// With --profile: the step compiled again with profiling, run `steps`
/// times, and its table (the 30 slowest kernels).
void profile(const kiln::Graph &g, const char *loss, const kiln::Optimizer &optimizer,
             const std::vector<kiln::HostTensor> &inputs, int steps) {
  kiln::CompileOptions options;
  options.profile = true;
  auto step = kiln::train_step(g, loss, {}, optimizer, options);
  if (!step) {
    std::fprintf(stderr, "%s\n", step.error().c_str());
    std::exit(1);
  }
  for (int s = 0; s < steps + 1; ++s)
    if (!step->run(inputs))
      std::exit(1);
  step->resetProfile(); // the first call warmed up
  for (int s = 0; s < steps; ++s)
    if (!step->run(inputs))
      std::exit(1);
  auto p = step->profile();
  if (!p) {
    std::fprintf(stderr, "%s\n", p.error().c_str());
    std::exit(1);
  }
  std::printf("profile of the training step: %s\n", p->table(kiln_num_threads(), 30).c_str());
}

int main(int argc, char **argv) {
  std::string modelsDir;
  int runs = 5;
  bool profiling = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--write-models" && i + 1 < argc)
      modelsDir = argv[++i];
    else if (a == "--profile")
      profiling = true;
    else if (std::atoi(a.c_str()) > 0)
      runs = std::atoi(a.c_str());
    else {
      std::fprintf(stderr, "usage: kiln-train-bench [runs] [--profile] | --write-models DIR\n");
      return 2;
    }
  }
  auto save = [&](const kiln::Graph &g, const char *file) {
    std::FILE *f = std::fopen((modelsDir + "/" + file).c_str(), "w");
    if (!f)
      std::exit(1);
    std::fputs(g.str().c_str(), f);
    std::fclose(f);
  };
  std::printf("kiln train-step benchmark (threads: %d, from KILN_NUM_THREADS or the CPUs)\n", kiln_num_threads());
  {
    CharLmConfig c;
    c.vocab = 96;
    c.dModel = 128;
    c.heads = 4;
    c.layers = 2;
    c.context = 64;
    c.batch = 32;
    c.hidden = 4 * 128;
    kiln::Graph g("attention_lm");
    auto ids = g.input("ids", {c.batch, c.context}, kiln::DType::i64);
    auto targets = g.input("targets", {c.batch, c.context}, kiln::DType::i64);
    g.output(kiln::cross_entropy(charLm(g, ids, c).logits, targets), "loss");
    if (!modelsDir.empty()) {
      save(g, "attention_lm.mlir");
      goto mlp;
    }
    {
    auto t = Clock::now();
    auto step = kiln::train_step(g, "loss", {}, kiln::Optimizer::adamw(0.01));
    if (!step) {
      std::fprintf(stderr, "%s\n", step.error().c_str());
      return 1;
    }
    double compile = seconds(t);
    kiln::HostTensor x(kiln::DType::i64, {c.batch, c.context}), y = x;
    std::mt19937 rng(1);
    for (int64_t i = 0; i < x.size(); ++i) {
      x.data<int64_t>()[i] = rng() % c.vocab;
      y.data<int64_t>()[i] = rng() % c.vocab;
    }
    double tokens = double(c.batch * c.context), D = double(c.dModel);
    double perToken = c.layers * (4 * D * D + 2 * D * c.hidden + 2 * c.context * D) + D * c.vocab;
    report("attention LM (96/128/4 heads/2 layers/64/32, AdamW)", *step, {x, y, scalar(1e-3)}, 3, runs,
           6 * tokens * perToken, compile);
    // The forward pass alone (the loss): the step's backward and update
    // as a multiple of it.
    auto forward = kiln::Function::compile(g);
    if (!forward) {
      std::fprintf(stderr, "%s\n", forward.error().c_str());
      return 1;
    }
    double stepRate = medianRate(*step, {x, y, scalar(1e-3)}, 3, runs);
    double forwardRate = medianRate(*forward, {x, y}, 5, runs);
    std::printf("%-44s %9.2f ms forward, %.2f ms step: backward + update = %.2fx the forward\n",
                "attention LM forward (the loss)", 1e3 / forwardRate, 1e3 / stepRate,
                (1 / stepRate - 1 / forwardRate) * forwardRate);
    if (profiling)
      profile(g, "loss", kiln::Optimizer::adamw(0.01), {x, y, scalar(1e-3)}, 3);
    }
  }
mlp:
  {
    kiln::Graph g("mlp");
    auto x = g.input("x", {64, 784});
    auto y = g.input("y", {64}, kiln::DType::i64);
    auto w1 = g.param("w1", {784, 256}, kiln::normalInit(0, 0.05, 1));
    auto b1 = g.param("b1", {256}, kiln::zerosInit());
    auto w2 = g.param("w2", {256, 256}, kiln::normalInit(0, 0.06, 2));
    auto b2 = g.param("b2", {256}, kiln::zerosInit());
    auto w3 = g.param("w3", {256, 10}, kiln::normalInit(0, 0.06, 3));
    auto b3 = g.param("b3", {10}, kiln::zerosInit());
    auto h = kiln::relu(kiln::matmul(x, w1) + b1);
    h = kiln::relu(kiln::matmul(h, w2) + b2);
    g.output(kiln::cross_entropy(kiln::matmul(h, w3) + b3, y), "loss");
    if (!modelsDir.empty()) {
      save(g, "mlp_train.mlir");
      return 0;
    }
    auto t = Clock::now();
    auto step = kiln::train_step(g, "loss", {}, kiln::Optimizer::sgd());
    if (!step) {
      std::fprintf(stderr, "%s\n", step.error().c_str());
      return 1;
    }
    double compile = seconds(t);
    kiln::HostTensor xs(kiln::DType::f32, {64, 784}), ys(kiln::DType::i64, {64});
    for (int64_t i = 0; i < xs.size(); ++i)
      xs.set(i, double(i % 255) / 255);
    for (int64_t i = 0; i < 64; ++i)
      ys.set(i, double(i % 10));
    double flops = 6.0 * 64 * (784 * 256 + 256 * 256 + 256 * 10);
    report("MLP 784-256-256-10 (batch 64, SGD)", *step, {xs, ys, scalar(0.01)}, 20, runs, flops, compile);
    if (profiling)
      profile(g, "loss", kiln::Optimizer::sgd(), {xs, ys, scalar(0.01)}, 20);
  }
  return 0;
}
