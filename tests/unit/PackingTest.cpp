//===- PackingTest.cpp - constant weights packed at compile time ---------===//
//
// A matmul whose B is a constant gets B packed at compile time (a
// [panels, K, width] constant, the last panel zero-padded) instead of
// copied into panels at run time: per column tile (N = 70: 32 + 32 + 6) and
// per column block (N = 300: 128 + 128 + 44). The compiled code must hold no
// run-time panel copy and agree with the reference interpreter. The weights
// are Graph constants large enough to be blob resources.
//
//===----------------------------------------------------------------------===//
#include "TestUtil.h"

using namespace kiln;
using kiln::test::allClose;
using kiln::test::randomTensor;

namespace {

void checkConstantWeights(int64_t m, int64_t k, int64_t n) {
  Graph g("constant_weights");
  Tensor x = g.input("x", {m, k});
  Tensor w = g.constant(randomTensor(DType::f32, {k, n}, -1, 1, 11));
  g.output(matmul(x, w), "y");
  // A constant of this size travels as a blob (read as bytes when packed).
  EXPECT_NE(g.str().find("dense_resource<kiln_constant"), std::string::npos);
  auto tiled = lowerToStage(g.str(), "constant_weights", "tiled");
  ASSERT_TRUE(tiled.ok()) << tiled.error();
  EXPECT_EQ(tiled->find("linalg.copy"), std::string::npos) << "B is still packed at run time";
  EXPECT_NE(tiled->find("x" + std::to_string(k) + "x"), std::string::npos) << "no packed constant";
  auto fn = Function::compile(g);
  ASSERT_TRUE(fn.ok()) << fn.error();
  std::vector<HostTensor> inputs{randomTensor(DType::f32, {m, k}, -1, 1, 12)};
  auto got = fn->run(inputs);
  ASSERT_TRUE(got.ok()) << got.error();
  auto want = runReference(g.str(), "constant_weights", inputs);
  ASSERT_TRUE(want.ok()) << want.error();
  EXPECT_TRUE(allClose((*got)[0], (*want)[0], 1e-4, 1e-4));
}

TEST(Packing, ConstantWeightsPerColumnTile) { checkConstantWeights(67, 37, 70); }
TEST(Packing, ConstantWeightsPerColumnBlock) { checkConstantWeights(67, 37, 300); }

} // namespace
