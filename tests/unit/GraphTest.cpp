//===- GraphTest.cpp - the C++ graph builder and its error reporting ------===//
#include "TestUtil.h"

using namespace kiln;

namespace {

TEST(Graph, ShapeErrorFromOperatorNamesTheCallersLine) {
  Graph g;
  Tensor a = g.input("a", {2, 3});
  Tensor b = g.input("b", {4});
  int line = __LINE__ + 1;
  Tensor c = a + b;
  EXPECT_FALSE(c.valid());
  ASSERT_FALSE(g.status().ok());
  std::string expected = "GraphTest.cpp:" + std::to_string(line) + ":";
  EXPECT_NE(g.status().error().find(expected), std::string::npos) << g.status().error();
  EXPECT_NE(g.status().error().find("shapes 2x3xf32 and 4xf32 do not broadcast"), std::string::npos)
      << g.status().error();
}

TEST(Graph, ErrorFromFreeFunctionNamesTheCallersLine) {
  Graph g;
  Tensor a = g.input("a", {2, 3});
  Tensor b = g.input("b", {4, 5});
  int line = __LINE__ + 1;
  Tensor c = matmul(a, b);
  EXPECT_FALSE(c.valid());
  EXPECT_NE(g.status().error().find("GraphTest.cpp:" + std::to_string(line) + ":"),
            std::string::npos)
      << g.status().error();
  EXPECT_NE(g.status().error().find("contraction sizes differ"), std::string::npos);
}

TEST(Graph, TheFirstErrorIsKeptAndInvalidTensorsPropagate) {
  Graph g;
  Tensor a = g.input("a", {3});
  Tensor bad = reduce_sum(a, {5});
  Tensor worse = relu(bad) + 1.0;
  g.output(worse, "y");
  EXPECT_FALSE(worse.valid());
  EXPECT_NE(g.status().error().find("axis 5 is out of range for rank 1"), std::string::npos)
      << g.status().error();
  auto fn = Function::compile(g);
  ASSERT_FALSE(fn.ok());
  EXPECT_NE(fn.error().find("axis 5 is out of range"), std::string::npos);
}

TEST(Graph, VerifierErrorsAreReportedNotAsserted) {
  Graph g;
  Tensor i = g.input("i", {3}, DType::i32);
  Tensor e = exp(i); // exp needs floats: the op verifier's message
  EXPECT_FALSE(e.valid());
  EXPECT_NE(g.status().error().find("must be statically shaped tensor of 32-bit float"),
            std::string::npos)
      << g.status().error();
}

TEST(Graph, NamesAreUniqueAndFitForFilesAndFlags) {
  Graph g;
  g.input("x", {1});
  g.input("x", {1});
  EXPECT_NE(g.status().error().find("\"x\" is already used"), std::string::npos);
  for (const char *bad : {"", "a=b", "dir/x", "tab\there"}) {
    Graph h;
    h.input(bad, {1});
    EXPECT_NE(h.status().error().find("not a tensor name"), std::string::npos) << bad << ": " << h.status().error();
  }
  Graph ok; // PyTorch's and ONNX's names are names
  ok.input("blocks.0.attn.weight", {1});
  ok.input("onnx::MatMul_123", {1});
  EXPECT_TRUE(ok.status().ok()) << ok.status().error();
}

TEST(Graph, PrintsReadableIR) {
  Graph g("neuron");
  Tensor x = g.input("x", {4, 1});
  Tensor a = g.param("a", {1, 1}, normalInit(0, 1, 7));
  g.output(sigmoid(matmul(x, a)), "y");
  std::string ir = g.str();
  EXPECT_NE(ir.find("func.func @neuron"), std::string::npos) << ir;
  EXPECT_NE(ir.find("nn.name = \"x\""), std::string::npos) << ir;
  EXPECT_NE(ir.find("nn.param = {init = \"normal\""), std::string::npos) << ir;
  EXPECT_NE(ir.find("nn.matmul"), std::string::npos) << ir;
  EXPECT_NE(ir.find("nn.sigmoid"), std::string::npos) << ir;
  EXPECT_NE(ir.find("{nn.name = \"y\"}"), std::string::npos) << ir;
}

TEST(Graph, OperatorsAndScalars) {
  Graph g;
  Tensor x = g.input("x", {5});
  g.output(-(x * 3.0 - 1.0) / 2.0 + x, "y");
  ASSERT_TRUE(g.status().ok()) << g.status().error();
  auto fn = Function::compile(g);
  ASSERT_TRUE(fn.ok()) << fn.error();
  HostTensor in = HostTensor::fromVector(std::vector<float>{1, 2, 3, 4, 5}, {5});
  auto out = fn->run({in});
  ASSERT_TRUE(out.ok()) << out.error();
  for (int i = 0; i < 5; ++i) {
    float v = float(i + 1);
    EXPECT_FLOAT_EQ((*out)[0].data<float>()[i], -(v * 3 - 1) / 2 + v);
  }
}

} // namespace
