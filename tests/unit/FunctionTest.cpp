//===- FunctionTest.cpp - the JIT'd function: calls, checks, parameters ---===//
#include "TestUtil.h"
#include "kiln_rt.h"

#include <cstdio>
#include <filesystem>

using namespace kiln;
using kiln::test::allClose;
using kiln::test::randomTensor;

namespace {

const char *kNeuron = R"(
func.func @main(%x: tensor<4x1xf32> {nn.name = "x"},
                %a: tensor<1x1xf32> {nn.name = "a", nn.param = {init = "values", value = dense<2.0> : tensor<1x1xf32>}},
                %b: tensor<1xf32> {nn.name = "b", nn.param = {init = "values", value = dense<-1.0> : tensor<1xf32>}})
    -> (tensor<4x1xf32> {nn.name = "y"}) {
  %ax = nn.matmul %x, %a : (tensor<4x1xf32>, tensor<1x1xf32>) -> tensor<4x1xf32>
  %z = nn.add %ax, %b : (tensor<4x1xf32>, tensor<1xf32>) -> tensor<4x1xf32>
  %y = nn.sigmoid %z : tensor<4x1xf32>
  return %y : tensor<4x1xf32>
}
)";

TEST(Function, NeuronComputesSigmoidOfAffine) {
  auto fn = Function::compileSource(kNeuron, "neuron.mlir");
  ASSERT_TRUE(fn.ok()) << fn.error();
  HostTensor x = HostTensor::fromVector(std::vector<float>{-1, 0, 0.5, 2}, {4, 1});
  auto y = fn->run({{"x", x}});
  ASSERT_TRUE(y.ok()) << y.error();
  for (int i = 0; i < 4; ++i) {
    double xi = x.data<float>()[i];
    EXPECT_NEAR((*y)[0].data<float>()[i], 1 / (1 + std::exp(-(2 * xi - 1))), 1e-6);
  }
}

TEST(Function, DescribesItsSignature) {
  auto fn = Function::compileSource(kNeuron, "neuron.mlir");
  ASSERT_TRUE(fn.ok()) << fn.error();
  ASSERT_EQ(fn->inputs().size(), 1u);
  EXPECT_EQ(fn->inputs()[0].name, "x");
  EXPECT_EQ(fn->inputs()[0].shape, (Shape{4, 1}));
  ASSERT_EQ(fn->params().size(), 2u);
  EXPECT_EQ(fn->params()[0].name, "a");
  EXPECT_EQ(fn->params()[1].name, "b");
  ASSERT_EQ(fn->outputs().size(), 1u);
  EXPECT_EQ(fn->outputs()[0].name, "y");
}

TEST(Function, DefaultNames) {
  const char *src = R"(
func.func @main(%x: tensor<2xf32>, %w: tensor<2xf32> {nn.param = {init = "ones"}}) -> (tensor<2xf32>, tensor<2xf32>) {
  %0 = nn.mul %x, %w : (tensor<2xf32>, tensor<2xf32>) -> tensor<2xf32>
  return %0, %x : tensor<2xf32>, tensor<2xf32>
})";
  auto fn = Function::compileSource(src, "t.mlir");
  ASSERT_TRUE(fn.ok()) << fn.error();
  EXPECT_EQ(fn->inputs()[0].name, "in0");
  EXPECT_EQ(fn->params()[0].name, "param0");
  EXPECT_EQ(fn->outputs()[0].name, "out0");
  EXPECT_EQ(fn->outputs()[1].name, "out1");
  // Returning an input writes a copy into the caller's output buffer.
  HostTensor x = HostTensor::fromVector(std::vector<float>{3, 4}, {2});
  auto out = fn->run({x});
  ASSERT_TRUE(out.ok()) << out.error();
  EXPECT_EQ((*out)[1].data<float>()[0], 3);
  EXPECT_EQ((*out)[1].data<float>()[1], 4);
}

