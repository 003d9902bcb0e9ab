//===- ProfileTest.cpp - the per-kernel profile (--profile) ---------------===//
//
// A profiled function computes the same bits as an unprofiled one, counts
// every call on every kernel, attributes its time to kernels whose work is
// counted exactly (a matmul's 2 x M x N x K multiply-adds plus its
// epilogue), and says clearly when it was compiled without profiling.
//
//===----------------------------------------------------------------------===//
#include "TestUtil.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <unistd.h>

using namespace kiln;
using kiln::test::randomTensor;

namespace {

/// y = softmax(relu(x w + b)) over 37 x 53 x 29 (primes: every tile edge partial).
void mlpLayer(Graph &g) {
  Tensor x = g.input("x", {37, 53});
  Tensor w = g.param("w", {53, 29}, normalInit(0, 0.1, 1));
  Tensor b = g.param("b", {29}, normalInit(0, 0.1, 2));
  g.output(softmax(relu(matmul(x, w) + b), -1), "y");
}

TEST(Profile, CountsEveryCallAndTheMatmulsWork) {
  CompileOptions options;
  options.profile = true;
  Graph g("layer");
  mlpLayer(g);
  auto fn = Function::compile(g, options);
  ASSERT_TRUE(fn.ok()) << fn.error();
  HostTensor x = randomTensor(DType::f32, {37, 53}, -1, 1, 3);
  for (int i = 0; i < 3; ++i)
    ASSERT_TRUE(fn->run({x}).ok());
  auto profile = fn->profile();
  ASSERT_TRUE(profile.ok()) << profile.error();
  EXPECT_EQ(profile->calls, 3);
  ASSERT_FALSE(profile->kernels.empty());
  double inKernels = 0;
  const KernelProfile *matmul = nullptr;
  for (const KernelProfile &k : profile->kernels) {
    EXPECT_EQ(k.calls, 3) << k.ops;
    EXPECT_GE(k.seconds, 0) << k.ops;
    EXPECT_GT(k.bytes, 0) << k.ops;
    inKernels += k.seconds;
    if (k.kind.rfind("matmul", 0) == 0)
      matmul = &k;
  }
  EXPECT_LE(inKernels, profile->seconds * 1.0001);
  EXPECT_GE(profile->unattributedSeconds(), 0);
  ASSERT_NE(matmul, nullptr);
  EXPECT_NE(matmul->ops.find("nn.matmul at"), std::string::npos) << matmul->ops;
  EXPECT_NE(matmul->ops.find("nn.relu at"), std::string::npos) << matmul->ops; // its epilogue
  // 2 M N K multiply-adds, then the bias add (the ReLU is a max, no FLOP).
  EXPECT_EQ(matmul->flops, 2 * 37 * 29 * 53 + 37 * 29);

  std::string table = profile->table(1);
  EXPECT_NE(table.find("3 calls"), std::string::npos) << table;
  EXPECT_NE(table.find("GFLOP/s"), std::string::npos) << table;
  EXPECT_NE(table.find("unattributed"), std::string::npos) << table;
  std::string json = profile->json(1);
  EXPECT_NE(json.find("\"calls\": 3"), std::string::npos) << json;
  EXPECT_NE(json.find("\"flops\": " + std::to_string(2 * 37 * 29 * 53 + 37 * 29)), std::string::npos) << json;

  fn->resetProfile();
  auto cleared = fn->profile();
  ASSERT_TRUE(cleared.ok());
  EXPECT_EQ(cleared->calls, 0);
  for (const KernelProfile &k : cleared->kernels)
    EXPECT_EQ(k.calls, 0);
}

TEST(Profile, ProfiledCodeComputesTheSameBits) {
  CompileOptions profiled;
  profiled.profile = true;
  Graph g("layer");
  mlpLayer(g);
  auto plain = Function::compile(g);
  auto timed = Function::compile(g, profiled);
  ASSERT_TRUE(plain.ok() && timed.ok());
  HostTensor x = randomTensor(DType::f32, {37, 53}, -1, 1, 4);
  auto a = plain->run({x});
  auto b = timed->run({x});
  ASSERT_TRUE(a.ok() && b.ok());
  ASSERT_EQ((*a)[0].size(), (*b)[0].size());
  EXPECT_TRUE(std::equal((*a)[0].data<float>(), (*a)[0].data<float>() + (*a)[0].size(), (*b)[0].data<float>()));
}

TEST(Profile, UnprofiledFunctionSaysHowToProfile) {
  Graph g("layer");
  mlpLayer(g);
  auto fn = Function::compile(g);
  ASSERT_TRUE(fn.ok());
  auto profile = fn->profile();
  ASSERT_FALSE(profile.ok());
  EXPECT_NE(profile.error().find("compiled without profiling"), std::string::npos) << profile.error();
}

// KILN_PERF_MAP=1: every loaded function, the entry and each outlined
// kernel, is named in /tmp/perf-<pid>.map for `perf report`.
TEST(Profile, PerfMapNamesTheEntryAndTheKernels) {
  std::string path = "/tmp/perf-" + std::to_string(getpid()) + ".map";
  std::remove(path.c_str());
  Graph g("mapped");
  Tensor x = g.input("x", {256, 257});
  Tensor w = g.param("w", {257, 263}, normalInit(0, 0.1, 1));
  g.output(tanh(matmul(x, w)), "y");
  CompileOptions options;
  options.cache = false;
  options.threads = 2; // the matmul outlined onto the thread pool
  setenv("KILN_PERF_MAP", "1", 1);
  auto fn = Function::compile(g, options);
  unsetenv("KILN_PERF_MAP");
  ASSERT_TRUE(fn.ok()) << fn.error();
  std::ifstream map(path);
  ASSERT_TRUE(map.good()) << path << " was not written";
  std::string line;
  bool entry = false, kernel = false;
  while (std::getline(map, line)) {
    std::istringstream fields(line);
    std::string start, size, name;
    fields >> std::hex >> start >> size >> name;
    ASSERT_FALSE(name.empty()) << line;
    EXPECT_GT(std::stoull(start, nullptr, 16), 0u) << line;
    EXPECT_GT(std::stoull(size, nullptr, 16), 0u) << line;
    entry |= name == "kiln_main";
    kernel |= name.find("mapped_parallel_") != std::string::npos;
  }
  EXPECT_TRUE(entry) << "no line for the entry in " << path;
  EXPECT_TRUE(kernel) << "no line for an outlined kernel in " << path;
  std::remove(path.c_str());
  // Without the variable, nothing is written.
  Graph again("unmapped");
  Tensor y = again.input("x", {16, 16});
  again.output(tanh(y), "y");
  ASSERT_TRUE(Function::compile(again, options).ok());
  EXPECT_FALSE(std::ifstream(path).good());
}

TEST(Profile, TrainingStepKernelsAreAttributed) {
  // The training step of a two-layer MLP: forward, backward and update
  // kernels, each counted once per step.
  Graph g("mlp");
  Tensor x = g.input("x", {16, 31});
  Tensor y = g.input("y", {16}, DType::i64);
  Tensor w1 = g.param("w1", {31, 47}, normalInit(0, 0.1, 1));
  Tensor w2 = g.param("w2", {47, 5}, normalInit(0, 0.1, 2));
  g.output(cross_entropy(matmul(relu(matmul(x, w1)), w2), y), "loss");
  CompileOptions options;
  options.profile = true;
  auto step = train_step(g, "loss", {}, Optimizer::sgd(), options);
  ASSERT_TRUE(step.ok()) << step.error();
  HostTensor xs = randomTensor(DType::f32, {16, 31}, -1, 1, 5);
  HostTensor ys(DType::i64, {16});
  for (int i = 0; i < 16; ++i)
    ys.set(i, i % 5);
  for (int i = 0; i < 2; ++i)
    ASSERT_TRUE(step->run({xs, ys, HostTensor::fromVector(std::vector<float>{0.1f}, {})}).ok());
  auto profile = step->profile();
  ASSERT_TRUE(profile.ok()) << profile.error();
  EXPECT_EQ(profile->calls, 2);
  // Every product's multiply-adds land on matmul rows: 2 forward, 3
  // backward (x needs no gradient), plus what their epilogues add.
  int64_t products = 2 * (16 * 47 * 31 + 16 * 5 * 47) + 2 * (47 * 5 * 16 + 16 * 47 * 5 + 31 * 47 * 16);
  int64_t onMatmulRows = 0;
  for (const KernelProfile &k : profile->kernels)
    if (k.kind.rfind("matmul", 0) == 0)
      onMatmulRows += k.flops;
  EXPECT_GE(onMatmulRows, products) << profile->table(1);
  EXPECT_LE(onMatmulRows, products * 11 / 10) << profile->table(1);
}

} // namespace
