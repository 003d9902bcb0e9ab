// Halide measured as a backend for kiln's stencils (issue 14): 2-D
// convolution and max pooling written as Halide 14 pipelines (Debian's
// libhalide14-0-dev, JIT-compiled in this process next to kiln's LLVM 19),
// scheduled two ways, and timed against kiln's own compiled kernels on the
// same shapes, one thread each, in the same process:
//   - manual: the schedule a Halide user would write for NCHW on AVX-512,
//     kiln's register tile (8 output channels x 32 columns, accumulators
//     over c, kh, kw, a row of taps unrolled), the padding computed first;
//   - Mullapudi2016: Halide 14's autoscheduler (the one that needs no
//     trained cost model), with estimates of every input and output.
// Both include the zero padding, as kiln's kernels do. The figures and the
// decision are in docs/halide.md.
//   build/bench/kiln-halide-bench [REPEATS=30]
#include "Yardsticks.h"
#include "kiln/kiln.h"
#include "kiln_rt.h"

#include <Halide.h>

#include <algorithm>
#include <cmath>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

/// Median seconds of `repeats` calls (after two warm-up calls).
double medianSeconds(int repeats, const std::function<void()> &call) {
  call();
  call();
  std::vector<double> t;
  for (int i = 0; i < repeats; ++i) {
    auto start = Clock::now();
    call();
    t.push_back(std::chrono::duration<double>(Clock::now() - start).count());
  }
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

struct Conv {
  std::string name;
  int n, c, h, w, o, k, pad;
  int ho() const { return h + 2 * pad - k + 1; }
  int wo() const { return w + 2 * pad - k + 1; }
  double flops() const { return 2.0 * n * o * c * k * k * ho() * wo(); }
};

std::string tensorType(std::initializer_list<int> dims) {
  std::string s = "tensor<";
  for (int d : dims)
    s += std::to_string(d) + "x";
  return s + "f32>";
}

kiln::HostTensor filled(std::vector<int64_t> shape, float scale) {
  kiln::HostTensor t(kiln::DType::f32, shape);
  for (int64_t i = 0; i < t.size(); ++i)
    t.data<float>()[i] = scale * float((i * 7919) % 23 - 11);
  return t;
}

/// kiln's compiled model `source` on `buffers` (inputs then the output),
/// one thread.
double kilnSeconds(const std::string &source, std::vector<void *> buffers, int repeats) {
  auto fn = kiln::Function::compileSource(source, "halide_bench.mlir");
  if (!fn) {
    std::fprintf(stderr, "kiln: %s\n", fn.error().c_str());
    std::exit(1);
  }
  kiln::HostTensor workspace(kiln::DType::f32, {int64_t(fn->workspaceSize() / 4) + 16});
  kiln_context ctx;
  kiln_context_init(&ctx);
  ctx.num_threads = 1;
  auto entry = fn->entry();
  return medianSeconds(repeats, [&] { entry(buffers.data(), &ctx, workspace.data()); });
}

/// A Halide buffer over a kiln tensor's NCHW data: Halide's dims are
/// innermost first (W, H, C, N).
Halide::Buffer<float> view(kiln::HostTensor &t) {
  std::vector<int> dims;
  kiln::Shape shape = t.shape();
  for (auto it = shape.rbegin(); it != shape.rend(); ++it)
    dims.push_back(int(*it));
  return Halide::Buffer<float>(t.data<float>(), dims);
}

enum class Schedule { manual, mullapudi };

/// Convolution (stride 1, zero padding `pad`) as a Halide pipeline.
double halideConvSeconds(const Conv &l, kiln::HostTensor &x, kiln::HostTensor &w, kiln::HostTensor &y,
                         Schedule schedule, int repeats) {
  using namespace Halide;
  ImageParam input(Float(32), 4, "input"), weights(Float(32), 4, "weights");
  Var i("i"), j("j"), o("o"), n("n");
  Func padded("padded");
  padded = BoundaryConditions::constant_exterior(input, 0.0f, {{0, l.w}, {0, l.h}});
  RDom r(0, l.c, 0, l.k, 0, l.k, "r"); // r.x: channel, r.y: kernel row, r.z: kernel column
  Func conv("conv"), out("out");
  conv(i, j, o, n) = 0.0f;
  conv(i, j, o, n) += weights(r.z, r.y, r.x, o) * padded(i + r.z - l.pad, j + r.y - l.pad, r.x, n);
  out(i, j, o, n) = conv(i, j, o, n);
  Target target = get_jit_target_from_environment();
  Pipeline p(out);
  if (schedule == Schedule::manual) {
    // Tiles of 32 columns (16 or 8 in narrower images: the last tile is
    // shifted inwards) by 8 output channels.
    int columns = l.wo() >= 32 ? 32 : l.wo() >= 16 ? 16 : 8, lanes = std::min(columns, 16);
    Var io("io"), ii("ii"), oo("oo"), oi("oi");
    padded.compute_root();
    out.split(i, io, ii, columns).split(o, oo, oi, std::min(l.o, 8)).reorder(ii, oi, io, j, oo, n).vectorize(ii, lanes);
    conv.compute_at(out, io).vectorize(i, lanes).unroll(o);
    conv.update().reorder(i, o, r.z, r.y, r.x).vectorize(i, lanes).unroll(o).unroll(r.z);
  } else {
    input.set_estimates({{0, l.w}, {0, l.h}, {0, l.c}, {0, l.n}});
    weights.set_estimates({{0, l.k}, {0, l.k}, {0, l.c}, {0, l.o}});
    out.set_estimates({{0, l.wo()}, {0, l.ho()}, {0, l.o}, {0, l.n}});
    p.auto_schedule("Mullapudi2016", target, MachineParams(1, 32 * 1024 * 1024, 40));
  }
  p.compile_jit(target);
  input.set(view(x));
  weights.set(view(w));
  Buffer<float> result = view(y);
  return medianSeconds(repeats, [&] { p.realize(result); });
}

/// 2x2 max pooling, stride 2, as a Halide pipeline.
double halidePoolSeconds(kiln::HostTensor &x, kiln::HostTensor &y, Schedule schedule, int repeats) {
  using namespace Halide;
  kiln::Shape s = x.shape();
  ImageParam input(Float(32), 4, "input");
  Var i("i"), j("j"), c("c"), n("n");
  RDom r(0, 2, 0, 2, "r");
  Func pool("pool");
  pool(i, j, c, n) = maximum(input(2 * i + r.x, 2 * j + r.y, c, n));
  Target target = get_jit_target_from_environment();
  Pipeline p(pool);
  if (schedule == Schedule::manual) {
    Var io("io"), ii("ii");
    pool.split(i, io, ii, 16).vectorize(ii).reorder(ii, io, j, c, n);
  } else {
    input.set_estimates({{0, int(s[3])}, {0, int(s[2])}, {0, int(s[1])}, {0, int(s[0])}});
    pool.set_estimates({{0, int(s[3] / 2)}, {0, int(s[2] / 2)}, {0, int(s[1])}, {0, int(s[0])}});
    p.auto_schedule("Mullapudi2016", target, MachineParams(1, 32 * 1024 * 1024, 40));
  }
  p.compile_jit(target);
  input.set(view(x));
  Buffer<float> result = view(y);
  return medianSeconds(repeats, [&] { p.realize(result); });
}

double maxAbsDifference(const kiln::HostTensor &a, const kiln::HostTensor &b) {
  double worst = 0;
  for (int64_t i = 0; i < a.size(); ++i)
    worst = std::max(worst, double(std::fabs(a.data<float>()[i] - b.data<float>()[i])));
  return worst;
}

} // namespace

