//===- ApproximationTest.cpp - error of the f32 polynomial transcendentals ===//
//
// exp, log, tanh (and sigmoid through exp) in f32 are MLIR's polynomial
// approximations (passes/lowering/ApproximateMath.cpp). This measures their
// worst error against double-precision libm over dense grids and holds them
// to the bounds documented in docs/numerics.md.
//
//===----------------------------------------------------------------------===//
#include "TestUtil.h"

#include <cmath>

using namespace kiln;

namespace {

struct Measured {
  double maxRel = 0, maxAbs = 0;
};

Measured measure(Tensor (*op)(Tensor, Where), double (*ref)(double), double lo, double hi) {
  const int64_t n = 1 << 16;
  Graph g;
  g.output(op(g.input("x", {n}), Where::current()), "y");
  auto fn = Function::compile(g);
  EXPECT_TRUE(fn.ok()) << fn.error();
  HostTensor x(DType::f32, {n});
  for (int64_t i = 0; i < n; ++i)
    x.data<float>()[i] = float(lo + (hi - lo) * double(i) / double(n - 1));
  auto y = fn->run({x});
  EXPECT_TRUE(y.ok());
  Measured m;
  for (int64_t i = 0; i < n; ++i) {
    double want = ref(double(x.data<float>()[i])), got = (*y)[0].data<float>()[i];
    double abs = std::fabs(got - want);
    m.maxAbs = std::max(m.maxAbs, abs);
    if (std::fabs(want) > 1e-30)
      m.maxRel = std::max(m.maxRel, abs / std::fabs(want));
  }
  return m;
}

double sigmoidRef(double x) { return 1 / (1 + std::exp(-x)); }

TEST(Approximation, ExpRelativeErrorBelow2e7OverFiniteRange) {
  Measured m = measure(exp, [](double x) { return std::exp(x); }, -87, 88);
  RecordProperty("max_rel", std::to_string(m.maxRel));
  EXPECT_LT(m.maxRel, 2e-7) << "exp max relative error " << m.maxRel;
}

TEST(Approximation, LogAbsoluteErrorBelow2e7) {
  Measured m = measure(log, [](double x) { return std::log(x); }, 1e-6, 1e6);
  EXPECT_LT(m.maxAbs, 2e-7 * 14) << "log max absolute error " << m.maxAbs;
  EXPECT_LT(m.maxRel, 4e-7) << "log max relative error " << m.maxRel;
}

TEST(Approximation, TanhAbsoluteErrorBelow1e6) {
  Measured m = measure(tanh, [](double x) { return std::tanh(x); }, -10, 10);
  EXPECT_LT(m.maxAbs, 1e-6) << "tanh max absolute error " << m.maxAbs;
}

TEST(Approximation, SigmoidAbsoluteErrorBelow1e6) {
  Measured m = measure(sigmoid, sigmoidRef, -30, 30);
  EXPECT_LT(m.maxAbs, 1e-6) << "sigmoid max absolute error " << m.maxAbs;
}

TEST(Approximation, ExpOverflowsToInfinityAndUnderflowsToZero) {
  Graph g;
  g.output(exp(g.input("x", {4})), "y");
  auto fn = Function::compile(g);
  ASSERT_TRUE(fn.ok());
  auto y = fn->run({HostTensor::fromVector(std::vector<float>{100, 89, -104, -200}, {4})});
  ASSERT_TRUE(y.ok());
  EXPECT_TRUE(std::isinf((*y)[0].data<float>()[0]));
  EXPECT_TRUE(std::isinf((*y)[0].data<float>()[1]));
  EXPECT_LT((*y)[0].data<float>()[2], 1e-44);
  EXPECT_EQ((*y)[0].data<float>()[3], 0.0f);
}

} // namespace
