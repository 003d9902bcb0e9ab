//===- LeakTest.cpp - no compiled call leaks memory -----------------------===//
//
// Generated code would reach malloc/free through the JIT's explicit symbol
// table: here they point at counting wrappers. With the temporaries planned
// into the caller's workspace, 1000 calls make no heap allocation at all.
//
//===----------------------------------------------------------------------===//
#include "TestUtil.h"
#include "codegen/Jit.h"

#include <atomic>
#include <cstdlib>

using namespace kiln;

namespace {

std::atomic<long> mallocs{0}, frees{0};
void *countingMalloc(size_t n) {
  ++mallocs;
  return std::malloc(n);
}
void countingFree(void *p) {
  if (p)
    ++frees;
  std::free(p);
}
void *countingAlignedAlloc(size_t a, size_t n) {
  ++mallocs;
  return std::aligned_alloc(a, n);
}

// Softmax over a matmul, a reduction and a broadcast: several temporaries
// that cannot live in the output buffers.
const char *kModel = R"(
func.func @main(%x: tensor<8x16xf32> {nn.name = "x"},
                %w: tensor<16x10xf32> {nn.name = "w", nn.param = {init = "normal", std = 0.3, seed = 1}})
    -> (tensor<8x10xf32> {nn.name = "p"}, tensor<f32> {nn.name = "m"}) {
  %h = nn.matmul %x, %w : (tensor<8x16xf32>, tensor<16x10xf32>) -> tensor<8x10xf32>
  %r = nn.relu %h : tensor<8x10xf32>
  %p = nn.softmax %r axis -1 : tensor<8x10xf32>
  %s = nn.reduce_max %p axes [0, 1] : tensor<8x10xf32> -> tensor<f32>
  return %p, %s : tensor<8x10xf32>, tensor<f32>
}
)";

TEST(Leak, ThousandCallsMakeNoHeapAllocation) {
  auto object = lowerToStage(kModel, "leak.mlir", "obj");
  ASSERT_TRUE(object.ok()) << object.error();
  AllocatorHooks hooks{countingMalloc, countingFree, countingAlignedAlloc};
  auto jit = JitObject::load(*object, "kiln_main", hooks);
  ASSERT_TRUE(bool(jit)) << llvm::toString(jit.takeError());

  HostTensor x = test::randomTensor(DType::f32, {8, 16}, -1, 1, 5);
  HostTensor w = test::randomTensor(DType::f32, {16, 10}, -1, 1, 6);
  HostTensor p(DType::f32, {8, 10}), m(DType::f32, {});
  void *buffers[] = {x.data(), w.data(), p.data(), m.data()};
  // The temporaries are planned into the workspace: no call touches the heap.
  ASSERT_GT((*jit)->workspaceSize(), 0u);
  HostTensor workspace(DType::f32, {int64_t((*jit)->workspaceSize() / 4)});
  EXPECT_EQ((*jit)->entry()(buffers, nullptr, nullptr), KILN_ERR_NULL_BUFFER);
  for (int i = 0; i < 1000; ++i)
    ASSERT_EQ((*jit)->entry()(buffers, nullptr, workspace.data()), KILN_OK);
  EXPECT_EQ(mallocs.load(), 0);
  EXPECT_EQ(frees.load(), 0);
  // The result is a probability distribution per row.
  for (int r = 0; r < 8; ++r) {
    double sum = 0;
    for (int c = 0; c < 10; ++c)
      sum += p.data<float>()[r * 10 + c];
    EXPECT_NEAR(sum, 1.0, 1e-5);
  }
}

} // namespace
