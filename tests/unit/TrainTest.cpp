//===- TrainTest.cpp - compiled training steps ----------------------------===//
#include "TestUtil.h"
#include "codegen/Jit.h"
#include "kiln_rt.h"

#include <atomic>
#include <cmath>
#include <cstdlib>
#include <filesystem>

using namespace kiln;
using kiln::test::randomTensor;

namespace {

/// A two-layer regression model with a scalar loss.
void buildModel(Graph &g) {
  Tensor x = g.input("x", {6, 3});
  Tensor t = g.input("t", {6, 2});
  Tensor w1 = g.param("w1", {3, 5}, normalInit(0, 0.5, 1));
  Tensor b1 = g.param("b1", {5}, uniformInit(-0.1, 0.1, 2));
  Tensor w2 = g.param("w2", {5, 2}, normalInit(0, 0.5, 3));
  Tensor h = tanh(matmul(x, w1) + b1);
  g.output(mse_loss(matmul(h, w2), t), "loss");
}

HostTensor scalar(double v) { return HostTensor::fromVector(std::vector<float>{float(v)}, {}); }

/// The gradients of the model at its initial parameters.
std::map<std::string, HostTensor> gradients(const HostTensor &x, const HostTensor &t) {
  Graph g;
  buildModel(g);
  auto fn = grad(g);
  EXPECT_TRUE(fn.ok()) << fn.error();
  auto out = fn->run({x, t});
  EXPECT_TRUE(out.ok()) << out.error();
  std::map<std::string, HostTensor> grads;
  auto outputs = fn->outputs();
  for (size_t i = 1; i < outputs.size(); ++i)
    grads[outputs[i].name.substr(2)] = (*out)[i];
  return grads;
}

TEST(Train, SgdStepIsParamMinusLrTimesGradient) {
  Graph g;
  buildModel(g);
  auto step = train_step(g, "loss", {}, Optimizer::sgd());
  ASSERT_TRUE(step.ok()) << step.error();
  HostTensor x = randomTensor(DType::f32, {6, 3}, -1, 1, 1), t = randomTensor(DType::f32, {6, 2}, -1, 1, 2);
  std::map<std::string, HostTensor> before;
  for (const TensorInfo &p : step->params())
    before[p.name] = *step->param(p.name);
  auto grads = gradients(x, t);
  auto loss = step->run({x, t, scalar(0.1)});
  ASSERT_TRUE(loss.ok()) << loss.error();
  for (const char *name : {"w1", "b1", "w2"}) {
    HostTensor after = *step->param(name);
    for (int64_t i = 0; i < after.size(); ++i)
      EXPECT_NEAR(after.at(i), before[name].at(i) - 0.1 * grads[name].at(i), 1e-6) << name << "[" << i << "]";
  }
}

TEST(Train, ClipByGlobalNormScalesEveryGradientByOneCoefficient) {
  HostTensor x = randomTensor(DType::f32, {6, 3}, -1, 1, 1), t = randomTensor(DType::f32, {6, 2}, -1, 1, 2);
  auto grads = gradients(x, t);
  double squares = 0;
  for (auto &[name, g] : grads)
    for (int64_t i = 0; i < g.size(); ++i)
      squares += g.at(i) * g.at(i);
  double norm = std::sqrt(squares);
  ASSERT_GT(norm, 0.05);
  // Active (max below the norm) and inactive (above: the plain SGD step).
  for (double maxNorm : {0.25 * norm, 4 * norm}) {
    Graph g;
    buildModel(g);
    auto step = train_step(g, "loss", {}, Optimizer::sgd().clippedTo(maxNorm));
    ASSERT_TRUE(step.ok()) << step.error();
    std::map<std::string, HostTensor> before;
    for (const TensorInfo &p : step->params())
      before[p.name] = *step->param(p.name);
    ASSERT_TRUE(step->run({x, t, scalar(0.1)}).ok());
    double coefficient = std::min(1.0, maxNorm / (norm + 1e-6));
    for (const char *name : {"w1", "b1", "w2"}) {
      HostTensor after = *step->param(name);
      for (int64_t i = 0; i < after.size(); ++i)
        EXPECT_NEAR(after.at(i), before[name].at(i) - 0.1 * coefficient * grads[name].at(i), 1e-6)
            << name << "[" << i << "] with max norm " << maxNorm;
    }
  }
}

TEST(Train, AdamFirstStepsFollowTheFormula) {
  Graph g;
  buildModel(g);
  Optimizer adam = Optimizer::adamw(0.1);
  auto step = train_step(g, "loss", {"w2"}, adam);
  ASSERT_TRUE(step.ok()) << step.error();
  HostTensor x = randomTensor(DType::f32, {6, 3}, -1, 1, 3), t = randomTensor(DType::f32, {6, 2}, -1, 1, 4);
  HostTensor w = *step->param("w2");
  HostTensor w1 = *step->param("w1");
  auto grads = gradients(x, t);
  ASSERT_TRUE(step->run({x, t, scalar(0.01)}).ok());
  // Step 1: m = (1-b1) g, v = (1-b2) g^2, bias-corrected to g and g^2.
  HostTensor after = *step->param("w2");
  for (int64_t i = 0; i < w.size(); ++i) {
    double g0 = grads["w2"].at(i), p = w.at(i);
    double mHat = g0, vHat = g0 * g0;
    double expected = p - 0.01 * 0.1 * p - 0.01 * mHat / (std::sqrt(vHat) + adam.eps);
    EXPECT_NEAR(after.at(i), expected, 2e-6) << i;
  }
  EXPECT_EQ(step->param("adamw_step")->at(0), 1.0);
  // Only w2 is trained.
  for (int64_t i = 0; i < w1.size(); ++i)
    EXPECT_EQ(step->param("w1")->at(i), w1.at(i));
}

TEST(Train, LossDecreases) {
  Graph g;
  buildModel(g);
  auto step = train_step(g, "loss", {}, Optimizer::sgd(0.9));
  ASSERT_TRUE(step.ok()) << step.error();
  HostTensor x = randomTensor(DType::f32, {6, 3}, -1, 1, 5), t = randomTensor(DType::f32, {6, 2}, -1, 1, 6);
  auto losses = trainLoop(*step, 200, [&](int64_t) { return std::vector{x, t}; },
                          [](int64_t) { return 0.05; }, {/*showProgress=*/false});
  ASSERT_TRUE(losses.ok()) << losses.error();
  EXPECT_LT(losses->back(), 0.2 * losses->front());
}

std::atomic<long> heapCalls{0};
void *countingMalloc(size_t n) {
  ++heapCalls;
  return std::malloc(n);
}
void countingFree(void *p) {
  if (p)
    ++heapCalls;
  std::free(p);
}
void *countingAlignedAlloc(size_t a, size_t n) {
  ++heapCalls;
  return std::aligned_alloc(a, n);
}

// At the ABI: the step writes the new parameters into the very buffers the
// caller passed (addresses unchanged, values changed) and makes no heap
// allocation in 100 steps.
TEST(Train, InPlaceAndNoHeapAllocationPerStep) {
  Graph g;
  buildModel(g);
  CompileOptions options;
  options.trainStep = TrainStepRequest{"loss", {}, Optimizer::adam()};
  auto object = lowerToStage(g.str(), "model", "obj", options);
  ASSERT_TRUE(object.ok()) << object.error();
  auto jit = JitObject::load(*object, "kiln_main", {countingMalloc, countingFree, countingAlignedAlloc});
  ASSERT_TRUE(bool(jit)) << llvm::toString(jit.takeError());
  auto fn = train_step(g, "loss", {}, Optimizer::adam());
  ASSERT_TRUE(fn.ok());
  // Buffers in ABI order: x, t, w1, b1, w2, then Adam's m/v per parameter,
  // the step count, lr, and the loss.
  std::vector<HostTensor> storage;
  storage.push_back(randomTensor(DType::f32, {6, 3}, -1, 1, 7));
  storage.push_back(randomTensor(DType::f32, {6, 2}, -1, 1, 8));
  for (const TensorInfo &p : fn->params())
    storage.push_back(*fn->param(p.name));
  storage.push_back(scalar(0.01));
  storage.push_back(HostTensor(DType::f32, {}));
  std::vector<void *> buffers, addresses;
  for (HostTensor &h : storage) {
    buffers.push_back(h.data());
    addresses.push_back(h.data());
  }
  HostTensor w1Before = storage[2];
  HostTensor workspace(DType::f32, {int64_t((*jit)->workspaceSize() / 4) + 1});
  double first = 0;
  for (int i = 0; i < 100; ++i) {
    ASSERT_EQ((*jit)->entry()(buffers.data(), nullptr, workspace.data()), KILN_OK);
    if (i == 0)
      first = storage.back().at(0);
  }
  EXPECT_EQ(heapCalls.load(), 0);
  EXPECT_EQ(buffers, addresses);
  EXPECT_LT(storage.back().at(0), first); // the loss went down
  bool changed = false;
  for (int64_t i = 0; i < w1Before.size(); ++i)
    changed |= storage[2].at(i) != w1Before.at(i);
  EXPECT_TRUE(changed);
}

TEST(Train, SavedStateResumesBitForBit) {
  // AdamW (moments and a step count) with clipping: 3 steps, save, 2 more;
  // a fresh compile that loads the state and takes the same 2 steps ends
  // with the same bits.
  HostTensor x = randomTensor(DType::f32, {6, 3}, -1, 1, 1), t = randomTensor(DType::f32, {6, 2}, -1, 1, 2);
  Optimizer adamw = Optimizer::adamw(0.01).clippedTo(0.5);
  Graph g;
  buildModel(g);
  auto a = train_step(g, "loss", {}, adamw);
  ASSERT_TRUE(a.ok()) << a.error();
  for (int i = 0; i < 3; ++i)
    ASSERT_TRUE(a->run({x, t, scalar(0.05)}).ok());
  std::string dir = ::testing::TempDir() + "/kiln-train-state";
  std::filesystem::remove_all(dir);
  ASSERT_TRUE(saveTrainingState(*a, dir).ok());
  for (int i = 0; i < 2; ++i)
    ASSERT_TRUE(a->run({x, t, scalar(0.05)}).ok());

  auto b = train_step(g, "loss", {}, adamw);
  ASSERT_TRUE(b.ok()) << b.error();
  Status loaded = loadTrainingState(*b, dir);
  ASSERT_TRUE(loaded.ok()) << loaded.error();
  for (int i = 0; i < 2; ++i)
    ASSERT_TRUE(b->run({x, t, scalar(0.05)}).ok());
  ASSERT_GE(a->params().size(), 3u * 3 + 1); // w1, b1, w2, each with m and v, and the step
  for (const TensorInfo &p : a->params()) {
    HostTensor va = *a->param(p.name), vb = *b->param(p.name);
    ASSERT_EQ(va.size(), vb.size()) << p.name;
    for (int64_t i = 0; i < va.size(); ++i)
      ASSERT_EQ(va.at(i), vb.at(i)) << p.name << "[" << i << "]";
  }

  // Another optimizer's step (SGD: no moments) refuses the state, unchanged.
  auto sgd = train_step(g, "loss", {}, Optimizer::sgd());
  ASSERT_TRUE(sgd.ok());
  HostTensor w1 = *sgd->param("w1");
  Status wrong = loadTrainingState(*sgd, dir);
  ASSERT_FALSE(wrong.ok());
  EXPECT_NE(wrong.error().find("saved from another model or optimizer"), std::string::npos) << wrong.error();
  HostTensor still = *sgd->param("w1");
  for (int64_t i = 0; i < w1.size(); ++i)
    EXPECT_EQ(still.at(i), w1.at(i));
  Status missing = loadTrainingState(*b, dir + "/nowhere");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().find("kiln-state.txt is missing"), std::string::npos) << missing.error();
}

