//===- GradTest.cpp - every gradient against finite differences ----------===//
//
// For each row of OpCases.h with float inputs and a float output: compile
// the gradient with respect to every float input (autodiff + the whole
// pipeline, f64), contract the output with a random cotangent, and compare
// each gradient element with a central finite difference of the reference
// interpreter, L(x) = sum(out(x) * cotangent), in double precision. Inputs
// are random, away from kinks (no ties, no zeros). Adding an op to
// OpCases.h checks its gradient too.
//
// Tolerance: |autodiff - fd| <= 1e-6 + 1e-5 |fd| (h = 1e-6 max(1, |x|):
// truncation ~1e-12, rounding ~1e-10).
//
//===----------------------------------------------------------------------===//
#include "OpCases.h"
#include "TestUtil.h"

#include <cmath>

using namespace kiln;
using namespace kiln::test;

namespace {

bool isFloat(DType d) { return d == DType::f32 || d == DType::f64; }

std::vector<OpCase> differentiableCases() {
  std::vector<OpCase> out;
  for (const OpCase &c : allCases()) {
    if (c.ints.size() == c.inputs.size() || !c.finiteDifferences)
      continue; // no float input, or a gradient finite differences cannot see
    Graph g;
    std::vector<Tensor> inputs;
    std::vector<HostTensor> values;
    makeInputs(c, DType::f64, g, inputs, values);
    Tensor y = c.build(g, inputs);
    if (y.valid() && isFloat(y.dtype()))
      out.push_back(c);
  }
  return out;
}

class GradTest : public ::testing::TestWithParam<OpCase> {};

TEST_P(GradTest, MatchesFiniteDifferences) {
  const OpCase &c = GetParam();
  Graph g;
  std::vector<Tensor> inputs;
  std::vector<HostTensor> values;
  makeInputs(c, DType::f64, g, inputs, values);
  Tensor y = c.build(g, inputs);
  g.output(y, "out");
  ASSERT_TRUE(g.status().ok()) << g.status().error();
  std::vector<std::string> wrt;
  std::vector<size_t> wrtIndex;
  for (size_t i = 0; i < inputs.size(); ++i)
    if (isFloat(inputs[i].dtype())) {
      wrt.push_back("in" + std::to_string(i));
      wrtIndex.push_back(i);
    }
  auto fn = grad(g, wrt);
  ASSERT_TRUE(fn.ok()) << fn.error();

  bool scalar = y.shape().empty();
  HostTensor cot = randomTensor(DType::f64, y.shape(), -1, 1, 777);
  std::vector<HostTensor> args = values;
  if (!scalar)
    args.push_back(cot);
  auto got = fn->run(args);
  ASSERT_TRUE(got.ok()) << got.error();
  ASSERT_EQ(got->size(), 1 + wrt.size());

  std::string source = g.str();
  auto output = [&](const std::vector<HostTensor> &xs) {
    auto r = runReference(source, "case", xs);
    EXPECT_TRUE(r.ok()) << r.error();
    return (*r)[0];
  };
  // sum_i cot_i (y_i(up) - y_i(down)): each output's difference is taken
  // before the sum, so outputs the step does not move (exp(88) beside it)
  // cannot drown the change in rounding.
  auto weightedDifference = [&](const HostTensor &up, const HostTensor &down) {
    double sum = 0;
    for (int64_t i = 0; i < up.size(); ++i)
      sum += (up.at(i) - down.at(i)) * (scalar ? 1.0 : cot.at(i));
    return sum;
  };
  for (size_t k = 0; k < wrt.size(); ++k) {
    const HostTensor &ad = (*got)[1 + k];
    HostTensor &x = values[wrtIndex[k]];
    ASSERT_EQ(ad.shape(), x.shape()) << wrt[k];
    int64_t n = x.size(), stride = std::max<int64_t>(1, n / 12);
    for (int64_t j = 0; j < n; j += stride) {
      // A relative step where the row's inputs are all positive (log and
      // sqrt near 0: x - h must stay in the domain), else at least 1e-6.
      double x0 = x.at(j), h = 1e-6 * std::max(c.lo > 0 ? 0.0 : 1.0, std::fabs(x0));
      x.set(j, x0 + h);
      HostTensor up = output(values);
      x.set(j, x0 - h);
      HostTensor down = output(values);
      x.set(j, x0);
      double fd = weightedDifference(up, down) / (2 * h);
      EXPECT_NEAR(ad.at(j), fd, 1e-6 + 1e-5 * std::fabs(fd))
          << "d" << wrt[k] << "[" << j << "] at x = " << x0 << "\n" << g.str();
    }
  }
}

// x * stop_gradient(x): the gradient is x, not 2x.
TEST(Grad, StopGradientBlocksTheFlow) {
  Graph g;
  Tensor x = g.input("x", {3}, DType::f64);
  g.output(reduce_sum(x * stop_gradient(x), {0}), "s");
  auto fn = grad(g, {"x"});
  ASSERT_TRUE(fn.ok()) << fn.error();
  HostTensor v = HostTensor::fromVector(std::vector<double>{1, -2, 3}, {3});
  auto out = fn->run({v});
  ASSERT_TRUE(out.ok()) << out.error();
  for (int i = 0; i < 3; ++i)
    EXPECT_EQ((*out)[1].at(i), v.at(i));
}

INSTANTIATE_TEST_SUITE_P(Grad, GradTest, ::testing::ValuesIn(differentiableCases()),
                         [](const ::testing::TestParamInfo<OpCase> &info) { return info.param.name; });

} // namespace
