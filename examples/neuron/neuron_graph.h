// The neuron y = sigmoid(a·x + b) with the C++ API: x is the input, a the
// weight, b the bias, sigmoid the activation G.
#pragma once
#include "kiln/kiln.h"

inline void buildNeuron(kiln::Graph &g, int64_t batch, double a0, double b0) {
  kiln::Tensor x = g.input("x", {batch, 1});
  kiln::Tensor a = g.param("a", {1, 1}, kiln::valuesInit({a0}));
  kiln::Tensor b = g.param("b", {1}, kiln::valuesInit({b0}));
  g.output(kiln::sigmoid(kiln::matmul(x, a) + b), "y");
}
