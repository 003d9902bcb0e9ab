//===- ParallelTest.cpp - parallel tile loops: same bits on every count ---===//
//
// Matmuls big enough for threads (kiln-tile-matmul's parallel-min-flops)
// run their output-tile loops on the runtime's pool, row kernels (softmax,
// layer_norm; kiln-tile-rows) their rows. Each case checks that
// the compiled code really calls the pool, that 1, 2 and 3 threads give
// bit-identical results (reductions are never split), and that the result
// matches the reference interpreter; awkward shapes (primes, 1, tall and
// skinny, batched, transposed) and a gradient (the backward matmuls).
//
//===----------------------------------------------------------------------===//
#include "TestUtil.h"

#include <cstring>
#include <thread>

using namespace kiln;
using kiln::test::allClose;
using kiln::test::randomTensor;

namespace {

struct Case {
  std::string name;
  std::vector<Shape> inputs;
  Tensor (*build)(Graph &, const std::vector<Tensor> &);
};

const Case kCases[] = {
    {"primes_67x131x257", {{67, 257}, {257, 131}},
     [](Graph &, const std::vector<Tensor> &x) { return matmul(x[0], x[1]); }},
    {"tall_skinny_1031x5x1000", {{1031, 1000}, {1000, 5}},
     [](Graph &, const std::vector<Tensor> &x) { return matmul(x[0], x[1]); }},
    {"gemv_1x4099x1031", {{1, 1031}, {1031, 4099}},
     [](Graph &, const std::vector<Tensor> &x) { return matmul(x[0], x[1]); }},
    {"batched_4x61x97x211", {{4, 61, 211}, {4, 211, 97}},
     [](Graph &, const std::vector<Tensor> &x) { return matmul(x[0], x[1]); }},
    {"transposed_b_96x113x301", {{96, 301}, {113, 301}},
     [](Graph &, const std::vector<Tensor> &x) { return matmul(x[0], x[1], false, true); }},
    {"mlp_layer_bias_relu", {{128, 300}, {300, 257}, {257}},
     [](Graph &, const std::vector<Tensor> &x) { return relu(matmul(x[0], x[1]) + x[2]); }},
    // Column blocks of 128 on the pool (B packed per block), a partial 44.
    {"column_blocks_67x300x1000", {{67, 1000}, {1000, 300}},
     [](Graph &, const std::vector<Tensor> &x) { return matmul(x[0], x[1]); }},
    // Epilogue (bias + ReLU in registers) on a parallel, peeled matmul.
    {"epilogue_131x97x257_then_29", {{131, 257}, {257, 97}, {97}, {97, 29}},
     [](Graph &, const std::vector<Tensor> &x) { return matmul(relu(matmul(x[0], x[1]) + x[2]), x[3]); }},
    // Row kernels (kiln-tile-rows): rows of 301 (pieces of 64 and a peeled
    // 45), 257 rows in parallel; layer_norm over 3-D rows of 1031.
    {"softmax_rows_257x301", {{257, 301}},
     [](Graph &, const std::vector<Tensor> &x) { return softmax(x[0]); }},
    {"log_softmax_rows_257x301", {{257, 301}},
     [](Graph &, const std::vector<Tensor> &x) { return log_softmax(x[0]); }},
    {"layer_norm_rows_3x29x1031", {{3, 29, 1031}, {1031}, {1031}},
     [](Graph &, const std::vector<Tensor> &x) { return layer_norm(x[0], x[1], x[2]); }},
};

void PrintTo(const Case &c, std::ostream *os) { *os << c.name; }

std::vector<HostTensor> inputsOf(const Case &c) {
  std::vector<HostTensor> values;
  for (size_t i = 0; i < c.inputs.size(); ++i)
    values.push_back(randomTensor(DType::f32, c.inputs[i], -1, 1, uint32_t(7 + i)));
  return values;
}

void build(Graph &g, const Case &c) {
  std::vector<Tensor> xs;
  for (size_t i = 0; i < c.inputs.size(); ++i)
    xs.push_back(g.input("x" + std::to_string(i), c.inputs[i]));
  g.output(c.build(g, xs), "y");
}

bool sameBits(const HostTensor &a, const HostTensor &b) {
  return a.shape() == b.shape() && a.dtype() == b.dtype() &&
         std::memcmp(a.data(), b.data(), a.bytes()) == 0;
}

class ParallelTest : public ::testing::TestWithParam<Case> {};

TEST_P(ParallelTest, SameBitsOnEveryThreadCountAndMatchesReference) {
  const Case &c = GetParam();
  Graph g(c.name);
  build(g, c);
  auto llvmIr = lowerToStage(g.str(), c.name, "llvm");
  ASSERT_TRUE(llvmIr.ok()) << llvmIr.error();
  EXPECT_NE(llvmIr->find("kiln_rt1_parallel_for"), std::string::npos)
      << "the matmul did not take the parallel path";

  auto fn = Function::compile(g);
  ASSERT_TRUE(fn.ok()) << fn.error();
  std::vector<HostTensor> inputs = inputsOf(c);
  std::vector<HostTensor> byCount[4];
  for (int threads : {1, 2, 3}) {
    fn->setNumThreads(threads);
    auto r = fn->run(inputs);
    ASSERT_TRUE(r.ok()) << r.error();
    byCount[threads] = std::move(*r);
  }
  EXPECT_TRUE(sameBits(byCount[1][0], byCount[2][0])) << "1 vs 2 threads";
  EXPECT_TRUE(sameBits(byCount[1][0], byCount[3][0])) << "1 vs 3 threads";

  auto want = runReference(g.str(), c.name, inputs);
  ASSERT_TRUE(want.ok()) << want.error();
  EXPECT_TRUE(allClose(byCount[2][0], (*want)[0], 1e-4, 1e-4));
}

INSTANTIATE_TEST_SUITE_P(Shapes, ParallelTest, ::testing::ValuesIn(kCases),
                         [](const auto &info) { return info.param.name; });

// The backward pass of a two-layer product: its matmuls take transposed
// operands (dA = dY B^T, dB = A^T dY) and run in parallel too.
TEST(Parallel, GradientSameBitsOnEveryThreadCount) {
  Graph g("two_layers");
  Tensor x = g.input("x", {96, 211});
  ParamInit init{ParamInit::Kind::Normal, 0, 0.1, 1, {}, nullptr};
  Tensor w1 = g.param("w1", {211, 131}, init);
  init.seed = 2;
  Tensor w2 = g.param("w2", {131, 67}, init);
  g.output(reduce_sum(tanh(matmul(tanh(matmul(x, w1)), w2)), {0, 1}), "loss");
  CompileOptions options;
  options.gradientWrt = std::vector<std::string>{};
  auto fn = Function::compile(g, options);
  ASSERT_TRUE(fn.ok()) << fn.error();
  std::vector<HostTensor> inputs{randomTensor(DType::f32, {96, 211}, -1, 1, 5)};
  fn->setNumThreads(1);
  auto one = fn->run(inputs);
  fn->setNumThreads(2);
  auto two = fn->run(inputs);
  ASSERT_TRUE(one.ok() && two.ok());
  ASSERT_EQ(one->size(), two->size());
  for (size_t i = 0; i < one->size(); ++i)
    EXPECT_TRUE(sameBits((*one)[i], (*two)[i])) << "output " << i;
}

// Two threads calling compiled functions at once: one gets the pool, the
// other runs its loops alone; both get the single-threaded bits.
TEST(Parallel, ConcurrentCallersGetTheSameBits) {
  const Case &c = kCases[0];
  Graph g(c.name);
  build(g, c);
  auto a = Function::compile(g), b = Function::compile(g);
  ASSERT_TRUE(a.ok() && b.ok());
  std::vector<HostTensor> inputs = inputsOf(c);
  a->setNumThreads(1);
  auto want = a->run(inputs);
  ASSERT_TRUE(want.ok());
  a->setNumThreads(2);
  b->setNumThreads(2);
  bool sameA = true, sameB = true;
  auto loop = [&](Function &f, bool &same) {
    for (int i = 0; i < 50; ++i) {
      auto r = f.run(inputs);
      same &= r.ok() && sameBits((*r)[0], (*want)[0]);
    }
  };
  std::thread ta(loop, std::ref(*a), std::ref(sameA)), tb(loop, std::ref(*b), std::ref(sameB));
  ta.join();
  tb.join();
  EXPECT_TRUE(sameA);
  EXPECT_TRUE(sameB);
}

} // namespace
