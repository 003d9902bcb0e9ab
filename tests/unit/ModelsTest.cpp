//===- ModelsTest.cpp - whole models: attention weights and gradients ----===//
//
// The language model's attention weights are the model's own (each row a
// distribution over the past), and the gradients of whole models (an MLP and
// the language model, in f64) agree with central finite differences of their
// forward pass, which agrees with the reference interpreter.
//
//===----------------------------------------------------------------------===//
#include "TestUtil.h"
#include "../../examples/charlm/charlm_model.h"

#include <cmath>

using namespace kiln;

namespace {

CharLmConfig tinyLm(DType dtype) {
  CharLmConfig c;
  c.vocab = 7;
  c.dModel = 8;
  c.heads = 2;
  c.layers = 2;
  c.context = 5;
  c.batch = 2;
  c.hidden = 12;
  c.dtype = dtype;
  return c;
}

HostTensor tokens(const Shape &shape, int64_t vocab, uint32_t seed) {
  HostTensor t(DType::i64, shape);
  std::mt19937 rng(seed);
  for (int64_t i = 0; i < t.size(); ++i)
    t.data<int64_t>()[i] = int64_t(rng() % uint32_t(vocab));
  return t;
}

TEST(Models, AttentionRowsAreCausalDistributions) {
  CharLmConfig c = tinyLm(DType::f32);
  c.context = 9;
  Graph g;
  CharLmOutputs out = charLm(g, g.input("ids", {c.batch, c.context}, DType::i64), c);
  g.output(out.lastAttention, "attention");
  auto fn = Function::compile(g);
  ASSERT_TRUE(fn.ok()) << fn.error();
  auto r = fn->run({tokens({c.batch, c.context}, c.vocab, 3)});
  ASSERT_TRUE(r.ok()) << r.error();
  const HostTensor &a = (*r)[0];
  ASSERT_EQ(a.shape(), (Shape{c.batch, c.context, c.context}));
  for (int64_t b = 0; b < c.batch; ++b)
    for (int64_t i = 0; i < c.context; ++i) {
      double sum = 0;
      for (int64_t j = 0; j < c.context; ++j) {
        double w = a.at((b * c.context + i) * c.context + j);
        if (j > i)
          EXPECT_EQ(w, 0.0) << "row " << i << " attends to the future position " << j;
        EXPECT_GE(w, 0.0);
        sum += w;
      }
      EXPECT_NEAR(sum, 1.0, 1e-5) << "row " << i;
    }
}

/// Checks the compiled f64 gradient of `g`'s scalar output with respect to
/// `params` against central differences of the reference interpreter,
/// sampling `samples` elements per parameter.
void checkGradients(Graph &g, const std::vector<HostTensor> &inputs,
                    const std::vector<std::string> &params, int samples) {
  ASSERT_TRUE(g.status().ok()) << g.status().error();
  auto fn = grad(g, params);
  ASSERT_TRUE(fn.ok()) << fn.error();
  auto got = fn->run(inputs);
  ASSERT_TRUE(got.ok()) << got.error();
  // Differences of the compiled f64 forward (the loss, output 0 of the
  // gradient function), with each parameter perturbed through setParam; that
  // forward is itself checked against the reference interpreter below.
  std::string source = g.str();
  for (size_t k = 0; k < params.size(); ++k) {
    HostTensor p = *fn->param(params[k]);
    const HostTensor &ad = (*got)[1 + k];
    std::mt19937 rng(11 + uint32_t(k));
    for (int s = 0; s < samples; ++s) {
      int64_t j = int64_t(rng() % uint32_t(p.size()));
      double x0 = p.at(j), h = 1e-6 * std::max(1.0, std::fabs(x0));
      auto lossAt = [&](double x) {
        HostTensor q = p;
        q.set(j, x);
        EXPECT_TRUE(fn->setParam(params[k], q).ok());
        auto r = fn->run(inputs);
        EXPECT_TRUE(r.ok());
        return (*r)[0].at(0);
      };
      double fd = (lossAt(x0 + h) - lossAt(x0 - h)) / (2 * h);
      EXPECT_TRUE(fn->setParam(params[k], p).ok());
      EXPECT_NEAR(ad.at(j), fd, 1e-6 + 1e-5 * std::fabs(fd)) << params[k] << "[" << j << "]";
    }
  }
  // The compiled forward (used above) against the reference interpreter.
  auto ref = runReference(source, "model", inputs);
  ASSERT_TRUE(ref.ok()) << ref.error();
  EXPECT_NEAR((*got)[0].at(0), (*ref)[0].at(0), 1e-10 * std::max(1.0, std::fabs((*ref)[0].at(0))));
}

TEST(Models, LanguageModelGradientsMatchFiniteDifferences) {
  CharLmConfig c = tinyLm(DType::f64);
  Graph g;
  Tensor ids = g.input("ids", {c.batch, c.context}, DType::i64);
  Tensor targets = g.input("targets", {c.batch, c.context}, DType::i64);
  g.output(cross_entropy(charLm(g, ids, c).logits, targets), "loss");
  checkGradients(g, {tokens({c.batch, c.context}, c.vocab, 1), tokens({c.batch, c.context}, c.vocab, 2)},
                 {"tok_emb", "pos_emb", "l0_wq", "l0_wk", "l0_wv", "l0_wo", "l0_ln1_g", "l1_w1", "l1_b1",
                  "l1_w2", "lnf_b", "head"},
                 6);
}

TEST(Models, MlpGradientsMatchFiniteDifferences) {
  Graph g;
  Tensor x = g.input("x", {5, 7}, DType::f64);
  Tensor y = g.input("y", {5}, DType::i32);
  Tensor w1 = g.param("w1", {7, 11}, normalInit(0, 0.4, 1), DType::f64);
  Tensor b1 = g.param("b1", {11}, uniformInit(-0.1, 0.1, 2), DType::f64);
  Tensor w2 = g.param("w2", {11, 3}, normalInit(0, 0.4, 3), DType::f64);
  Tensor b2 = g.param("b2", {3}, uniformInit(-0.1, 0.1, 4), DType::f64);
  g.output(cross_entropy(matmul(relu(matmul(x, w1) + b1), w2) + b2, y), "loss");
  HostTensor labels(DType::i32, {5});
  for (int i = 0; i < 5; ++i)
    labels.set(i, i % 3);
  checkGradients(g, {test::randomTensor(DType::f64, {5, 7}, -1, 1, 9), labels}, {"w1", "b1", "w2", "b2"},
                 8);
}

} // namespace
