//===- OpsTest.cpp - every nn op, compiled, against the reference ---------===//
//
// One harness: each row of OpCases.h, compiled through the whole pipeline,
// runs on random data (never zeros) in f32 and f64 and is compared with the
// double-precision reference interpreter.
//
// Tolerances: f64 rtol 1e-12 (exact libm and arithmetic); f32 rtol 2e-5
// plus atol 5e-6 (the polynomial exp/log/tanh are within a few ulp, see
// ApproximationTest.cpp; sums of up to 71 products of values up to 2 round
// in float, and cancel).
//
//===----------------------------------------------------------------------===//
#include "OpCases.h"
#include "TestUtil.h"

#include <functional>

using namespace kiln;
using kiln::test::allClose;
using kiln::test::randomTensor;
using namespace kiln::test;

namespace {

struct Param {
  OpCase op;
  DType dtype;
};

void PrintTo(const Param &p, std::ostream *os) { *os << p.op.name << " " << dtypeName(p.dtype); }

std::string caseName(const ::testing::TestParamInfo<Param> &info) {
  return info.param.op.name + "_" + dtypeName(info.param.dtype);
}

std::vector<Param> allParams() {
  std::vector<Param> params;
  for (const OpCase &c : allCases())
    for (DType d : {DType::f32, DType::f64})
      params.push_back({c, d});
  return params;
}

class OpsTest : public ::testing::TestWithParam<Param> {};

TEST_P(OpsTest, MatchesReference) {
  const OpCase &c = GetParam().op;
  DType dtype = GetParam().dtype;
  Graph g("main");
  std::vector<Tensor> inputs;
  std::vector<HostTensor> values;
  makeInputs(c, dtype, g, inputs, values);
  g.output(c.build(g, inputs), "out");
  ASSERT_TRUE(g.status().ok()) << g.status().error();

  auto fn = Function::compile(g);
  ASSERT_TRUE(fn.ok()) << fn.error();
  auto got = fn->run(values);
  ASSERT_TRUE(got.ok()) << got.error();
  auto want = runReference(g.str(), g.name(), values);
  ASSERT_TRUE(want.ok()) << want.error();
  ASSERT_EQ(got->size(), 1u);
  bool f32 = dtype == DType::f32;
  EXPECT_TRUE(allClose((*got)[0], (*want)[0], f32 ? 2e-5 : 1e-12, f32 ? 5e-6 : 1e-14))
      << g.str();
}

INSTANTIATE_TEST_SUITE_P(Ops, OpsTest, ::testing::ValuesIn(allParams()), caseName);

} // namespace

// nn.dropout's mask, beyond matching the reference: the kept fraction is
// 1 - rate, kept values are scaled by 1 / (1 - rate), the same step gives
// the same mask on every thread count (the tensor is big enough to run in
// chunks on the thread pool) and another step another mask.
TEST(Dropout, RateScaleDeterminismAndFreshMasks) {
  Graph g("drop");
  Tensor x = g.input("x", {1000, 100});
  Tensor step = g.input("step", {}, DType::i64);
  g.output(dropout(x, step, 0.3, 5), "y");
  auto fn = Function::compile(g);
  ASSERT_TRUE(fn.ok()) << fn.error();
  HostTensor ones(DType::f32, {1000, 100});
  for (int64_t i = 0; i < ones.size(); ++i)
    ones.set(i, 1.0);
  auto stepOf = [](int64_t s) {
    HostTensor t(DType::i64, {});
    t.set(0, double(s));
    return t;
  };
  fn->setNumThreads(1);
  auto a = fn->run({ones, stepOf(3)});
  fn->setNumThreads(2);
  auto b = fn->run({ones, stepOf(3)});
  auto c = fn->run({ones, stepOf(4)});
  ASSERT_TRUE(a.ok() && b.ok() && c.ok());
  int64_t dropped = 0, differ = 0;
  for (int64_t i = 0; i < ones.size(); ++i) {
    float va = (*a)[0].data<float>()[i];
    ASSERT_EQ(va, (*b)[0].data<float>()[i]) << i;
    if (va == 0)
      ++dropped;
    else
      ASSERT_FLOAT_EQ(va, float(1 / 0.7)) << i;
    differ += (va == 0) != ((*c)[0].data<float>()[i] == 0);
  }
  EXPECT_NEAR(double(dropped) / double(ones.size()), 0.3, 0.01);
  EXPECT_GT(differ, ones.size() / 5); // independent masks differ in ~42% of places
}
