//===- ObjectCacheTest.cpp - the on-disk cache of compiled objects --------===//
//
// The suite runs with KILN_CACHE=off (tests/CMakeLists.txt); these tests
// turn it on, each with a folder of its own.
#include "TestUtil.h"
#include "codegen/Compiler.h"
#include "codegen/ObjectCache.h"

#include <cstdlib>
#include <filesystem>
#include <cstring>
#include <fstream>
#include <unistd.h>

using namespace kiln;
namespace fs = std::filesystem;

namespace {

const char *kModel = R"(
func.func @main(%x: tensor<5x3xf32> {nn.name = "x"},
                %w: tensor<3x7xf32> {nn.name = "w", nn.param = {init = "normal", mean = 0.0, std = 1.0, seed = 3}})
    -> (tensor<5x7xf32> {nn.name = "y"}) {
  %m = nn.matmul %x, %w : (tensor<5x3xf32>, tensor<3x7xf32>) -> tensor<5x7xf32>
  %y = nn.tanh %m : tensor<5x7xf32>
  return %y : tensor<5x7xf32>
}
)";

/// Sets KILN_CACHE_DIR to a fresh folder and the cache on, for one test.
class ObjectCache : public ::testing::Test {
protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("kiln-cache-test-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    setenv("KILN_CACHE_DIR", dir_.c_str(), 1);
    setenv("KILN_CACHE", "on", 1);
  }
  void TearDown() override {
    fs::remove_all(dir_);
    unsetenv("KILN_CACHE_DIR");
    setenv("KILN_CACHE", "off", 1);
    unsetenv("KILN_CACHE_MAX_BYTES");
  }

  /// Compiles kModel (or `source`) to an object; says whether it came from
  /// the cache.
  std::string compile(bool *fromCache, CompileOptions options = {}, const char *source = kModel) {
    ParsedSource parsed(source, "model.mlir");
    EXPECT_TRUE(parsed.module) << parsed.diagnostics;
    CompileReport report;
    auto object = lowerAndEmit(*parsed.module, "obj", options, nullptr, &report);
    EXPECT_TRUE(succeeded(object)) << parsed.diagnostics;
    *fromCache = report.fromCache;
    return succeeded(object) ? *object : "";
  }

  std::vector<fs::path> entries() const {
    std::vector<fs::path> out;
    if (fs::exists(dir_))
      for (const auto &e : fs::directory_iterator(dir_))
        out.push_back(e.path());
    return out;
  }

  fs::path dir_;
};

// A moved line changes no code and hits -- unless the object embeds the
// position: a run-time index check's message names its op's line.
TEST_F(ObjectCache, MovedLinesHitUnlessAnIndexCheckNamesThem) {
  const char *moved = "\n// a comment that moves every line down\n";
  std::string plainMoved = std::string(moved) + kModel;
  bool hit = true;
  compile(&hit);
  EXPECT_FALSE(hit);
  compile(&hit, {}, plainMoved.c_str());
  EXPECT_TRUE(hit) << "locations that no code embeds are not part of the key";

  const char *gather = R"(
func.func @main(%t: tensor<5x3xf32> {nn.name = "t"}, %i: tensor<2xi64> {nn.name = "i"})
    -> (tensor<2x3xf32> {nn.name = "y"}) {
  %y = nn.gather %t[%i] : (tensor<5x3xf32>, tensor<2xi64>) -> tensor<2x3xf32>
  return %y : tensor<2x3xf32>
}
)";
  std::string gatherMoved = std::string(moved) + gather;
  compile(&hit, {}, gather);
  EXPECT_FALSE(hit);
  compile(&hit, {}, gatherMoved.c_str());
  EXPECT_FALSE(hit) << "the gather's error message names its line: another object";
  compile(&hit, {}, gatherMoved.c_str());
  EXPECT_TRUE(hit);
}

TEST_F(ObjectCache, SecondCompileOfTheSameModelIsAHitWithTheSameObject) {
  bool hit = true;
  std::string first = compile(&hit);
  EXPECT_FALSE(hit);
  ASSERT_EQ(entries().size(), 1u);
  std::string second = compile(&hit);
  EXPECT_TRUE(hit);
  EXPECT_EQ(first, second);
}

TEST_F(ObjectCache, OtherOptionsAreAnotherEntry) {
  bool hit = true;
  compile(&hit);
  CompileOptions named;
  named.symbol = "other_name";
  compile(&hit, named);
  EXPECT_FALSE(hit);
  CompileOptions tiled;
  tiled.tileRows = 4;
  tiled.tileColumns = 16;
  compile(&hit, tiled);
  EXPECT_FALSE(hit);
  EXPECT_EQ(entries().size(), 3u);
}