TEST(Function, InputMismatchesAreErrorsNamingTheInput) {
  auto fn = Function::compileSource(kNeuron, "neuron.mlir");
  ASSERT_TRUE(fn.ok()) << fn.error();
  auto wrongShape = fn->run({{"x", HostTensor(DType::f32, {4, 2})}});
  ASSERT_FALSE(wrongShape.ok());
  EXPECT_EQ(wrongShape.error(), "input \"x\": expected f32[4, 1], given f32[4, 2]");
  auto wrongDtype = fn->run({{"x", HostTensor(DType::f64, {4, 1})}});
  ASSERT_FALSE(wrongDtype.ok());
  EXPECT_EQ(wrongDtype.error(), "input \"x\": expected f32[4, 1], given f64[4, 1]");
  auto unknown = fn->run({{"x", HostTensor(DType::f32, {4, 1})}, {"z", HostTensor()}});
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error(), "unknown input \"z\" (the model's inputs: x)");
  auto missing = fn->run(std::map<std::string, HostTensor>{});
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error(), "missing input \"x\" (f32[4, 1])");
  auto count = fn->run(std::vector<HostTensor>{});
  ASSERT_FALSE(count.ok());
  EXPECT_EQ(count.error(), "expected 1 inputs, given 0");
}

TEST(Function, EntryRejectsNullAndMisalignedBuffers) {
  auto fn = Function::compileSource(kNeuron, "neuron.mlir");
  ASSERT_TRUE(fn.ok()) << fn.error();
  HostTensor x(DType::f32, {4, 1}), a(DType::f32, {1, 1}), b(DType::f32, {1}),
      y(DType::f32, {4, 1});
  void *buffers[] = {x.data(), a.data(), b.data(), y.data()};
  kiln_context ctx;
  kiln_context_init(&ctx);
  HostTensor workspace(DType::f32, {int64_t(fn->workspaceSize() / 4) + 1});
  void *ws = fn->workspaceSize() ? workspace.data() : nullptr;
  EXPECT_EQ(fn->entry()(buffers, &ctx, ws), KILN_OK);
  buffers[2] = nullptr;
  EXPECT_EQ(fn->entry()(buffers, &ctx, ws), KILN_ERR_NULL_BUFFER);
  buffers[2] = static_cast<char *>(b.data()) + 4;
  EXPECT_EQ(fn->entry()(buffers, &ctx, ws), KILN_ERR_MISALIGNED);
}

TEST(Function, ParametersAreOwnedReadableAndWritable) {
  auto fn = Function::compileSource(kNeuron, "neuron.mlir");
  ASSERT_TRUE(fn.ok()) << fn.error();
  auto a = fn->param("a");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->data<float>()[0], 2.0f);
  ASSERT_TRUE(fn->setParam("a", HostTensor::fromVector(std::vector<float>{0}, {1, 1})).ok());
  ASSERT_TRUE(fn->setParam("b", HostTensor::fromVector(std::vector<float>{0}, {1})).ok());
  auto y = fn->run({HostTensor::fromVector(std::vector<float>{5, 6, 7, 8}, {4, 1})});
  ASSERT_TRUE(y.ok());
  for (int i = 0; i < 4; ++i)
    EXPECT_FLOAT_EQ((*y)[0].data<float>()[i], 0.5f); // sigmoid(0)
  EXPECT_FALSE(fn->setParam("a", HostTensor(DType::f32, {2, 2})).ok());
  EXPECT_FALSE(fn->param("nope").ok());

  std::string path = ::testing::TempDir() + "/kiln_param_b.npy";
  ASSERT_TRUE(HostTensor::fromVector(std::vector<float>{-3}, {1}).saveNpy(path).ok());
  ASSERT_TRUE(fn->loadParam("b", path).ok());
  EXPECT_EQ(fn->param("b")->data<float>()[0], -3.0f);
  std::remove(path.c_str());
}

