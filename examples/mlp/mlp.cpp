// The MLP 784-256-256-10 through the C++ API: build, JIT, classify a batch.
// Usage: kiln-mlp
#include "mlp_graph.h"

#include <cstdio>
#include <random>

int main() {
  kiln::Graph g("mlp");
  buildMlp(g, 16);
  auto fn = kiln::Function::compile(g);
  if (!fn) {
    std::fprintf(stderr, "%s\n", fn.error().c_str());
    return 1;
  }
  kiln::HostTensor x(kiln::DType::f32, {16, 784});
  std::mt19937 rng(1);
  std::uniform_real_distribution<float> pixel(0, 1);
  for (int64_t i = 0; i < x.size(); ++i)
    x.data<float>()[i] = pixel(rng);
  auto out = fn->run({x});
  if (!out) {
    std::fprintf(stderr, "%s\n", out.error().c_str());
    return 1;
  }
  const float *p = (*out)[1].data<float>();
  for (int r = 0; r < 16; ++r) {
    int best = 0;
    for (int c = 1; c < 10; ++c)
      if (p[r * 10 + c] > p[r * 10 + best])
        best = c;
    std::printf("image %2d: class %d (p = %.3f)\n", r, best, p[r * 10 + best]);
  }
  return 0;
}
