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
