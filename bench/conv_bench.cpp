// 2-D convolution throughput of kiln's generated code against oneDNN's
// convolution primitive, in the same process: LeNet's and ResNet-18's
// layers, batch 1 and 32, forward, backward data and backward weights, on 1
// and 2 threads. oneDNN picks its preferred layouts (format_tag::any); the
// reorders to and from them run once, outside the timed loop, and the label
// names the implementation oneDNN chose. Counters: GFLOP/s (2 * N * O * C/G *
// KH * KW * Ho * Wo per call, for all three directions) and percent of
// the measured peak FMA rate times the threads.
//   build/bench/kiln-conv-bench --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
//   build/bench/kiln-conv-bench --benchmark_filter='resnet_3x3_64/b1/fwd'   # issue 14's floor row
// bench/run_bench.sh puts its rows into the one table.
#include "Yardsticks.h"
#include "kiln/kiln.h"
#include "kiln_rt.h" // kiln_context: the thread count per call

#include <benchmark/benchmark.h>
#include <dnnl.hpp>

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

// oneDNN (Debian's build) runs on libgomp's OpenMP; its thread count is
// OpenMP's.
extern "C" void omp_set_num_threads(int);

namespace {

double peakGflops = 0;

struct Layer {
  std::string name;
  int64_t c, h, w, o, kh, kw, stride, pad;
  int64_t ho() const { return (h + 2 * pad - kh) / stride + 1; }
  int64_t wo() const { return (w + 2 * pad - kw) / stride + 1; }
  double flops(int64_t n) const { return 2.0 * n * o * c * kh * kw * ho() * wo(); }
};

enum class Direction { forward, backwardData, backwardWeights };
const char *directionName(Direction d) {
  return d == Direction::forward ? "fwd" : d == Direction::backwardData ? "bwd_data" : "bwd_weights";
}

std::string dims(std::initializer_list<int64_t> d) {
  std::string s;
  for (int64_t v : d)
    s += std::to_string(v) + "x";
  return s + "f32";
}

/// The kiln IR of one direction of `l` at batch n: inputs in0, in1.
std::string kilnSource(const Layer &l, int64_t n, Direction d) {
  std::string x = "tensor<" + dims({n, l.c, l.h, l.w}) + ">", w = "tensor<" + dims({l.o, l.c, l.kh, l.kw}) + ">",
              y = "tensor<" + dims({n, l.o, l.ho(), l.wo()}) + ">";
  std::string geometry = "strides [" + std::to_string(l.stride) + ", " + std::to_string(l.stride) + "] padding [" +
                         std::to_string(l.pad) + ", " + std::to_string(l.pad) + ", " + std::to_string(l.pad) + ", " +
                         std::to_string(l.pad) + "] dilations [1, 1] groups 1";
  switch (d) {
  case Direction::forward:
    return "func.func @main(%x: " + x + ", %w: " + w + ") -> " + y + " {\n  %0 = nn.conv2d %x, %w " + geometry +
           " : (" + x + ", " + w + ") -> " + y + "\n  return %0 : " + y + "\n}\n";
  case Direction::backwardData:
    return "func.func @main(%g: " + y + ", %w: " + w + ") -> " + x + " {\n  %0 = nn.conv2d_backward_input %g, %w input_size [" +
           std::to_string(l.h) + ", " + std::to_string(l.w) + "] " + geometry + " : (" + y + ", " + w + ") -> " + x +
           "\n  return %0 : " + x + "\n}\n";
  case Direction::backwardWeights:
    return "func.func @main(%x: " + x + ", %g: " + y + ") -> " + w + " {\n  %0 = nn.conv2d_backward_weight %x, %g kernel_size [" +
           std::to_string(l.kh) + ", " + std::to_string(l.kw) + "] " + geometry + " : (" + x + ", " + y + ") -> " + w +
           "\n  return %0 : " + w + "\n}\n";
  }
  return "";
}

void setCounters(benchmark::State &state, double flops, int threads) {
  state.counters["GFLOP/s"] = benchmark::Counter(flops / 1e9, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["%peak"] =
      benchmark::Counter(100 * flops / 1e9 / (peakGflops * threads), benchmark::Counter::kIsIterationInvariantRate);
}

std::vector<float> filled(int64_t count, float scale) {
  std::vector<float> v(count);
  for (int64_t i = 0; i < count; ++i)
    v[i] = scale * float((i * 7919) % 23 - 11);
  return v;
}

void kilnConv(benchmark::State &state, Layer l, int64_t n, Direction d, int threads) {
  auto fn = kiln::Function::compileSource(kilnSource(l, n, d), l.name + ".mlir");
  if (!fn) {
    state.SkipWithError(fn.error().c_str());
    return;
  }
  int64_t xs = n * l.c * l.h * l.w, ws = l.o * l.c * l.kh * l.kw, ys = n * l.o * l.ho() * l.wo();
  // (HostTensors: the entry wants 64-byte aligned buffers.)
  auto tensor = [](int64_t count, float scale) {
    kiln::HostTensor t(kiln::DType::f32, {count});
    std::vector<float> v = filled(count, scale);
    std::memcpy(t.data(), v.data(), v.size() * 4);
    return t;
  };
  kiln::HostTensor x = tensor(xs, 0.01f), w = tensor(ws, 0.02f), y = tensor(ys, 0.01f);
  kiln::HostTensor out = tensor(d == Direction::forward ? ys : d == Direction::backwardData ? xs : ws, 0);
  kiln::HostTensor workspace(kiln::DType::f32, {int64_t(fn->workspaceSize() / 4) + 16});
  void *forward[] = {x.data(), w.data(), out.data()};
  void *data[] = {y.data(), w.data(), out.data()};
  void *weights[] = {x.data(), y.data(), out.data()};
  void **buffers = d == Direction::forward ? forward : d == Direction::backwardData ? data : weights;
  kiln_context ctx;
  kiln_context_init(&ctx);
  ctx.num_threads = threads;
  if (int status = fn->entry()(buffers, &ctx, workspace.data())) {
    state.SkipWithError(("the compiled convolution failed with status " + std::to_string(status)).c_str());
    return;
  }
  for (auto _ : state)
    benchmark::DoNotOptimize(fn->entry()(buffers, &ctx, workspace.data()));
  setCounters(state, l.flops(n), threads);
}

void onednnConv(benchmark::State &state, Layer l, int64_t n, Direction d, int threads) {
  using namespace dnnl;
  using tag = memory::format_tag;
  using dt = memory::data_type;
  omp_set_num_threads(threads);
  engine eng(engine::kind::cpu, 0);
  stream s(eng);
  memory::dims xd{n, l.c, l.h, l.w}, wd{l.o, l.c, l.kh, l.kw}, yd{n, l.o, l.ho(), l.wo()};
  memory::dims strides{l.stride, l.stride}, pads{l.pad, l.pad};
  auto any = [](const memory::dims &d) { return memory::desc(d, dt::f32, tag::any); };
  convolution_forward::primitive_desc fwd(
      convolution_forward::desc(prop_kind::forward_training, algorithm::convolution_direct, any(xd), any(wd), any(yd),
                                strides, pads, pads),
      eng);
  // The user's NCHW / OIHW data, reordered once into oneDNN's layouts.
  auto user = [&](const memory::dims &d, tag t, float scale) {
    memory m({d, dt::f32, t}, eng);
    std::vector<float> v = filled(m.get_desc().get_size() / 4, scale);
    std::memcpy(m.get_data_handle(), v.data(), v.size() * 4);
    return m;
  };
  auto as = [&](memory m, const memory::desc &want) {
    if (m.get_desc() == want)
      return m;
    memory r(want, eng);
    reorder(m, r).execute(s, m, r);
    s.wait();
    return r;
  };
  memory x = user(xd, tag::nchw, 0.01f), w = user(wd, tag::oihw, 0.02f), y = user(yd, tag::nchw, 0.01f);
  std::string impl;
  if (d == Direction::forward) {
    memory xm = as(x, fwd.src_desc()), wm = as(w, fwd.weights_desc()), ym(fwd.dst_desc(), eng);
    convolution_forward conv(fwd);
    impl = fwd.impl_info_str();
    for (auto _ : state) {
      conv.execute(s, {{DNNL_ARG_SRC, xm}, {DNNL_ARG_WEIGHTS, wm}, {DNNL_ARG_DST, ym}});
      s.wait();
    }
  } else if (d == Direction::backwardData) {
    convolution_backward_data::primitive_desc bwd(
        convolution_backward_data::desc(algorithm::convolution_direct, any(xd), any(wd), any(yd), strides, pads,
                                        pads),
        eng, fwd);
    memory gm = as(y, bwd.diff_dst_desc()), wm = as(w, bwd.weights_desc()), dx(bwd.diff_src_desc(), eng);
    convolution_backward_data conv(bwd);
    impl = bwd.impl_info_str();
    for (auto _ : state) {
      conv.execute(s, {{DNNL_ARG_DIFF_DST, gm}, {DNNL_ARG_WEIGHTS, wm}, {DNNL_ARG_DIFF_SRC, dx}});
      s.wait();
    }
  } else {
    convolution_backward_weights::primitive_desc bwd(
        convolution_backward_weights::desc(algorithm::convolution_direct, any(xd), any(wd), any(yd), strides, pads,
                                           pads),
        eng, fwd);
    memory xm = as(x, bwd.src_desc()), gm = as(y, bwd.diff_dst_desc()), dw(bwd.diff_weights_desc(), eng);
    convolution_backward_weights conv(bwd);
    impl = bwd.impl_info_str();
    for (auto _ : state) {
      conv.execute(s, {{DNNL_ARG_SRC, xm}, {DNNL_ARG_DIFF_DST, gm}, {DNNL_ARG_DIFF_WEIGHTS, dw}});
      s.wait();
    }
  }
  setCounters(state, l.flops(n), threads);
  state.SetLabel(impl);
}

} // namespace

int main(int argc, char **argv) {
  peakGflops = kiln::bench::measureYardsticks().peakGflops;
  std::vector<Layer> layers{
      {"lenet_conv1", 1, 28, 28, 6, 5, 5, 1, 2},       {"lenet_conv2", 6, 14, 14, 16, 5, 5, 1, 0},
      {"resnet_conv1_7x7s2", 3, 224, 224, 64, 7, 7, 2, 3}, {"resnet_3x3_64", 64, 56, 56, 64, 3, 3, 1, 1},
      {"resnet_3x3_128", 128, 28, 28, 128, 3, 3, 1, 1}, {"resnet_1x1_256_64", 256, 56, 56, 64, 1, 1, 1, 0}};
  for (const Layer &l : layers)
    for (int64_t n : {1, 32})
      for (Direction d : {Direction::forward, Direction::backwardData, Direction::backwardWeights})
        for (int t : {1, 2}) {
          std::string row = l.name + "/b" + std::to_string(n) + "/" + directionName(d) + "/threads:" + std::to_string(t);
          benchmark::RegisterBenchmark(("kiln/" + row).c_str(), kilnConv, l, n, d, t)->UseRealTime();
          benchmark::RegisterBenchmark(("onednn/" + row).c_str(), onednnConv, l, n, d, t)->UseRealTime();
        }
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
