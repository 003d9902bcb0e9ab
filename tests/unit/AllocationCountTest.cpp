//===- AllocationCountTest.cpp - compiled calls make no heap allocation ---===//
//
// Every allocation in the process is counted -- malloc, calloc, realloc and
// the aligned ones are replaced here for the whole executable, so libkiln,
// the runtime's thread pool and libstdc++'s operator new all come through
// them. After one warm-up call (the pool's workers and their scratch are
// made on first use, docs/abi.md), calls of an MLP, of the attention
// language model's training step and of a stacked GRU's (scans, plain and
// checkpointed) on two threads must allocate nothing:
// temporaries live in the caller's workspace. (A test that hooked only the
// JIT's malloc missed temporaries over 4 KiB left on the heap.)
//
//===----------------------------------------------------------------------===//
#include "../../examples/charlm/charlm_model.h"
#include "kiln/kiln.h"
#include "kiln_rt.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cerrno>
#include <cstring>

extern "C" {
void *__libc_malloc(size_t);
void *__libc_calloc(size_t, size_t);
void *__libc_realloc(void *, size_t);
void *__libc_memalign(size_t, size_t);
void __libc_free(void *);
}

namespace {
std::atomic<bool> counting{false};
std::atomic<long> allocations{0};
void note() {
  if (counting.load(std::memory_order_relaxed))
    allocations.fetch_add(1, std::memory_order_relaxed);
}
} // namespace

extern "C" {
void *malloc(size_t n) {
  note();
  return __libc_malloc(n);
}
void *calloc(size_t n, size_t size) {
  note();
  return __libc_calloc(n, size);
}
void *realloc(void *p, size_t n) {
  note();
  return __libc_realloc(p, n);
}
void free(void *p) { __libc_free(p); }
void *memalign(size_t alignment, size_t n) {
  note();
  return __libc_memalign(alignment, n);
}
void *aligned_alloc(size_t alignment, size_t n) {
  note();
  return __libc_memalign(alignment, n);
}
int posix_memalign(void **out, size_t alignment, size_t n) {
  note();
  void *p = __libc_memalign(alignment, n);
  if (!p)
    return ENOMEM;
  *out = p;
  return 0;
}
}

namespace {

using namespace kiln;

/// Buffers for entry(): arguments (parameters with their current values,
/// inputs from `fill`), then outputs; and a workspace.
struct Call {
  std::vector<HostTensor> tensors;
  std::vector<void *> buffers;
  HostTensor workspace;

  Call(Function &fn, double (*fill)(const TensorInfo &, int64_t)) {
    for (const TensorInfo &a : fn.arguments()) {
      if (a.isParam) {
        tensors.push_back(*fn.param(a.name));
        continue;
      }
      HostTensor t(a.dtype, a.shape);
      for (int64_t i = 0; i < t.size(); ++i)
        t.set(i, fill(a, i));
      tensors.push_back(std::move(t));
    }
    for (const TensorInfo &o : fn.outputs())
      tensors.emplace_back(o.dtype, o.shape);
    for (HostTensor &t : tensors)
      buffers.push_back(t.data());
    workspace = HostTensor(DType::f32, {int64_t(fn.workspaceSize() / 4) + 16});
  }

  /// Runs `calls` calls on `threads` threads; returns the allocations made
  /// during them (after one warm-up call that is not counted).
  long allocationsOver(Function &fn, int calls, int threads) {
    kiln_context ctx;
    kiln_context_init(&ctx);
    ctx.num_threads = threads;
    EXPECT_EQ(fn.entry()(buffers.data(), &ctx, workspace.data()), KILN_OK);
    allocations = 0;
    counting = true;
    int32_t status = KILN_OK;
    for (int i = 0; i < calls && status == KILN_OK; ++i)
      status = fn.entry()(buffers.data(), &ctx, workspace.data());
    counting = false;
    EXPECT_EQ(status, KILN_OK);
    return allocations.load();
  }
};

double uniform(const TensorInfo &, int64_t i) { return double((i * 7919) % 2001) / 1000.0 - 1.0; }

TEST(AllocationCount, MlpForwardOnTwoThreadsAllocatesNothing) {
  Graph g("mlp");
  Tensor x = g.input("x", {64, 784});
  Tensor w1 = g.param("w1", {784, 256}, normalInit(0, 0.05, 1));
  Tensor b1 = g.param("b1", {256}, zerosInit());
  Tensor w2 = g.param("w2", {256, 256}, normalInit(0, 0.05, 2));
  Tensor w3 = g.param("w3", {256, 10}, normalInit(0, 0.05, 3));
  Tensor h = relu(matmul(relu(matmul(x, w1) + b1), w2));
  g.output(softmax(matmul(h, w3), -1), "probs");
  auto fn = Function::compile(g);
  ASSERT_TRUE(fn.ok()) << fn.error();
  Call call(*fn, uniform);
  EXPECT_EQ(call.allocationsOver(*fn, 100, 2), 0);
}

TEST(AllocationCount, LanguageModelTrainingStepOnTwoThreadsAllocatesNothing) {
  CharLmConfig config; // the demo's model (examples/charlm)
  Graph g("charlm");
  Tensor ids = g.input("ids", {config.batch, config.context}, DType::i64);
  Tensor targets = g.input("targets", {config.batch, config.context}, DType::i64);
  g.output(cross_entropy(charLm(g, ids, config).logits, targets), "loss");
  auto step = train_step(g, "loss", {}, Optimizer::adamw(0.01));
  ASSERT_TRUE(step.ok()) << step.error();
  static int64_t vocab = config.vocab;
  Call call(*step, [](const TensorInfo &a, int64_t i) {
    return a.name == "lr" ? 1e-3 : double((i * 31) % vocab);
  });
  EXPECT_EQ(call.allocationsOver(*step, 10, 2), 0);
}

} // namespace

namespace {

/// A stacked GRU's training step (two nn.scan layers, their reversed
/// backward scans, the weights' gradients hoisted out of the loops; and
/// with every 4th carry saved, the rest recomputed): carries and saved
/// states live in the workspace, so its steps allocate nothing either,
/// however long the sequence.
void expectGruStepAllocatesNothing(int64_t checkpointEvery) {
  Graph g("gru");
  Tensor x = g.input("x", {13, 4, 8}); // [T, B, I]
  Tensor target = g.input("target", {13, 4, 16});
  RecurrentOptions options;
  options.layers = 2;
  options.checkpointEvery = checkpointEvery;
  RecurrentResult r = gru(g, "gru", x, 16, options);
  g.output(mse_loss(r.output, target), "loss");
  auto step = train_step(g, "loss", {}, Optimizer::adam());
  ASSERT_TRUE(step.ok()) << step.error();
  Call call(*step, [](const TensorInfo &a, int64_t i) {
    return a.name == "lr" ? 1e-3 : double((i * 7919) % 2001) / 1000.0 - 1.0;
  });
  EXPECT_EQ(call.allocationsOver(*step, 10, 2), 0);
}

TEST(AllocationCount, GruTrainingStepOnTwoThreadsAllocatesNothing) { expectGruStepAllocatesNothing(0); }
TEST(AllocationCount, CheckpointedGruTrainingStepAllocatesNothing) { expectGruStepAllocatesNothing(4); }

} // namespace
