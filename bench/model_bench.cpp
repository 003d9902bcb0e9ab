// Model-level rows of the benchmark table, kiln against the libraries in the
// same process, on 1 and 2 threads:
//   - the MLP 784-256-256-10 forward (batch 64): kiln vs the same layers as
//     OpenBLAS sgemm + bias/ReLU loops and as oneDNN inner products with a
//     ReLU post-op;
//   - its SGD train step (cross-entropy, forward + backward + update): kiln
//     vs the same step written by hand on OpenBLAS's and on oneDNN's sgemm;
//   - softmax and layer_norm over the rows of 4096x4096: kiln vs oneDNN's
//     primitives (OpenBLAS has none).
// Counters: GFLOP/s (matmul flops) or GB/s (bytes read + written once) and
// percent of this machine's measured peak FMA rate (times the threads) or
// stream-triad bandwidth. bench/run_bench.sh turns them into one table.
#include "Yardsticks.h"
#include "kiln/kiln.h"
#include "kiln_rt.h" // kiln_context: the thread count per call

#include <benchmark/benchmark.h>
#include <cblas.h>
#include <oneapi/dnnl/dnnl.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>
#include <string>
#include <unordered_map>
#include <vector>

extern "C" void omp_set_num_threads(int);

namespace {

double peakGflops = 0, triadGBs = 0;
constexpr int64_t kBatch = 64, kIn = 784, kHidden = 256, kClasses = 10;
constexpr int64_t kRows = 4096, kColumns = 4096;
constexpr double kMlpForwardFlops = 2.0 * kBatch * (kIn * kHidden + kHidden * kHidden + kHidden * kClasses);

void setRate(benchmark::State &state, double perIteration, bool bytes, int threads) {
  state.counters[bytes ? "GB/s" : "GFLOP/s"] =
      benchmark::Counter(perIteration / 1e9, benchmark::Counter::kIsIterationInvariantRate);
  double peak = bytes ? triadGBs : peakGflops * threads;
  state.counters["%peak"] =
      benchmark::Counter(100 * perIteration / 1e9 / peak, benchmark::Counter::kIsIterationInvariantRate);
}

void setThreads(int threads) {
  openblas_set_num_threads(threads);
  omp_set_num_threads(threads);
}

std::vector<float> filled(int64_t n, float scale, int seed) {
  std::vector<float> v(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i)
    v[size_t(i)] = scale * float(((i * 37 + seed * 11) % 101) - 50) / 50.0f;
  return v;
}

// ---- kiln -----------------------------------------------------------------

void mlpGraph(kiln::Graph &g, bool train) {
  auto x = g.input("x", {kBatch, kIn});
  auto w1 = g.param("w1", {kIn, kHidden}, kiln::normalInit(0, 0.05, 1));
  auto b1 = g.param("b1", {kHidden}, kiln::zerosInit());
  auto w2 = g.param("w2", {kHidden, kHidden}, kiln::normalInit(0, 0.06, 2));
  auto b2 = g.param("b2", {kHidden}, kiln::zerosInit());
  auto w3 = g.param("w3", {kHidden, kClasses}, kiln::normalInit(0, 0.06, 3));
  auto b3 = g.param("b3", {kClasses}, kiln::zerosInit());
  auto h = kiln::relu(kiln::matmul(x, w1) + b1);
  h = kiln::relu(kiln::matmul(h, w2) + b2);
  auto logits = kiln::matmul(h, w3) + b3;
  if (train)
    g.output(kiln::cross_entropy(logits, g.input("y", {kBatch}, kiln::DType::i64)), "loss");
  else
    g.output(logits, "logits");
}

kiln::HostTensor images() {
  kiln::HostTensor x(kiln::DType::f32, {kBatch, kIn});
  for (int64_t i = 0; i < x.size(); ++i)
    x.set(i, double(i % 255) / 255);
  return x;
}

void runKiln(benchmark::State &state, kiln::Function &fn, const std::vector<kiln::HostTensor> &inputs,
             int threads) {
  fn.setNumThreads(threads);
  for (auto _ : state)
    if (!fn.run(inputs)) {
      state.SkipWithError("run failed");
      return;
    }
}

void kilnMlpForward(benchmark::State &state, int threads) {
  kiln::Graph g("mlp");
  mlpGraph(g, false);
  auto fn = kiln::Function::compile(g);
  if (!fn)
    return state.SkipWithError(fn.error().c_str());
  runKiln(state, *fn, {images()}, threads);
  setRate(state, kMlpForwardFlops, false, threads);
}

void kilnMlpTrain(benchmark::State &state, int threads) {
  kiln::Graph g("mlp");
  mlpGraph(g, true);
  auto step = kiln::train_step(g, "loss", {}, kiln::Optimizer::sgd());
  if (!step)
    return state.SkipWithError(step.error().c_str());
  kiln::HostTensor y(kiln::DType::i64, {kBatch});
  for (int64_t i = 0; i < kBatch; ++i)
    y.set(i, double(i % kClasses));
  runKiln(state, *step, {images(), y, kiln::HostTensor::fromVector(std::vector<float>{0.01f}, {})}, threads);
  setRate(state, 3 * kMlpForwardFlops, false, threads);
}

void kilnRows(benchmark::State &state, bool layerNorm, int threads) {
  kiln::Graph g(layerNorm ? "layer_norm" : "softmax");
  auto x = g.input("x", {kRows, kColumns});
  if (layerNorm)
    g.output(kiln::layer_norm(x, g.input("gamma", {kColumns}), g.input("beta", {kColumns})), "y");
  else
    g.output(kiln::softmax(x), "y");
  auto fn = kiln::Function::compile(g);
  if (!fn)
    return state.SkipWithError(fn.error().c_str());
  std::vector<kiln::HostTensor> inputs{kiln::HostTensor::fromVector(filled(kRows * kColumns, 2, 1), {kRows, kColumns})};
  if (layerNorm) {
    inputs.push_back(kiln::HostTensor::fromVector(filled(kColumns, 1, 2), {kColumns}));
    inputs.push_back(kiln::HostTensor::fromVector(filled(kColumns, 1, 3), {kColumns}));
  }
  // The entry with buffers made once, as the library gets them (run()
  // would allocate and fault in a fresh 64 MB output every call).
  kiln::HostTensor out(kiln::DType::f32, {kRows, kColumns});
  kiln::HostTensor workspace(kiln::DType::f32, {int64_t(fn->workspaceSize() / 4) + 16});
  std::vector<void *> buffers;
  for (kiln::HostTensor &t : inputs)
    buffers.push_back(t.data());
  buffers.push_back(out.data());
  kiln_context ctx;
  kiln_context_init(&ctx);
  ctx.num_threads = threads;
  for (auto _ : state)
    benchmark::DoNotOptimize(fn->entry()(buffers.data(), &ctx, workspace.data()));
  setRate(state, 2.0 * 4 * kRows * kColumns, true, threads);
}

// ---- the same MLP by hand on a library's sgemm ------------------------------

/// C[m x n] = op(A) op(B), row-major.
using Gemm = std::function<void(bool ta, bool tb, int64_t m, int64_t n, int64_t k, const float *a,
                                const float *b, float *c)>;

void openblasGemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, const float *a, const float *b, float *c) {
  cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, int(m), int(n),
              int(k), 1.0f, a, int(ta ? m : k), b, int(tb ? k : n), 0.0f, c, int(n));
}

void onednnGemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, const float *a, const float *b, float *c) {
  dnnl_sgemm(ta ? 'T' : 'N', tb ? 'T' : 'N', m, n, k, 1.0f, a, ta ? m : k, b, tb ? k : n, 0.0f, c, n);
}

struct HandMlp {
  Gemm gemm;
  std::vector<float> x = filled(kBatch * kIn, 0.5f, 1);
  std::vector<float> w[3] = {filled(kIn * kHidden, 0.05f, 2), filled(kHidden * kHidden, 0.06f, 3),
                             filled(kHidden * kClasses, 0.06f, 4)};
  std::vector<float> b[3] = {std::vector<float>(kHidden), std::vector<float>(kHidden), std::vector<float>(kClasses)};
  std::vector<float> z[3] = {std::vector<float>(kBatch * kHidden), std::vector<float>(kBatch * kHidden),
                             std::vector<float>(kBatch * kClasses)};
  std::vector<float> h[2] = {std::vector<float>(kBatch * kHidden), std::vector<float>(kBatch * kHidden)};
  std::vector<float> dz[3] = {z[0], z[1], z[2]}, dh[2] = {h[0], h[1]};
  std::vector<float> dw[3] = {w[0], w[1], w[2]};
  std::vector<int64_t> labels = std::vector<int64_t>(kBatch);
  int64_t widths[3] = {kHidden, kHidden, kClasses}, depths[3] = {kIn, kHidden, kHidden};

