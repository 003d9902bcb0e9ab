//===- IndexErrorsTest.cpp - out-of-range indices are errors, not reads ---===//
#include "TestUtil.h"
#include "kiln_rt.h"

using namespace kiln;

namespace {

Function compileOrDie(Graph &g) {
  auto fn = Function::compile(g);
  EXPECT_TRUE(fn.ok()) << fn.error();
  return std::move(fn).value();
}

HostTensor indices(DType dtype, std::vector<double> values) {
  HostTensor t(dtype, {int64_t(values.size())});
  for (size_t i = 0; i < values.size(); ++i)
    t.set(i, values[i]);
  return t;
}

TEST(IndexErrors, GatherOutOfRangeReturnsAnErrorCode) {
  for (DType idx : {DType::i32, DType::i64}) {
    Graph g;
    Tensor table = g.input("table", {5, 3});
    Tensor ids = g.input("ids", {4}, idx);
    g.output(gather(table, ids), "rows");
    Function fn = compileOrDie(g);
    HostTensor t = test::randomTensor(DType::f32, {5, 3}, -1, 1, 1);
    auto ok = fn.run({t, indices(idx, {0, 4, 2, 4})});
    ASSERT_TRUE(ok.ok()) << ok.error();
    EXPECT_EQ((*ok)[0].data<float>()[3], t.data<float>()[12]); // row 4, column 0
    // The message names the op, its source line and the index.
    std::string site = "nn.gather at " + std::string(__FILE__) + ":";
    for (double bad : {5.0, -1.0, 1e9}) {
      auto r = fn.run({t, indices(idx, {0, bad, 1, 2})});
      ASSERT_FALSE(r.ok());
      EXPECT_NE(r.error().find(site), std::string::npos) << r.error();
      EXPECT_NE(r.error().find("index " + std::to_string(int64_t(bad)) + " is outside [0, 5)"),
                std::string::npos)
          << r.error();
    }
    // The same function still works after an error.
    EXPECT_TRUE(fn.run({t, indices(idx, {1, 1, 1, 1})}).ok());
  }
}

TEST(IndexErrors, EntryReturnsTheCodeAndTheReferenceNamesTheIndex) {
  Graph g;
  Tensor table = g.input("table", {5, 3});
  Tensor ids = g.input("ids", {2}, DType::i64);
  g.output(gather(table, ids), "rows");
  Function fn = compileOrDie(g);
  HostTensor t(DType::f32, {5, 3}), i = indices(DType::i64, {7, 0}), out(DType::f32, {2, 3});
  void *buffers[] = {t.data(), i.data(), out.data()};
  kiln_context ctx;
  kiln_context_init(&ctx);
  HostTensor workspace(DType::f32, {int64_t(fn.workspaceSize() / 4) + 1});
  void *ws = fn.workspaceSize() ? workspace.data() : nullptr;
  EXPECT_EQ(fn.entry()(buffers, &ctx, ws), KILN_ERR_INDEX_RANGE);
  EXPECT_EQ(ctx.status, KILN_ERR_INDEX_RANGE);
  EXPECT_EQ(ctx.error_site, 1);
  EXPECT_EQ(ctx.error_index, 7);
  EXPECT_EQ(ctx.error_bound, 5);
  EXPECT_EQ(fn.entry()(buffers, nullptr, ws), KILN_ERR_INDEX_RANGE);
  auto ref = runReference(g.str(), "g", {t, i});
  ASSERT_FALSE(ref.ok());
  EXPECT_NE(ref.error().find("index 7 is out of range [0, 5)"), std::string::npos) << ref.error();
}

TEST(IndexErrors, CrossEntropyLabelOutOfRange) {
  Graph g;
  Tensor logits = g.input("logits", {3, 4});
  Tensor labels = g.input("labels", {3}, DType::i32);
  g.output(cross_entropy(logits, labels), "loss");
  Function fn = compileOrDie(g);
  HostTensor l = test::randomTensor(DType::f32, {3, 4}, -1, 1, 2);
  EXPECT_TRUE(fn.run({l, indices(DType::i32, {0, 3, 1})}).ok());
  auto r = fn.run({l, indices(DType::i32, {0, 4, 1})});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().find("nn.cross_entropy at "), std::string::npos) << r.error();
  EXPECT_NE(r.error().find("index 4 is outside [0, 4)"), std::string::npos) << r.error();
  auto neg = fn.run({l, indices(DType::i32, {-1, 0, 0})});
  ASSERT_FALSE(neg.ok());
  EXPECT_NE(neg.error().find("index -1 is outside [0, 4)"), std::string::npos) << neg.error();
}

// Two checking ops: the first one in program order that fails is named.
TEST(IndexErrors, TheFirstFailingCheckIsNamed) {
  Graph g;
  Tensor table = g.input("table", {5, 3});
  Tensor a = g.input("a", {2}, DType::i64), b = g.input("b", {2}, DType::i64);
  Tensor first = gather(table, a);
  int secondLine = __LINE__ + 1;
  Tensor second = gather(table, b);
  g.output(first + second, "sum");
  Function fn = compileOrDie(g);
  HostTensor t = test::randomTensor(DType::f32, {5, 3}, -1, 1, 3);
  auto onlySecond = fn.run({t, indices(DType::i64, {0, 1}), indices(DType::i64, {9, 0})});
  ASSERT_FALSE(onlySecond.ok());
  EXPECT_NE(onlySecond.error().find(":" + std::to_string(secondLine) + ":"), std::string::npos)
      << onlySecond.error();
  auto both = fn.run({t, indices(DType::i64, {6, 1}), indices(DType::i64, {9, 0})});
  ASSERT_FALSE(both.ok());
  EXPECT_NE(both.error().find("index 6 is outside [0, 5)"), std::string::npos) << both.error();
}

} // namespace
