// kiln's main demo: compiles the example models end to end and says what it
// did at each step. Run it with `scripts/demo.sh`.
#include "mlp/mlp_graph.h"
#include "neuron/neuron_graph.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <random>
#include <string>

using namespace kiln;
using Clock = std::chrono::steady_clock;

namespace {

double msSince(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

double maxAbsDiff(const HostTensor &a, const HostTensor &b) {
  double worst = 0;
  for (int64_t i = 0; i < a.size(); ++i)
    worst = std::max(worst, std::fabs(a.at(i) - b.at(i)));
  return worst;
}

bool sameBits(const HostTensor &a, const HostTensor &b) {
  return a.bytes() == b.bytes() && std::equal((const char *)a.data(),
                                              (const char *)a.data() + a.bytes(),
                                              (const char *)b.data());
}

template <typename T> T check(Result<T> r, const char *what) {
  if (!r) {
    std::fprintf(stderr, "demo: %s failed:\n%s\n", what, r.error().c_str());
    std::exit(1);
  }
  return std::move(r).value();
}

void step(const char *title) { std::printf("\n== %s\n", title); }

} // namespace

int main() {
  std::printf("kiln demo: a neural-network graph compiler on MLIR, from graph to native code.\n");
  std::printf("phases: ");
  for (const std::string &p : phaseNames())
    std::printf("%s ", p.c_str());
  std::printf("\n");

  step("1. The neuron y = sigmoid(a*x + b), built with the C++ API (a = 2, b = -1)");
  Graph neuron("neuron");
  buildNeuron(neuron, 8, 2.0, -1.0);
  std::printf("%s", neuron.str().c_str());

  step("2. Compile it: nn -> linalg -> fused -> tiled -> bufferized -> llvm -> object file, loaded by the JIT");
  auto t0 = Clock::now();
  Function fn = check(Function::compile(neuron), "compiling the neuron");
  std::printf("compiled in %.0f ms for this machine's CPU\n", msSince(t0));

  step("3. Run it, and check it against the double-precision reference interpreter");
  HostTensor x = HostTensor::fromVector(std::vector<float>{-2, -1, -0.5, 0, 0.25, 0.5, 1, 3}, {8, 1});
  std::vector<HostTensor> y = check(fn.run({x}), "running the neuron");
  std::vector<HostTensor> ref = check(runReference(neuron.str(), "neuron", {x}), "the reference");
  for (int i = 0; i < 8; ++i)
    std::printf("  x = %5.2f   y = %.7f   reference %.7f\n", x.data<float>()[i],
                y[0].data<float>()[i], ref[0].data<double>()[i]);
  std::printf("max |compiled - reference| = %.2g\n", maxAbsDiff(y[0], ref[0]));

  step("4. The same neuron written as kiln IR: examples/neuron/neuron.mlir");
  Function fromFile = check(Function::compileFile(KILN_EXAMPLES_DIR "/neuron/neuron.mlir"),
                            "compiling neuron.mlir");
  std::vector<HostTensor> y2 = check(fromFile.run({{"x", x}}), "running neuron.mlir");
  std::printf("outputs of the C++ graph and the .mlir file are %s\n",
              sameBits(y[0], y2[0]) ? "bit-identical" : "DIFFERENT");

  step("5. An MLP classifier 784-256-256-10 (ReLU, softmax): examples/mlp/mlp.mlir and the C++ API");
  t0 = Clock::now();
  Function mlpFile = check(Function::compileFile(KILN_EXAMPLES_DIR "/mlp/mlp.mlir"), "mlp.mlir");
  double compileMs = msSince(t0);
  Graph mlpGraph("mlp");
  buildMlp(mlpGraph, 16);
  Function mlpApi = check(Function::compile(mlpGraph), "the C++ MLP");
  std::printf("compiled mlp.mlir in %.0f ms; %zu parameters tensors, %zu inputs, %zu outputs\n",
              compileMs, mlpFile.params().size(), mlpFile.inputs().size(), mlpFile.outputs().size());
  HostTensor images(DType::f32, {16, 784});
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> pixel(0, 1);
  for (int64_t i = 0; i < images.size(); ++i)
    images.data<float>()[i] = pixel(rng);
  std::vector<HostTensor> out = check(mlpFile.run({images}), "running the MLP");
  std::vector<HostTensor> outApi = check(mlpApi.run({images}), "running the C++ MLP");
  std::string source;
  {
    FILE *f = std::fopen(KILN_EXAMPLES_DIR "/mlp/mlp.mlir", "rb");
    for (int c; f && (c = std::fgetc(f)) != EOF;)
      source += char(c);
    if (f)
      std::fclose(f);
  }
  std::vector<HostTensor> mlpRef = check(runReference(source, "mlp.mlir", {images}), "reference");
  std::printf("max |compiled - reference|: logits %.2g, probabilities %.2g\n",
              maxAbsDiff(out[0], mlpRef[0]), maxAbsDiff(out[1], mlpRef[1]));
  std::printf("C++ API and .mlir MLPs agree: %s\n",
              sameBits(out[1], outApi[1]) ? "bit-identical" : "DIFFERENT");
  const float *p = out[1].data<float>();
  std::printf("predicted classes of 16 random images:");
  for (int r = 0; r < 16; ++r)
    std::printf(" %d", int(std::max_element(p + r * 10, p + r * 10 + 10) - (p + r * 10)));
  std::printf("\n");

  std::vector<double> times;
  for (int i = 0; i < 21; ++i) {
    auto t = Clock::now();
    (void)mlpFile.run({images});
    times.push_back(msSince(t));
  }
  std::sort(times.begin(), times.end());
  double flops = 2.0 * 16 * (784 * 256 + 256 * 256 + 256 * 10);
  std::printf("forward pass: median %.3f ms over 21 calls (%.2f GFLOP/s; untiled loops: speed is a "
              "later issue)\n",
              times[10], flops / (times[10] * 1e6));

  step("6. See every step yourself");
  std::printf("  build/tools/kiln phases\n"
              "  build/tools/kiln compile examples/mlp/mlp.mlir --emit=linalg\n"
              "  build/tools/kiln compile examples/mlp/mlp.mlir --emit=asm --target-cpu=x86-64-v3\n"
              "  build/tools/kiln compile examples/mlp/mlp.mlir --emit=obj -o mlp.o --dump-dir dump/\n"
              "  build/tools/kiln run examples/neuron/neuron.mlir --input x=x.npy --output-dir out/\n");
  return 0;
}