  explicit HandMlp(Gemm g) : gemm(std::move(g)) {
    for (int64_t i = 0; i < kBatch; ++i)
      labels[size_t(i)] = i % kClasses;
  }

  const float *input(int layer) const { return layer == 0 ? x.data() : h[layer - 1].data(); }

  void forward() {
    for (int l = 0; l < 3; ++l) {
      gemm(false, false, kBatch, widths[l], depths[l], input(l), w[l].data(), z[l].data());
      for (int64_t r = 0; r < kBatch; ++r)
        for (int64_t c = 0; c < widths[l]; ++c) {
          float v = z[l][size_t(r * widths[l] + c)] + b[l][size_t(c)];
          z[l][size_t(r * widths[l] + c)] = v;
          if (l < 2)
            h[l][size_t(r * widths[l] + c)] = v > 0 ? v : 0;
        }
    }
  }

  void trainStep(float lr) {
    forward();
    // d(mean cross-entropy)/d logits = (softmax - onehot) / batch
    for (int64_t r = 0; r < kBatch; ++r) {
      float *row = &z[2][size_t(r * kClasses)], *d = &dz[2][size_t(r * kClasses)];
      float top = *std::max_element(row, row + kClasses), sum = 0;
      for (int64_t c = 0; c < kClasses; ++c)
        sum += d[c] = std::exp(row[c] - top);
      for (int64_t c = 0; c < kClasses; ++c)
        d[c] = (d[c] / sum - (c == labels[size_t(r)] ? 1.0f : 0.0f)) / float(kBatch);
    }
    for (int l = 2; l >= 0; --l) {
      gemm(true, false, depths[l], widths[l], kBatch, input(l), dz[l].data(), dw[l].data());
      if (l > 0) {
        gemm(false, true, kBatch, depths[l], widths[l], dz[l].data(), w[l].data(), dh[l - 1].data());
        for (size_t i = 0; i < dh[l - 1].size(); ++i)
          dz[l - 1][i] = z[l - 1][i] > 0 ? dh[l - 1][i] : 0;
      }
      for (int64_t c = 0; c < widths[l]; ++c) {
        float db = 0;
        for (int64_t r = 0; r < kBatch; ++r)
          db += dz[l][size_t(r * widths[l] + c)];
        b[l][size_t(c)] -= lr * db;
      }
      for (size_t i = 0; i < w[l].size(); ++i)
        w[l][i] -= lr * dw[l][i];
    }
  }
};

void handMlp(benchmark::State &state, Gemm gemm, bool train, int threads) {
  setThreads(threads);
  HandMlp mlp(std::move(gemm));
  for (auto _ : state)
    train ? mlp.trainStep(0.01f) : mlp.forward();
  setRate(state, (train ? 3 : 1) * kMlpForwardFlops, false, threads);
}

// ---- oneDNN primitives ------------------------------------------------------

using dnnl::memory;

void onednnMlpForward(benchmark::State &state, int threads) {
  setThreads(threads);
  dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  dnnl::stream stream(engine);
  int64_t widths[3] = {kHidden, kHidden, kClasses}, depths[3] = {kIn, kHidden, kHidden};
  std::vector<dnnl::inner_product_forward> layers;
  std::vector<std::unordered_map<int, memory>> args;
  memory src(memory::desc({kBatch, kIn}, memory::data_type::f32, memory::format_tag::ab), engine);
  std::vector<float> x = filled(kBatch * kIn, 0.5f, 1);
  std::copy(x.begin(), x.end(), static_cast<float *>(src.get_data_handle()));
  for (int l = 0; l < 3; ++l) {
    memory::desc in({kBatch, depths[l]}, memory::data_type::f32, memory::format_tag::ab);
    memory::desc weights({widths[l], depths[l]}, memory::data_type::f32, memory::format_tag::any);
    memory::desc bias({widths[l]}, memory::data_type::f32, memory::format_tag::a);
    memory::desc out({kBatch, widths[l]}, memory::data_type::f32, memory::format_tag::ab);
    dnnl::post_ops ops;
    if (l < 2)
      ops.append_eltwise(1.0f, dnnl::algorithm::eltwise_relu, 0.0f, 0.0f);
    dnnl::primitive_attr attr;
    attr.set_post_ops(ops);
    dnnl::inner_product_forward::primitive_desc pd(
        dnnl::inner_product_forward::desc(dnnl::prop_kind::forward_inference, in, weights, bias, out), attr,
        engine);
    memory w(pd.weights_desc(), engine), b(pd.bias_desc(), engine), dst(pd.dst_desc(), engine);
    std::fill_n(static_cast<float *>(w.get_data_handle()), widths[l] * depths[l], 0.01f);
    std::fill_n(static_cast<float *>(b.get_data_handle()), widths[l], 0.0f);
    layers.emplace_back(pd);
    args.push_back({{DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, w}, {DNNL_ARG_BIAS, b}, {DNNL_ARG_DST, dst}});
    src = dst;
  }
  for (auto _ : state) {
    for (size_t l = 0; l < layers.size(); ++l)
      layers[l].execute(stream, args[l]);
    stream.wait();
  }
  setRate(state, kMlpForwardFlops, false, threads);
}

