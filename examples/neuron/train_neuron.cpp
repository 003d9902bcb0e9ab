// Trains the neuron y = sigmoid(a*x + b) by gradient descent on the L1 loss
// mean |prediction - label|, with labels from y = sigmoid(2x - 1): a and b
// start elsewhere and converge to 2 and -1. The whole step (forward,
// backward, update) is one compiled function; a and b are updated in place.
// Usage: kiln-train-neuron [steps]
#include "kiln/kiln.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <random>

int main(int argc, char **argv) {
  const int64_t steps = argc > 1 ? std::atoll(argv[1]) : 2000, batch = 64;
  kiln::Graph g("neuron");
  kiln::Tensor x = g.input("x", {batch, 1});
  kiln::Tensor label = g.input("label", {batch, 1});
  kiln::Tensor a = g.param("a", {1, 1}, kiln::valuesInit({0.5}));
  kiln::Tensor b = g.param("b", {1}, kiln::valuesInit({0.0}));
  kiln::Tensor y = kiln::sigmoid(kiln::matmul(x, a) + b);
  g.output(kiln::l1_loss(y, label), "loss");

  auto step = kiln::train_step(g, "loss", {"a", "b"}, kiln::Optimizer::sgd());
  if (!step) {
    std::fprintf(stderr, "%s\n", step.error().c_str());
    return 1;
  }
  // Data: x uniform in [-4, 4], label = sigmoid(2x - 1).
  kiln::HostTensor xs(kiln::DType::f32, {batch, 1}), labels(kiln::DType::f32, {batch, 1});
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> uniform(-4, 4);
  for (int64_t i = 0; i < batch; ++i) {
    xs.data<float>()[i] = uniform(rng);
    labels.data<float>()[i] = float(1 / (1 + std::exp(-(2.0 * xs.data<float>()[i] - 1))));
  }
  auto value = [&](const char *name) { return step->param(name)->data<float>()[0]; };
  std::printf("neuron y = sigmoid(a*x + b), L1 loss, SGD; target a = 2, b = -1\n");
  std::printf("start: a = %.4f, b = %.4f\n", value("a"), value("b"));
  // The L1 gradient keeps its size near the optimum, so the step shrinks:
  // lr = 4 * 0.998^step (the learning rate is a run-time input).
  int64_t done = 0;
  while (done < steps) {
    int64_t n = std::min<int64_t>(250, steps - done);
    auto losses = kiln::trainLoop(*step, n, [&](int64_t) { return std::vector{xs, labels}; },
                                  [&](int64_t s) { return 4.0 * std::pow(0.998, double(done + s)); },
                                  {/*showProgress=*/false});
    if (!losses) {
      std::fprintf(stderr, "%s\n", losses.error().c_str());
      return 1;
    }
    done += n;
    std::printf("step %5lld: a = %.4f, b = %.4f, loss = %.6f\n", (long long)done, value("a"),
                value("b"), losses->back());
  }
  bool converged = std::fabs(value("a") - 2) < 0.05 && std::fabs(value("b") + 1) < 0.05;
  std::printf("%s: a = %.4f, b = %.4f after %lld steps\n", converged ? "converged" : "NOT converged",
              value("a"), value("b"), (long long)steps);
  return converged ? 0 : 1;
}