TEST_F(ObjectCache, DamagedEntryIsIgnoredAndRewritten) {
  bool hit = true;
  std::string good = compile(&hit);
  ASSERT_EQ(entries().size(), 1u);
  fs::path entry = entries()[0];
  for (std::streamoff at : {std::streamoff(0), std::streamoff(fs::file_size(entry) - 5)}) {
    {
      std::fstream f(entry, std::ios::in | std::ios::out | std::ios::binary);
      f.seekp(at);
      f.put('\x5a');
    }
    std::string again = compile(&hit);
    EXPECT_FALSE(hit) << "a damaged entry was trusted (byte " << at << ")";
    EXPECT_EQ(again, good);
    compile(&hit);
    EXPECT_TRUE(hit) << "the entry was not rewritten";
  }
  // A truncated entry too.
  fs::resize_file(entry, 20);
  compile(&hit);
  EXPECT_FALSE(hit);
}

TEST_F(ObjectCache, OffByEnvironmentOrOption) {
  bool hit = true;
  setenv("KILN_CACHE", "off", 1);
  compile(&hit);
  EXPECT_TRUE(entries().empty());
  setenv("KILN_CACHE", "on", 1);
  CompileOptions noCache;
  noCache.cache = false;
  compile(&hit, noCache);
  EXPECT_TRUE(entries().empty());
  // Watching the compilation never uses the cache.
  CompileOptions timing;
  timing.timing = true;
  testing::internal::CaptureStderr();
  compile(&hit, timing);
  testing::internal::GetCapturedStderr();
  EXPECT_TRUE(entries().empty());
}

TEST_F(ObjectCache, SizeLimitEvictsTheEntriesUsedLongestAgo) {
  bool hit = true;
  compile(&hit);
  uint64_t oneEntry = fs::file_size(entries()[0]);
  // Room for two entries: a third evicts down to 80% of the limit.
  setenv("KILN_CACHE_MAX_BYTES", std::to_string(2 * oneEntry + oneEntry / 2).c_str(), 1);
  CompileOptions b, c;
  b.symbol = "b_entry";
  c.symbol = "c_entry";
  compile(&hit, b);
  EXPECT_EQ(entries().size(), 2u);
  compile(&hit, c);
  EXPECT_LE(entries().size(), 2u);
  compile(&hit, c);
  EXPECT_TRUE(hit) << "the newest entry was evicted";
}

// A weight blob's bytes are part of the key: the same graph with other
// constant values (a blob resource, > 1024 elements) is another entry.
TEST_F(ObjectCache, ConstantBlobValuesArePartOfTheKey) {
  auto compileWith = [&](uint32_t seed, std::vector<HostTensor> *out) {
    Graph g("blob_model");
    Tensor x = g.input("x", {3, 40});
    Tensor w = g.constant(test::randomTensor(DType::f32, {40, 50}, -1, 1, seed));
    g.output(matmul(x, w), "y");
    auto fn = Function::compile(g);
    ASSERT_TRUE(fn.ok()) << fn.error();
    auto y = fn->run({{"x", test::randomTensor(DType::f32, {3, 40}, -1, 1, 5)}});
    ASSERT_TRUE(y.ok()) << y.error();
    *out = *y;
  };
  std::vector<HostTensor> a, b, again;
  compileWith(1, &a);
  compileWith(2, &b);
  EXPECT_EQ(entries().size(), 2u) << "other weights hit the first model's entry";
  EXPECT_NE(std::memcmp(a[0].data(), b[0].data(), a[0].bytes()), 0);
  compileWith(1, &again);
  EXPECT_EQ(entries().size(), 2u);
  EXPECT_EQ(std::memcmp(a[0].data(), again[0].data(), a[0].bytes()), 0);
}

TEST_F(ObjectCache, FunctionFromACachedObjectComputesTheSame) {
  auto first = Function::compileSource(kModel, "model.mlir");
  ASSERT_TRUE(first.ok()) << first.error();
  ASSERT_EQ(entries().size(), 1u);
  auto second = Function::compileSource(kModel, "model.mlir");
  ASSERT_TRUE(second.ok()) << second.error();
  HostTensor x = test::randomTensor(DType::f32, {5, 3}, -2, 2, 11);
  auto a = first->run({{"x", x}});
  auto b = second->run({{"x", x}});
  ASSERT_TRUE(a.ok() && b.ok());
  ASSERT_EQ((*a)[0].bytes(), (*b)[0].bytes());
  EXPECT_EQ(std::memcmp((*a)[0].data(), (*b)[0].data(), (*a)[0].bytes()), 0);
  EXPECT_EQ(first->workspaceSize(), second->workspaceSize());
}

} // namespace
