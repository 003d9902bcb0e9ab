// kiln::reportHtml on a model built with the C++ API: the page shows this
// very file as the source, links the IR to the builder's lines, and runs
// the model on the inputs given (profile, attention maps). The command
// line's page is checked by tests/report (structure and a real browser).
#include "kiln/kiln.h"

#include "llvm/Support/JSON.h"

#include <gtest/gtest.h>

using namespace kiln;

namespace {

/// The page's data, as its script reads it.
llvm::json::Object pageData(const std::string &html) {
  std::string open = "<script type=\"application/json\" id=\"k-data\">";
  size_t start = html.find(open);
  size_t end = html.find("</script>", start);
  EXPECT_NE(start, std::string::npos);
  auto parsed = llvm::json::parse(html.substr(start + open.size(), end - start - open.size()));
  EXPECT_TRUE(bool(parsed)) << llvm::toString(parsed.takeError());
  return parsed && parsed->getAsObject() ? *parsed->getAsObject() : llvm::json::Object{};
}

TEST(Report, GraphBuiltInCppLinksItsOwnSourceLines) {
  Graph g("tiny_attention");
  Tensor x = g.input("x", {2, 3, 7, 4});
  Tensor w = g.param("w", {4, 4}, normalInit(0, 0.5, 3));
  AttentionOptions causal;
  causal.causal = true;
  int attentionLine = __LINE__ + 1;
  Tensor y = attention(matmul(x, w), x, x, causal);
  g.output(y, "y");

  ReportOptions options;
  options.inputs.emplace("x", HostTensor(DType::f32, {2, 3, 7, 4}));
  for (int64_t i = 0; i < 2 * 3 * 7 * 4; ++i)
    options.inputs.at("x").set(i, double((i * 37) % 19) / 10.0 - 0.9);
  options.profileRuns = 2;
  options.sourceDirs = {KILN_SOURCE_DIR}; // __FILE__ may be relative to the build directory
  auto html = reportHtml(g, options);
  ASSERT_TRUE(html.ok()) << html.error();
  llvm::json::Object data = pageData(*html);

  // This file is a source, with its text; the attention op's line is linked
  // from the nn phase.
  const llvm::json::Array *sources = data.getArray("sources");
  ASSERT_TRUE(sources);
  int self = -1;
  for (size_t i = 0; i < sources->size(); ++i)
    if ((*sources)[i].getAsObject()->getString("path")->ends_with("ReportTest.cpp"))
      self = int(i);
  ASSERT_GE(self, 0) << "this file is not among the page's sources";
  const llvm::json::Array *lines = (*sources)[self].getAsObject()->getArray("lines");
  ASSERT_TRUE(lines && int(lines->size()) >= attentionLine);
  EXPECT_NE((*lines)[attentionLine - 1].getAsString()->find("attention(matmul(x, w)"), llvm::StringRef::npos);
  const llvm::json::Object *nn = (*data.getArray("phases"))[0].getAsObject();
  EXPECT_EQ(*nn->getString("name"), "nn");
  bool linked = false;
  for (const llvm::json::Value &entry : *nn->getArray("map"))
    for (const llvm::json::Value &ref : *(*entry.getAsArray())[1].getAsArray())
      linked |= (*ref.getAsArray())[0].getAsInteger() == self && (*ref.getAsArray())[1].getAsInteger() == attentionLine;
  EXPECT_TRUE(linked) << "no nn op is linked to line " << attentionLine;

  // Run on the inputs: 2 profiled calls, the mean map and 3 heads' maps of
  // 7 x 7, causal (nothing above the diagonal), each row summing to 1.
  const llvm::json::Object *profile = data.getObject("profile");
  ASSERT_TRUE(profile);
  EXPECT_EQ(*profile->getInteger("calls"), 2);
  const llvm::json::Array *maps = data.getArray("attention");
  ASSERT_TRUE(maps);
  ASSERT_EQ(maps->size(), 4u);
  for (const llvm::json::Value &m : *maps) {
    const llvm::json::Object &map = *m.getAsObject();
    ASSERT_EQ(*map.getInteger("rows"), 7);
    const llvm::json::Array &w = *map.getArray("weights");
    for (int i = 0; i < 7; ++i) {
      double sum = 0;
      for (int j = 0; j < 7; ++j) {
        double v = *w[i * 7 + j].getAsNumber();
        sum += v;
        if (j > i)
          EXPECT_EQ(v, 0) << "causal map has weight above the diagonal at " << i << "," << j;
      }
      EXPECT_NEAR(sum, 1.0, 1e-3);
    }
  }
}

TEST(Report, BadGraphIsAnErrorNotAPage) {
  Graph g("bad");
  Tensor a = g.input("a", {2, 3});
  Tensor b = g.input("b", {4, 5});
  g.output(matmul(a, b), "y");
  auto html = reportHtml(g);
  ASSERT_FALSE(html.ok());
  EXPECT_NE(html.error().find("ReportTest.cpp"), std::string::npos) << html.error();
}

} // namespace
