//===- AttentionTest.cpp - nn.attention beyond the op table --------------===//
//
// OpCases.h checks nn.attention forward against the reference interpreter
// and backward against finite differences. Here: nn.attention_backward,
// which only gradient rules emit, lowered (composite and flash) against the
// reference interpreter's own definition of it; what `causal` means with
// Lq != Lk, against a mask written out by hand; and that each form of
// spelled-out attention that kiln-recognize-attention rewrites computes
// what it computed before.
//
//===----------------------------------------------------------------------===//
#include "TestUtil.h"

#include <sstream>

using namespace kiln;
using namespace kiln::test;

namespace {


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
  std::string q = tensorTypeText(c.q, element), k = tensorTypeText(c.k, element), v = tensorTypeText(c.v, element),
              o = tensorTypeText(out, element), m = c.mask.empty() ? "" : tensorTypeText(c.mask, "i1");
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

/// A spelled-out attention that kiln-recognize-attention rewrites: its body
/// (MLIR, with %q, %k, %v and %m or %b as arguments, returning %o) and
/// shapes. {T} in the body is the element type.
struct SpelledOut {
  std::string name;
  Shape q, k, v, extra; // extra: the mask's (i1) or bias's shape, or none
  bool extraIsMask = true;
  std::string body;
};

void PrintTo(const SpelledOut &c, std::ostream *os) { *os << c.name; }

std::string replaceAll(std::string text, const std::string &from, const std::string &to) {
  for (size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size()))
    text.replace(at, from.size(), to);
  return text;
}

class RecognizedAttention : public ::testing::TestWithParam<std::tuple<SpelledOut, DType>> {};

// What the compiled function computes (the composite rewritten to
// nn.attention, flash attention where the scores are big enough) is what
// the reference interpreter computes from the composite as written.
TEST_P(RecognizedAttention, ComputesTheComposite) {
  auto [c, dtype] = GetParam();
  const char *element = dtype == DType::f64 ? "f64" : "f32";
  Shape out = c.q;
  out.back() = c.v.back();
  std::ostringstream src;
  src << "func.func @main(%q: " << tensorTypeText(c.q, element) << " {nn.name = \"q\"}, %k: " << tensorTypeText(c.k, element)
      << " {nn.name = \"k\"}, %v: " << tensorTypeText(c.v, element) << " {nn.name = \"v\"}";
  if (!c.extra.empty())
    src << (c.extraIsMask ? ", %m: " + tensorTypeText(c.extra, "i1") + " {nn.name = \"m\"}"
                          : ", %b: " + tensorTypeText(c.extra, element) + " {nn.name = \"b\"}");
  src << ") -> " << tensorTypeText(out, element) << " {\n"
      << replaceAll(c.body, "{T}", element) << "  return %o : " << tensorTypeText(out, element) << "\n}\n";
  std::vector<HostTensor> inputs = {randomTensor(dtype, c.q, -2, 2, 1), randomTensor(dtype, c.k, -2, 2, 2),
                                    randomTensor(dtype, c.v, -2, 2, 3)};
  if (!c.extra.empty() && c.extraIsMask) {
    // About a quarter masked; every row keeps its first key, except the
    // last row, which is fully masked where the fill is finite.
    HostTensor mask(DType::boolean, c.extra);
    std::mt19937 rng(4);
    int64_t cols = c.extra.back(), rows = mask.size() / cols;
    bool finite = c.body.find("0xFF800000") == std::string::npos;
    for (int64_t i = 0; i < mask.size(); ++i)
      mask.set(i, i % cols == 0 ? !(finite && i / cols == rows - 1) : rng() % 4 != 0);
    inputs.push_back(mask);
  } else if (!c.extra.empty()) {
    inputs.push_back(randomTensor(dtype, c.extra, -3, 3, 5));
  }
  expectMatchesReference(src.str(), c.name, inputs, dtype == DType::f64 ? 1e-10 : 2e-4, {"the attention"});
}

// Scores per batch from 4096 up run as flash attention, below as the
// composite again; both sizes for each form.
std::vector<SpelledOut> spelledOutCases() {
  std::vector<SpelledOut> cases;
  for (int64_t l : {9, 67}) {
    std::string n = std::to_string(l), ln = n + "x" + n, tag = l < 64 ? "_small" : "_flash";
    std::string s = "tensor<2x3x" + ln + "x{T}>", qkv = "tensor<2x3x" + n + "x8x{T}>";
    std::string scores = "  %s = nn.matmul %q, %k {transpose_b} : (" + qkv + ", " + qkv + ") -> " + s + "\n";
    std::string product = "  %p = nn.softmax %x axis -1 : " + s + "\n  %o = nn.matmul %p, %v : (" + s + ", " +
                          qkv + ") -> " + qkv + "\n";
    Shape q = {2, 3, l, 8};
    cases.push_back({"causal_select" + tag, q, q, q, {}, true,
                     "  %i = nn.iota axis 0 : tensor<" + ln + "xi64>\n  %j = nn.iota axis 1 : tensor<" + ln +
                         "xi64>\n  %c = nn.ge %i, %j : (tensor<" + ln + "xi64>, tensor<" + ln + "xi64>) -> tensor<" +
                         ln + "xi1>\n" + scores + "  %h = nn.constant dense<0.35> : tensor<{T}>\n" +
                         "  %y = nn.mul %s, %h : (" + s + ", tensor<{T}>) -> " + s + "\n" +
                         "  %f = nn.constant dense<-1.0e9> : tensor<{T}>\n  %x = nn.select %c, %y, %f : (tensor<" +
                         ln + "xi1>, " + s + ", tensor<{T}>) -> " + s + "\n" + product});
    for (const char *fill : {"-1.0e9", "0xFF800000"})
      cases.push_back({std::string(fill[0] == '-' ? "mask_finite_fill" : "mask_inf") + tag, q, q, q, {l, l}, true,
                       scores + "  %f = nn.constant dense<" + fill + "> : tensor<{T}>\n  %x = nn.select %m, %s, %f : (tensor<" +
                           ln + "xi1>, " + s + ", tensor<{T}>) -> " + s + "\n" + product});
    cases.push_back({"bias_scaled_after" + tag, q, q, q, {1, l}, false,
                     scores + "  %y = nn.add %b, %s : (tensor<1x" + n + "x{T}>, " + s + ") -> " + s + "\n" +
                         "  %h = nn.constant dense<0.3> : tensor<{T}>\n  %x = nn.div %y, %h : (" + s +
                         ", tensor<{T}>) -> " + s + "\n" + product});
    std::string kt = "tensor<2x3x8x" + n + "x{T}>";
    cases.push_back({"scale_on_q_transposed_k" + tag, q, q, q, {}, true,
                     "  %h = nn.constant dense<0.2> : tensor<{T}>\n  %a = nn.mul %q, %h : (" + qkv +
                         ", tensor<{T}>) -> " + qkv + "\n  %t = nn.transpose %k perm [0, 1, 3, 2] : " + qkv + " -> " +
                         kt + "\n  %x = nn.matmul %a, %t : (" + qkv + ", " + kt + ") -> " + s + "\n" + product});
  }
  return cases;
}

INSTANTIATE_TEST_SUITE_P(Attention, RecognizedAttention,
                         ::testing::Combine(::testing::ValuesIn(spelledOutCases()),
                                            ::testing::Values(DType::f32, DType::f64)),
                         [](const auto &info) {
                           return std::get<0>(info.param).name +
                                  (std::get<1>(info.param) == DType::f64 ? "_f64" : "_f32");
                         });

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
