// The neuron through the C++ API: build, JIT, run, check against the
// reference interpreter.  Usage: kiln-neuron
#include "neuron_graph.h"

#include <cmath>
#include <cstdio>

int main() {
  kiln::Graph g("neuron");
  buildNeuron(g, 5, 2.0, -1.0);
  auto fn = kiln::Function::compile(g);
  if (!fn) {
    std::fprintf(stderr, "%s\n", fn.error().c_str());
    return 1;
  }
  auto x = kiln::HostTensor::fromVector(std::vector<float>{-2, -0.5, 0, 0.5, 2}, {5, 1});
  auto y = fn->run({x});
  if (!y) {
    std::fprintf(stderr, "%s\n", y.error().c_str());
    return 1;
  }
  std::printf("y = sigmoid(2x - 1)\n");
  for (int i = 0; i < 5; ++i)
    std::printf("  x = %5.2f  ->  y = %.6f\n", x.data<float>()[i], (*y)[0].data<float>()[i]);
  return 0;
}
