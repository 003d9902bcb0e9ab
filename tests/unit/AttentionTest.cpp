//===- AttentionTest.cpp - nn.attention beyond the op table --------------===//
//
// OpCases.h checks nn.attention forward against the reference interpreter
// and backward against finite differences. Here: nn.attention_backward,
// which only gradient rules emit, lowered (composite and flash) against the
// reference interpreter's own definition of it; and what `causal` means
// with Lq != Lk, against a mask written out by hand.
//
//===----------------------------------------------------------------------===//
#include "TestUtil.h"

#include <sstream>

using namespace kiln;
using namespace kiln::test;

namespace {

std::string tensorType(const Shape &shape, const char *element) {
  std::ostringstream os;
  os << "tensor<";
  for (int64_t d : shape)
    os << d << "x";
  os << element << ">";
  return os.str();
}

struct BackwardCase {
  std::string name;
  Shape q, k, v;
  bool causal = false;
  Shape mask = {}; // empty: none
  /// The forward computed with a zero bias, so that the backward is not
  /// paired with it and recomputes the log-sum-exps itself.
  bool unpaired = false;
};

class AttentionBackward : public ::testing::TestWithParam<std::tuple<BackwardCase, DType>> {};

// The lowering of nn.attention_backward (the composite for small scores,
// flash attention's backward pass from 4096 scores per batch, with the
// forward's log-sum-exps or, unpaired, its own) gives the reference
// interpreter's dq, dk and dv.
TEST_P(AttentionBackward, MatchesReference) {
  auto [c, dtype] = GetParam();
  const char *element = dtype == DType::f64 ? "f64" : "f32";
  Shape out = c.q;
  out.back() = c.v.back();
  std::string q = tensorType(c.q, element), k = tensorType(c.k, element), v = tensorType(c.v, element),
              o = tensorType(out, element), m = c.mask.empty() ? "" : tensorType(c.mask, "i1");
  std::ostringstream src;
  std::string operands = "%q, %k, %v" + std::string(m.empty() ? "" : " mask %m");
  std::string types = q + ", " + k + ", " + v + (m.empty() ? "" : ", " + m);
  std::string attrs = c.causal ? " {causal}" : "";
  // The backward pass reads the forward's result (D = rowsum(g out)), so
  // the function computes it first.
  src << "func.func @main(%q: " << q << " {nn.name = \"q\"}, %k: " << k << " {nn.name = \"k\"}, %v: " << v
      << " {nn.name = \"v\"}" << (m.empty() ? "" : ", %m: " + m + " {nn.name = \"m\"}") << ", %g: " << o
      << " {nn.name = \"g\"}) -> (" << q << ", " << k << ", " << v << ") {\n"
      << (c.unpaired ? "  %zero = nn.constant dense<0.0> : tensor<" + std::string(element) + ">\n" : "")
      << "  %o = nn.attention " << operands << (c.unpaired ? " bias %zero" : "") << attrs << " : (" << types
      << (c.unpaired ? ", tensor<" + std::string(element) + ">" : "") << ") -> " << o << "\n"
      << "  %dq, %dk, %dv = nn.attention_backward " << operands << ", %o, %g" << attrs << " : (" << types << ", "
      << o << ", " << o << ") -> (" << q << ", " << k << ", " << v << ")\n"
      << "  return %dq, %dk, %dv : " << q << ", " << k << ", " << v << "\n}\n";
  std::vector<HostTensor> inputs = {randomTensor(dtype, c.q, -2, 2, 1), randomTensor(dtype, c.k, -2, 2, 2),
                                    randomTensor(dtype, c.v, -2, 2, 3)};
  if (!c.mask.empty()) {
    HostTensor mask(DType::boolean, c.mask);
    std::mt19937 rng(4);
    for (int64_t i = 0; i < mask.size(); ++i)
      mask.set(i, rng() % 4 != 0);
    inputs.push_back(mask);
  }
  inputs.push_back(randomTensor(dtype, out, -1, 1, 6));

  auto want = runReference(src.str(), c.name, inputs);
  ASSERT_TRUE(want.ok()) << want.error() << "\n" << src.str();
  auto fn = Function::compileSource(src.str(), c.name);
  ASSERT_TRUE(fn.ok()) << fn.error();
  auto got = fn->run(inputs);
  ASSERT_TRUE(got.ok()) << got.error();
  double tol = dtype == DType::f64 ? 1e-10 : 2e-4;
  for (int r = 0; r < 3; ++r)
    EXPECT_TRUE(allClose((*got)[r], (*want)[r], tol, tol)) << "d" << "qkv"[r] << " of " << c.name;
}

INSTANTIATE_TEST_SUITE_P(
    Attention, AttentionBackward,
    ::testing::Combine(
        ::testing::Values(BackwardCase{"small", {2, 5, 6}, {2, 7, 6}, {2, 7, 3}},
                          BackwardCase{"small_causal_masked", {1, 2, 5, 4}, {1, 2, 3, 4}, {1, 2, 3, 5}, true, {5, 3}},
                          BackwardCase{"flash_causal", {2, 67, 12}, {2, 71, 12}, {2, 71, 5}, true},
                          BackwardCase{"flash_causal_unpaired", {2, 67, 12}, {2, 71, 12}, {2, 71, 5}, true, {}, true},
                          BackwardCase{"flash_rows_without_keys", {1, 100, 4}, {1, 50, 4}, {1, 50, 6}, true},
                          BackwardCase{"flash_masked", {1, 2, 70, 9}, {1, 2, 131, 9}, {1, 2, 131, 17}, false, {70, 131}},
                          BackwardCase{"flash_one_query", {2, 1, 7}, {2, 4099, 7}, {2, 4099, 3}, true}),
        ::testing::Values(DType::f32, DType::f64)),
    [](const auto &info) {
      return std::get<0>(info.param).name + (std::get<1>(info.param) == DType::f64 ? "_f64" : "_f32");
    });

// `causal` aligns the diagonal at the end: with Lq = 3 queries and Lk = 5
// keys, query i sees keys 0..i+2 (PyTorch's is_causal would give 0..i).
// The same as a mask written out by hand, for the composite and for flash.
TEST(AttentionTest, CausalIsAlignedAtTheEnd) {
  for (int64_t lq : {3, 60}) {
    int64_t lk = lq + 2 + (lq > 3 ? 60 : 0); // 60 x 122 reaches flash attention
    Graph g;
    Tensor q = g.input("q", {2, lq, 8}, DType::f64), k = g.input("k", {2, lk, 8}, DType::f64),
           v = g.input("v", {2, lk, 3}, DType::f64), m = g.input("m", {lq, lk}, DType::boolean);
    AttentionOptions causal, masked;
    causal.causal = true;
    masked.mask = m;
    g.output(attention(q, k, v, causal), "causal");
    g.output(attention(q, k, v, masked), "masked");
    auto fn = Function::compile(g);
    ASSERT_TRUE(fn.ok()) << fn.error();
    HostTensor mask(DType::boolean, {lq, lk});
    for (int64_t i = 0; i < lq; ++i)
      for (int64_t j = 0; j < lk; ++j)
        mask.set(i * lk + j, j <= i + (lk - lq));
    auto out = fn->run({randomTensor(DType::f64, {2, lq, 8}, -2, 2, 1), randomTensor(DType::f64, {2, lk, 8}, -2, 2, 2),
                        randomTensor(DType::f64, {2, lk, 3}, -2, 2, 3), mask});
    ASSERT_TRUE(out.ok()) << out.error();
    EXPECT_TRUE(allClose((*out)[0], (*out)[1], 1e-12, 1e-12)) << "Lq = " << lq;
  }
}

} // namespace