TEST(Train, BadRequestsAreErrors) {
  Graph g;
  buildModel(g);
  auto notParam = train_step(g, "loss", {"x"}, Optimizer::sgd());
  ASSERT_FALSE(notParam.ok());
  EXPECT_NE(notParam.error().find("\"x\" is an input, not a parameter"), std::string::npos) << notParam.error();
  auto noLoss = train_step(g, "nope", {}, Optimizer::sgd());
  ASSERT_FALSE(noLoss.ok());
  EXPECT_NE(noLoss.error().find("no output named \"nope\""), std::string::npos) << noLoss.error();
  auto badOpt = train_step(g, "loss", {}, Optimizer{"rmsprop"});
  ASSERT_FALSE(badOpt.ok());
  EXPECT_NE(badOpt.error().find("unknown optimizer \"rmsprop\""), std::string::npos) << badOpt.error();
  auto badClip = train_step(g, "loss", {}, Optimizer::sgd().clippedTo(-1));
  ASSERT_FALSE(badClip.ok());
  EXPECT_NE(badClip.error().find("clipping norm must be a positive number"), std::string::npos) << badClip.error();
  auto badWrt = grad(g, {"zz"});
  ASSERT_FALSE(badWrt.ok());
  EXPECT_NE(badWrt.error().find("cannot differentiate with respect to \"zz\": no such argument"),
            std::string::npos) << badWrt.error();
}

} // namespace
