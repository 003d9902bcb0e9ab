//===- BatchNormTest.cpp - nn.batch_norm's running statistics -------------===//
//
// OpCases.h checks nn.batch_norm's normalised result forward against the
// reference interpreter and backward against finite differences. Here: the
// running statistics it returns in training (PyTorch's update: the mean,
// and the unbiased variance, averaged in with `momentum`) against numbers
// computed by hand and against the reference interpreter, and that
// inference mode passes them through.
//
//===----------------------------------------------------------------------===//
#include "TestUtil.h"

#include <gtest/gtest.h>

#include <cmath>

using namespace kiln;
using namespace kiln::test;

namespace {

struct BatchNormRun {
  std::vector<HostTensor> outputs;
  std::string source;
};

BatchNormRun runBatchNorm(const std::vector<HostTensor> &inputs, bool training, double momentum) {
  Graph g("main");
  Shape xs = inputs[0].shape();
  int64_t c = xs[1];
  Tensor x = g.input("x", xs, inputs[0].dtype());
  auto perChannel = [&](const char *name) { return g.input(name, {c}, inputs[0].dtype()); };
  Tensor gamma = perChannel("gamma"), beta = perChannel("beta"), mean = perChannel("mean"),
         variance = perChannel("variance");
  BatchNormOptions o;
  o.training = training, o.momentum = momentum;
  BatchNormResult r = batch_norm(x, gamma, beta, mean, variance, o);
  g.output(r.y, "y");
  g.output(r.mean, "new_mean");
  g.output(r.variance, "new_variance");
  auto fn = Function::compile(g);
  EXPECT_TRUE(fn.ok()) << fn.error();
  if (!fn.ok())
    return {};
  auto out = fn->run(inputs);
  EXPECT_TRUE(out.ok()) << out.error();
  return {out.ok() ? *out : std::vector<HostTensor>{}, g.str()};
}

TEST(BatchNormTest, TrainingUpdatesTheRunningStatisticsAsPyTorch) {
  // x [2, 2, 1, 2]: channel 0 holds 1, 2, 3, 6 (mean 3, biased variance
  // 3.5, unbiased 14/3); channel 1 holds -1 four times (mean -1, variance 0).
  HostTensor x = HostTensor::fromVector(std::vector<float>{1, 2, -1, -1, 3, 6, -1, -1}, {2, 2, 1, 2});
  HostTensor gamma = HostTensor::fromVector(std::vector<float>{1, 2}, {2});
  HostTensor beta = HostTensor::fromVector(std::vector<float>{0, 0.5f}, {2});
  HostTensor mean = HostTensor::fromVector(std::vector<float>{0.5f, 0}, {2});
  HostTensor variance = HostTensor::fromVector(std::vector<float>{1, 2}, {2});
  BatchNormRun r = runBatchNorm({x, gamma, beta, mean, variance}, true, 0.25);
  ASSERT_EQ(r.outputs.size(), 3u);
  EXPECT_NEAR(r.outputs[1].at(0), 0.75 * 0.5 + 0.25 * 3, 1e-6);
  EXPECT_NEAR(r.outputs[1].at(1), 0.25 * -1, 1e-6);
  EXPECT_NEAR(r.outputs[2].at(0), 0.75 * 1 + 0.25 * 14.0 / 3, 1e-5);
  EXPECT_NEAR(r.outputs[2].at(1), 0.75 * 2, 1e-6);
  // y: channel 0 normalised by the batch's statistics; channel 1 is
  // constant, so it is beta.
  EXPECT_NEAR(r.outputs[0].at(0), (1 - 3) / std::sqrt(3.5 + 1e-5), 1e-5);
  EXPECT_NEAR(r.outputs[0].at(2), 0.5, 1e-5);
}

TEST(BatchNormTest, RunningStatisticsMatchReference) {
  for (bool training : {true, false}) {
    std::vector<HostTensor> inputs = {randomTensor(DType::f64, {3, 5, 4, 3}, -2, 2, 1),
                                      randomTensor(DType::f64, {5}, 0.5, 2, 2), randomTensor(DType::f64, {5}, -1, 1, 3),
                                      randomTensor(DType::f64, {5}, -1, 1, 4), randomTensor(DType::f64, {5}, 0.5, 2, 5)};
    BatchNormRun r = runBatchNorm(inputs, training, 0.1);
    ASSERT_EQ(r.outputs.size(), 3u);
    expectMatchesReference(r.source, training ? "batch_norm_training" : "batch_norm_inference", inputs, 1e-10,
                           {"y", "new_mean", "new_variance"});
    if (!training) // stored statistics come back as they were
      for (int64_t c = 0; c < 5; ++c) {
        EXPECT_EQ(r.outputs[1].at(c), inputs[3].at(c));
        EXPECT_EQ(r.outputs[2].at(c), inputs[4].at(c));
      }
  }
}

} // namespace