int main(int argc, char **argv) {
  int repeats = argc > 1 ? std::atoi(argv[1]) : 30;
  setenv("HL_NUM_THREADS", "1", 1); // Halide's pool: one thread, as kiln's here
  Halide::load_plugin("/usr/lib/x86_64-linux-gnu/halide14/libautoschedule_mullapudi2016.so");
  double peak = kiln::bench::measurePeakAvx512();
  std::printf("one thread; peak f32 FMA %.1f GFLOP/s (measured); medians of %d calls\n\n", peak, repeats);
  std::printf("| kernel | kiln | Halide, manual schedule | Halide, Mullapudi2016 | kiln / Halide (best) | max |difference| |\n");
  std::printf("| --- | --- | --- | --- | --- | --- |\n");
  std::vector<Conv> convs = {{"conv 3x3 64->64 56x56, batch 1", 1, 64, 56, 56, 64, 3, 1},
                             {"conv 3x3 128->128 28x28, batch 1", 1, 128, 28, 28, 128, 3, 1},
                             {"conv 5x5 6->16 14x14 (LeNet), batch 32", 32, 6, 14, 14, 16, 5, 0}};
  for (const Conv &l : convs) {
    kiln::HostTensor x = filled({l.n, l.c, l.h, l.w}, 0.01f), w = filled({l.o, l.c, l.k, l.k}, 0.02f);
    kiln::HostTensor yk(kiln::DType::f32, {l.n, l.o, l.ho(), l.wo()}), yh = yk, ya = yk;
    std::string xt = tensorType({l.n, l.c, l.h, l.w}), wt = tensorType({l.o, l.c, l.k, l.k}),
                yt = tensorType({l.n, l.o, l.ho(), l.wo()}), p = std::to_string(l.pad);
    std::string source = "func.func @main(%x: " + xt + ", %w: " + wt + ") -> " + yt +
                         " {\n  %0 = nn.conv2d %x, %w strides [1, 1] padding [" + p + ", " + p + ", " + p + ", " + p +
                         "] dilations [1, 1] groups 1 : (" + xt + ", " + wt + ") -> " + yt + "\n  return %0 : " + yt +
                         "\n}\n";
    double k = kilnSeconds(source, {x.data(), w.data(), yk.data()}, repeats);
    double hm = halideConvSeconds(l, x, w, yh, Schedule::manual, repeats);
    double ha = halideConvSeconds(l, x, w, ya, Schedule::mullapudi, repeats);
    auto rate = [&](double s) { return l.flops() / s / 1e9; };
    std::printf("| %s | %.1f GFLOP/s | %.1f GFLOP/s | %.1f GFLOP/s | %.2f | %.1e |\n", l.name.c_str(), rate(k),
                rate(hm), rate(ha), std::min(hm, ha) / k, std::max(maxAbsDifference(yk, yh), maxAbsDifference(yk, ya)));
  }
  {
    kiln::HostTensor x = filled({1, 64, 112, 112}, 0.01f), yk(kiln::DType::f32, {1, 64, 56, 56}), yh = yk, ya = yk;
    std::string source = "func.func @main(%x: tensor<1x64x112x112xf32>) -> tensor<1x64x56x56xf32> {\n  %0 = "
                         "nn.max_pool2d %x kernel [2, 2] strides [2, 2] padding [0, 0, 0, 0] : "
                         "tensor<1x64x112x112xf32> -> tensor<1x64x56x56xf32>\n  return %0 : tensor<1x64x56x56xf32>\n}\n";
    double k = kilnSeconds(source, {x.data(), yk.data()}, repeats);
    double hm = halidePoolSeconds(x, yh, Schedule::manual, repeats);
    double ha = halidePoolSeconds(x, ya, Schedule::mullapudi, repeats);
    double bytes = 4.0 * double(x.size() + yk.size());
    auto rate = [&](double s) { return bytes / s / 1e9; };
    std::printf("| max pool 2x2 64x112x112, batch 1 | %.1f GB/s | %.1f GB/s | %.1f GB/s | %.2f | %.1e |\n", rate(k),
                rate(hm), rate(ha), std::min(hm, ha) / k, std::max(maxAbsDifference(yk, yh), maxAbsDifference(yk, ya)));
  }
  return 0;
}