namespace {

/// x [2, L, 16] -> q, k, v by three projections -> causal attention; with
/// `loss`, the mean squared error against a target.
void projectedAttention(Graph &g, int64_t l, bool loss) {
  Tensor x = g.input("x", {2, l, 16});
  Tensor wq = g.param("wq", {16, 16}, normalInit(0, 0.1, 1)), wk = g.param("wk", {16, 16}, normalInit(0, 0.1, 2)),
         wv = g.param("wv", {16, 16}, normalInit(0, 0.1, 3));
  AttentionOptions causal;
  causal.causal = true;
  Tensor o = attention(matmul(x, wq), matmul(x, wk), matmul(x, wv), causal);
  if (loss)
    g.output(mse_loss(o, g.input("target", {2, l, 16})), "loss");
  else
    g.output(o, "o");
}

/// The bytes one call needs on `threads` threads: the workspace and each
/// thread's scratch.
size_t bytesNeeded(const Function &f, size_t threads) { return f.workspaceSize() + threads * f.scratchSize(); }

// No [L, L] buffer anywhere: what a call of the forward pass, and of a
// training step, needs grows linearly in L (4096 -> 8192: at most 2.1x;
// an L x L buffer would make it 4x), and at L = 8192 it is a small part of
// one [L, L] f32 matrix (256 MiB).
TEST(AttentionTest, MemoryGrowsLinearlyInLength) {
  for (bool training : {false, true}) {
    size_t bytes[2];
    for (int i = 0; i < 2; ++i) {
      int64_t l = i == 0 ? 4096 : 8192;
      Graph g;
      projectedAttention(g, l, training);
      auto fn = training ? train_step(g, "loss", {}, Optimizer::adamw()) : Function::compile(g);
      ASSERT_TRUE(fn.ok()) << fn.error();
      bytes[i] = bytesNeeded(*fn, 8);
    }
    SCOPED_TRACE(training ? "training step" : "forward");
    EXPECT_LE(double(bytes[1]), 2.1 * double(bytes[0])) << bytes[0] << " -> " << bytes[1] << " bytes";
    EXPECT_LT(bytes[1], size_t(8192) * 8192 * 4 / 8);
  }
}

} // namespace
