//===- CheckTest.cpp - the numerics bisector (Function::check) -----------===//
//
// Correct code passes the check (no false alarm on real models: an MLP,
// the attention language model's training step, a CNN's training step), and
// an error planted in one kernel (CompileOptions::checkPerturbKernel: one
// element moved by 1e-3 x max(|x|, 1)) is found in exactly that kernel,
// for kernels spread over each model.
//
//===----------------------------------------------------------------------===//
#include "TestUtil.h"
#include "../../examples/charlm/charlm_model.h"

#include <cstdlib>
#include <functional>

using namespace kiln;
using kiln::test::randomTensor;

namespace {

using BuildFn = std::function<Result<Function>(CompileOptions)>;

struct CheckedModel {
  const char *name;
  BuildFn compile;
};

Result<Function> mlp(CompileOptions options) {
  Graph g("mlp");
  Tensor x = g.input("x", {37, 53});
  Tensor h = relu(matmul(x, g.param("w1", {53, 29}, normalInit(0, 0.2, 1))) + g.param("b1", {29}, normalInit(0, 0.1, 2)));
  Tensor y = softmax(matmul(h, g.param("w2", {29, 11}, normalInit(0, 0.2, 3))), -1);
  g.output(y, "y");
  return Function::compile(g, options);
}

Result<Function> languageModelStep(CompileOptions options) {
  CharLmConfig c;
  c.vocab = 13, c.dModel = 32, c.heads = 2, c.layers = 1, c.context = 8, c.batch = 3, c.hidden = 48;
  Graph g("lm");
  Tensor ids = g.input("ids", {c.batch, c.context}, DType::i64);
  Tensor labels = g.input("labels", {c.batch * c.context}, DType::i64);
  Tensor logits = reshape(charLm(g, ids, c).logits, {c.batch * c.context, c.vocab});
  g.output(cross_entropy(logits, labels), "loss");
  return train_step(g, "loss", {}, Optimizer::adamw(), options);
}

Result<Function> cnnStep(CompileOptions options) {
  Graph g("cnn");
  Tensor x = g.input("x", {2, 3, 9, 9});
  Tensor labels = g.input("labels", {2}, DType::i64);
  Conv2dOptions c1;
  c1.padding = {1, 1, 1, 1};
  c1.bias = g.param("c1_b", {5}, normalInit(0, 0.1, 4));
  Tensor h = conv2d(x, g.param("c1_w", {5, 3, 3, 3}, normalInit(0, 0.3, 5)), c1);
  BatchNormOptions bn;
  bn.training = true;
  h = batch_norm(h, g.param("bn_g", {5}, onesInit()), g.param("bn_b", {5}, zerosInit()),
                 g.param("bn_mean", {5}, zerosInit()), g.param("bn_var", {5}, onesInit()), bn)
          .y;
  h = max_pool2d(relu(h), {2, 2}); // [2, 5, 4, 4]
  Conv2dOptions c2;
  c2.stride = {2, 2};
  h = relu(conv2d(h, g.param("c2_w", {7, 5, 3, 3}, normalInit(0, 0.3, 6)), c2)); // [2, 7, 1, 1]
  Tensor logits = matmul(reshape(h, {2, 7}), g.param("fc_w", {7, 4}, normalInit(0, 0.3, 7)));
  g.output(cross_entropy(logits, labels), "loss");
  return train_step(g, "loss", {"c1_w", "c1_b", "bn_g", "bn_b", "c2_w", "fc_w"}, Optimizer::sgd(0.9), options);
}

const CheckedModel kModels[] = {{"mlp", mlp}, {"language_model_step", languageModelStep}, {"cnn_step", cnnStep}};

/// Random floats in [-1, 1], integers (token ids, labels) in [0, 4), the
/// learning rate 0.01.
std::vector<HostTensor> inputsFor(const Function &fn) {
  std::vector<HostTensor> inputs;
  uint32_t seed = 11;
  for (const TensorInfo &info : fn.inputs()) {
    if (info.name == "lr")
      inputs.push_back(HostTensor::fromVector(std::vector<float>{0.01f}, {}));
    else if (info.dtype == DType::i64 || info.dtype == DType::i32)
      inputs.push_back(randomTensor(info.dtype, info.shape, 0, 3.99, seed++));
    else
      inputs.push_back(randomTensor(info.dtype, info.shape, -1, 1, seed++));
  }
  return inputs;
}

Result<CheckReport> runChecked(const CheckedModel &model, int64_t perturb) {
  CompileOptions options;
  options.check = true;
  options.checkPerturbKernel = perturb;
  auto fn = model.compile(options);
  if (!fn)
    return Error{fn.error()};
  return fn->check(inputsFor(*fn));
}

class Check : public ::testing::TestWithParam<CheckedModel> {};

TEST_P(Check, CorrectCodeAgreesWithTheReference) {
  auto report = runChecked(GetParam(), -1);
  ASSERT_TRUE(report.ok()) << report.error();
  EXPECT_EQ(report->firstWrong, -1) << report->text(true);
  int checked = 0;
  for (const KernelCheck &k : report->kernels)
    checked += k.checked();
  // Most kernels write a value the model names; internal buffers (padded
  // copies, saved statistics) are the exception.
  EXPECT_GE(2 * checked, int(report->kernels.size())) << report->text();
  EXPECT_FALSE(report->outputs.empty());
}

TEST_P(Check, NamesExactlyThePerturbedKernel) {
  auto clean = runChecked(GetParam(), -1);
  ASSERT_TRUE(clean.ok()) << clean.error();
  // Kernels whose first float buffer (the one perturbed) holds an op's
  // result (not a copy of an operand, which a planted error would leave
  // without a candidate).
  std::vector<int> eligible;
  for (const KernelCheck &k : clean->kernels)
    for (const CheckedBuffer &b : k.buffers)
      if (b.type.rfind("f32", 0) == 0) {
        if (b.verdict == CheckedBuffer::Verdict::Match && !b.operand)
          eligible.push_back(k.id);
        break;
      }
  ASSERT_FALSE(eligible.empty()) << clean->text();
  // Six of them spread over the model, the first and the last included
  // (every one with KILN_CHECK_EVERY_KERNEL=1: minutes, by hand).
  size_t wanted = std::getenv("KILN_CHECK_EVERY_KERNEL") ? eligible.size() : 6;
  std::vector<int> picked;
  for (size_t i = 0; i < wanted && i < eligible.size(); ++i) {
    size_t at = wanted <= 1 ? 0 : i * (eligible.size() - 1) / (std::min(wanted, eligible.size()) - 1);
    if (picked.empty() || picked.back() != eligible[at])
      picked.push_back(eligible[at]);
  }
  for (int k : picked) {
    auto report = runChecked(GetParam(), k);
    ASSERT_TRUE(report.ok()) << report.error();
    EXPECT_EQ(report->firstWrong, k) << "perturbed kernel " << k << "\n" << report->text();
    if (report->firstWrong >= 0)
      EXPECT_NE(report->text().find("first wrong kernel: #" + std::to_string(k)), std::string::npos);
  }
}

INSTANTIATE_TEST_SUITE_P(Models, Check, ::testing::ValuesIn(kModels),
                         [](const ::testing::TestParamInfo<CheckedModel> &info) { return std::string(info.param.name); });

TEST(CheckApi, RefusesAFunctionCompiledWithoutCheck) {
  auto fn = mlp(CompileOptions());
  ASSERT_TRUE(fn.ok()) << fn.error();
  auto report = fn->check(inputsFor(*fn));
  ASSERT_FALSE(report.ok());
  EXPECT_NE(report.error().find("compiled without check"), std::string::npos) << report.error();
}

TEST(CheckApi, WrongInputsAreTheRunsError) {
  CompileOptions options;
  options.check = true;
  auto fn = mlp(options);
  ASSERT_TRUE(fn.ok()) << fn.error();
  auto report = fn->check({randomTensor(DType::f32, {37, 52}, -1, 1, 1)});
  ASSERT_FALSE(report.ok());
  EXPECT_NE(report.error().find("input \"x\": expected f32[37, 53], given f32[37, 52]"), std::string::npos)
      << report.error();
}

} // namespace
