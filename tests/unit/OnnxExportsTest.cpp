//===- OnnxExportsTest.cpp - models exported from PyTorch, through kiln --===//
//
// tests/onnx/models holds small models exported once from PyTorch
// (scripts/export_onnx_models.py): an MLP, a GPT with tied embeddings, a
// transformer encoder-decoder, a CNN with batch norm, a GRU, each with its
// inputs and PyTorch's outputs; and an MLP exported with its loss, with
// PyTorch's gradient of the loss for every parameter. kiln imports each,
// runs it and matches PyTorch's outputs; the loss model's gradients (kiln's
// reverse mode on the imported graph, parameters under PyTorch's names)
// match PyTorch's, and it compiles as a training step.
//
//===----------------------------------------------------------------------===//
#include "TestUtil.h"
#include "kiln/Onnx.h"

#include <cctype>
#include <filesystem>

using namespace kiln;
using kiln::test::allClose;

namespace {

namespace fs = std::filesystem;

const fs::path kModels = fs::path(KILN_SOURCE_DIR) / "tests" / "onnx" / "models";

std::vector<HostTensor> numbered(const fs::path &dir, const std::string &prefix) {
  std::vector<HostTensor> tensors;
  for (int k = 0;; ++k) {
    fs::path p = dir / (prefix + std::to_string(k) + ".npy");
    if (!fs::exists(p))
      break;
    auto t = HostTensor::loadNpy(p.string());
    EXPECT_TRUE(t.ok()) << t.error();
    if (t)
      tensors.push_back(std::move(*t));
  }
  return tensors;
}

class OnnxExports : public ::testing::TestWithParam<std::string> {};

TEST_P(OnnxExports, OutputsMatchPyTorch) {
  fs::path dir = kModels / GetParam();
  auto graph = importOnnx((dir / "model.onnx").string());
  ASSERT_TRUE(graph.ok()) << graph.error();
  auto fn = Function::compile(**graph);
  ASSERT_TRUE(fn.ok()) << fn.error();
  std::vector<HostTensor> inputs = numbered(dir, "input_"), want = numbered(dir, "output_");
  ASSERT_FALSE(inputs.empty());
  auto got = fn->run(inputs);
  ASSERT_TRUE(got.ok()) << got.error();
  ASSERT_EQ(got->size(), want.size());
  for (size_t i = 0; i < want.size(); ++i)
    EXPECT_TRUE(allClose((*got)[i], want[i], 1e-4, 1e-5)) << GetParam() << " output " << i;
}

INSTANTIATE_TEST_SUITE_P(Models, OnnxExports,
                         ::testing::Values("mlp", "gpt_tied", "transformer", "cnn", "gru", "mlp_loss"),
                         [](const auto &info) { return info.param; });

TEST(OnnxExportsTraining, LossGradientsMatchPyTorchAndItTrains) {
  fs::path dir = kModels / "mlp_loss";
  auto graph = importOnnx((dir / "model.onnx").string());
  ASSERT_TRUE(graph.ok()) << graph.error();
  std::vector<std::string> names;
  std::vector<HostTensor> want;
  for (const char *p : {"fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"}) {
    names.push_back(p); // PyTorch's names are kiln's
    auto g = HostTensor::loadNpy((dir / ("grad_" + std::string(p) + ".npy")).string());
    ASSERT_TRUE(g.ok()) << g.error();
    want.push_back(std::move(*g));
  }
  auto backward = grad(**graph, names);
  ASSERT_TRUE(backward.ok()) << backward.error();
  std::vector<HostTensor> inputs = numbered(dir, "input_");
  auto got = backward->run(inputs);
  ASSERT_TRUE(got.ok()) << got.error();
  ASSERT_EQ(got->size(), 1 + want.size()); // the loss, then one gradient per parameter
  EXPECT_TRUE(allClose((*got)[0], numbered(dir, "output_")[0], 1e-5, 1e-6)) << "loss";
  for (size_t i = 0; i < want.size(); ++i)
    EXPECT_TRUE(allClose((*got)[1 + i], want[i], 1e-4, 1e-6)) << "d " << names[i];
  // As a training step (Adam), the loss falls.
  auto step = train_step(**graph, "output_0", {}, Optimizer::adam());
  ASSERT_TRUE(step.ok()) << step.error();
  HostTensor rate(step->inputs().back().dtype, {});
  rate.set(0, 1e-2);
  inputs.push_back(rate);
  double first = 0, last = 0;
  for (int i = 0; i < 40; ++i) {
    auto out = step->run(inputs);
    ASSERT_TRUE(out.ok()) << out.error();
    (i == 0 ? first : last) = (*out)[0].at(0);
  }
  EXPECT_LT(last, 0.5 * first);
}

} // namespace