TEST(Function, RandomInitializersAreDeterministic) {
  const char *src = R"(
func.func @main(%x: tensor<8x16xf32> {nn.name = "x"},
                %w: tensor<16x32xf32> {nn.name = "w", nn.param = {init = "normal", mean = 0.0, std = 0.5, seed = 42}},
                %c: tensor<32xf32> {nn.name = "c", nn.param = {init = "uniform", low = -0.1, high = 0.1, seed = 3}})
    -> (tensor<8x32xf32> {nn.name = "y"}) {
  %0 = nn.matmul %x, %w : (tensor<8x16xf32>, tensor<16x32xf32>) -> tensor<8x32xf32>
  %1 = nn.add %0, %c : (tensor<8x32xf32>, tensor<32xf32>) -> tensor<8x32xf32>
  %2 = nn.relu %1 : tensor<8x32xf32>
  return %2 : tensor<8x32xf32>
})";
  auto f1 = Function::compileSource(src, "t.mlir");
  auto f2 = Function::compileSource(src, "t.mlir");
  ASSERT_TRUE(f1.ok() && f2.ok());
  HostTensor w1 = *f1->param("w"), w2 = *f2->param("w");
  double sum = 0;
  for (int64_t i = 0; i < w1.size(); ++i) {
    EXPECT_EQ(w1.data<float>()[i], w2.data<float>()[i]);
    sum += w1.data<float>()[i];
  }
  EXPECT_NE(sum, 0.0);
  HostTensor c = *f1->param("c");
  for (int64_t i = 0; i < c.size(); ++i) {
    EXPECT_GE(c.data<float>()[i], -0.1f);
    EXPECT_LT(c.data<float>()[i], 0.1f);
  }
  // The reference interpreter starts from the same parameter values.
  HostTensor x = randomTensor(DType::f32, {8, 16}, -1, 1, 9);
  auto got = f1->run({x});
  auto want = runReference(src, "t.mlir", {x});
  ASSERT_TRUE(got.ok() && want.ok());
  EXPECT_TRUE(allClose((*got)[0], (*want)[0], 2e-5, 1e-6));
}

TEST(Function, ParseErrorsNameFileLineAndColumn) {
  auto fn = Function::compileSource("func.func @main(%x: tensor<2xf32>) -> tensor<2xf32> {\n"
                                    "  %0 = nn.frobnicate %x : tensor<2xf32>\n"
                                    "  return %0 : tensor<2xf32>\n}\n",
                                    "bad.mlir");
  ASSERT_FALSE(fn.ok());
  EXPECT_NE(fn.error().find("bad.mlir:2:8: error:"), std::string::npos) << fn.error();
  EXPECT_NE(fn.error().find("nn.frobnicate"), std::string::npos) << fn.error();
}

TEST(Function, UnknownTargetCpuIsAnError) {
  CompileOptions options;
  options.targetCpu = "pentium-9000";
  auto fn = Function::compileSource(kNeuron, "neuron.mlir", options);
  ASSERT_FALSE(fn.ok());
  EXPECT_NE(fn.error().find("unknown target CPU 'pentium-9000'"), std::string::npos) << fn.error();
}

TEST(Function, DumpDirHoldsOneNumberedFilePerPass) {
  std::string dir = ::testing::TempDir() + "/kiln_dump_test";
  std::filesystem::remove_all(dir);
  CompileOptions options;
  options.dumpDir = dir;
  auto fn = Function::compileSource(kNeuron, "neuron.mlir", options);
  ASSERT_TRUE(fn.ok()) << fn.error();
  std::vector<std::string> files;
  for (auto &entry : std::filesystem::directory_iterator(dir))
    files.push_back(entry.path().filename().string());
  std::sort(files.begin(), files.end());
  ASSERT_GT(files.size(), 10u);
  EXPECT_EQ(files.front().substr(0, 6), "01-nn-");
  EXPECT_NE(std::find_if(files.begin(), files.end(),
                         [](const std::string &f) {
                           return f.find("-linalg-kiln-lower-nn-to-linalg.mlir") != std::string::npos;
                         }),
            files.end());
  EXPECT_NE(files.back().find("-llvm-kiln-emit-entry.mlir"), std::string::npos) << files.back();
  std::filesystem::remove_all(dir);
}

} // namespace

namespace {
// A path that is no regular file is an error before anything is read.
TEST(Function, CompileFileRefusesDirectoriesAndDevices) {
  auto dir = Function::compileFile(std::filesystem::temp_directory_path().string());
  ASSERT_FALSE(dir.ok());
  EXPECT_NE(dir.error().find("not a regular file"), std::string::npos) << dir.error();
  auto device = Function::compileFile("/dev/zero");
  ASSERT_FALSE(device.ok());
  EXPECT_NE(device.error().find("/dev/zero: not a regular file"), std::string::npos) << device.error();
}
} // namespace
