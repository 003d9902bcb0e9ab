// An MLP classifier 784-256-256-10 with ReLU, with the C++ API: the same
// model as mlp.mlir (same parameter initializers, so the same outputs).
#pragma once
#include "kiln/kiln.h"

inline void buildMlp(kiln::Graph &g, int64_t batch) {
  using namespace kiln;
  Tensor x = g.input("x", {batch, 784});
  Tensor w1 = g.param("w1", {784, 256}, normalInit(0, 0.05, 1));
  Tensor b1 = g.param("b1", {256}, zerosInit());
  Tensor w2 = g.param("w2", {256, 256}, normalInit(0, 0.088, 2));
  Tensor b2 = g.param("b2", {256}, zerosInit());
  Tensor w3 = g.param("w3", {256, 10}, normalInit(0, 0.088, 3));
  Tensor b3 = g.param("b3", {10}, zerosInit());
  Tensor h1 = relu(matmul(x, w1) + b1);
  Tensor h2 = relu(matmul(h1, w2) + b2);
  Tensor logits = matmul(h2, w3) + b3;
  g.output(logits, "logits");
  g.output(softmax(logits, -1), "probs");
}