void onednnRows(benchmark::State &state, bool layerNorm, int threads) {
  setThreads(threads);
  dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  dnnl::stream stream(engine);
  memory::desc md({kRows, kColumns}, memory::data_type::f32, memory::format_tag::ab);
  memory src(md, engine), dst(md, engine);
  std::vector<float> x = filled(kRows * kColumns, 2, 1);
  std::copy(x.begin(), x.end(), static_cast<float *>(src.get_data_handle()));
  std::unordered_map<int, memory> args{{DNNL_ARG_SRC, src}, {DNNL_ARG_DST, dst}};
  dnnl::primitive primitive;
  if (layerNorm) {
    auto flags = dnnl::normalization_flags::use_scale | dnnl::normalization_flags::use_shift;
    dnnl::layer_normalization_forward::primitive_desc pd(
        dnnl::layer_normalization_forward::desc(dnnl::prop_kind::forward_inference, md, 1e-5f, flags), engine);
    memory scale(pd.weights_desc(), engine), shift(pd.weights_desc(), engine);
    std::fill_n(static_cast<float *>(scale.get_data_handle()), kColumns, 1.0f);
    std::fill_n(static_cast<float *>(shift.get_data_handle()), kColumns, 0.0f);
    args[DNNL_ARG_SCALE] = scale;
    args[DNNL_ARG_SHIFT] = shift;
    args[DNNL_ARG_MEAN] = memory(pd.mean_desc(), engine);
    args[DNNL_ARG_VARIANCE] = memory(pd.variance_desc(), engine);
    primitive = dnnl::layer_normalization_forward(pd);
  } else {
    dnnl::softmax_forward::primitive_desc pd(
        dnnl::softmax_forward::desc(dnnl::prop_kind::forward_inference, md, 1), engine);
    primitive = dnnl::softmax_forward(pd);
  }
  for (auto _ : state) {
    primitive.execute(stream, args);
    stream.wait();
  }
  setRate(state, 2.0 * 4 * kRows * kColumns, true, threads);
}

} // namespace

int main(int argc, char **argv) {
  auto [peak, triad] = kiln::bench::measureYardsticks();
  peakGflops = peak;
  triadGBs = triad;
  auto add = [](const std::string &name, int threads, auto fn, auto... args) {
    benchmark::RegisterBenchmark((name + "/threads:" + std::to_string(threads)).c_str(), fn, args...)
        ->UseRealTime();
  };
  for (int t : {1, 2}) {
    add("kiln/mlp_forward_b64", t, kilnMlpForward, t);
    add("openblas/mlp_forward_b64", t, handMlp, Gemm(openblasGemm), false, t);
    add("onednn/mlp_forward_b64", t, onednnMlpForward, t);
    add("kiln/mlp_train_step_b64", t, kilnMlpTrain, t);
    add("openblas/mlp_train_step_b64", t, handMlp, Gemm(openblasGemm), true, t);
    add("onednn/mlp_train_step_b64", t, handMlp, Gemm(onednnGemm), true, t);
    add("kiln/softmax_4096x4096", t, kilnRows, false, t);
    add("onednn/softmax_4096x4096", t, onednnRows, false, t);
    add("kiln/layer_norm_4096x4096", t, kilnRows, true, t);
    add("onednn/layer_norm_4096x4096", t, onednnRows, true, t);
  }
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
