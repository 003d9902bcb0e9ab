//===- ConvolutionTest.cpp - conv2d's gradient ops beyond the op table ----===//
//
// OpCases.h checks nn.conv2d forward against the reference interpreter and
// its gradients against finite differences. Here: nn.conv2d_backward_input
// and nn.conv2d_backward_weight, which only the gradient rule emits, run as
// one-op functions against the reference interpreter over geometries where
// the lowering's tricks have edges: strides that leave inputs no window
// reads, padding larger than the dilated kernel reaches, groups. (The
// lowering spreads the cotangent by the stride and convolves it with the
// flipped weight; the reference scatters it over the windows.) And the
// two pooling gradient ops, with ties.
//
//===----------------------------------------------------------------------===//
#include "TestUtil.h"

#include <cmath>
#include <sstream>

using namespace kiln;
using namespace kiln::test;

namespace {

std::string list(const std::vector<int64_t> &v) {
  std::ostringstream os;
  os << "[";
  for (size_t i = 0; i < v.size(); ++i)
    os << (i ? ", " : "") << v[i];
  os << "]";
  return os.str();
}

struct Geometry {
  std::string name;
  Shape x, w;
  std::vector<int64_t> strides, padding, dilations;
  int64_t groups;
};

void PrintTo(const Geometry &g, std::ostream *os) { *os << g.name; }

int64_t outputSize(int64_t in, int64_t k, int64_t s, int64_t p0, int64_t p1, int64_t d) {
  return (in + p0 + p1 - d * (k - 1) - 1) / s + 1;
}

class Conv2dGradientOps : public ::testing::TestWithParam<std::tuple<Geometry, DType>> {};

TEST_P(Conv2dGradientOps, MatchReference) {
  auto [c, dtype] = GetParam();
  const char *element = dtype == DType::f64 ? "f64" : "f32";
  Shape out = {c.x[0], c.w[0],
               outputSize(c.x[2], c.w[2], c.strides[0], c.padding[0], c.padding[2], c.dilations[0]),
               outputSize(c.x[3], c.w[3], c.strides[1], c.padding[1], c.padding[3], c.dilations[1])};
  std::string x = tensorTypeText(c.x, element), w = tensorTypeText(c.w, element), g = tensorTypeText(out, element);
  std::string attrs = " strides " + list(c.strides) + " padding " + list(c.padding) + " dilations " +
                      list(c.dilations) + " groups " + std::to_string(c.groups);
  std::ostringstream src;
  src << "func.func @main(%x: " << x << " {nn.name = \"x\"}, %w: " << w << " {nn.name = \"w\"}, %g: " << g
      << " {nn.name = \"g\"}) -> (" << x << ", " << w << ") {\n"
      << "  %dx = nn.conv2d_backward_input %g, %w input_size " << list({c.x[2], c.x[3]}) << attrs << " : (" << g
      << ", " << w << ") -> " << x << "\n"
      << "  %dw = nn.conv2d_backward_weight %x, %g kernel_size " << list({c.w[2], c.w[3]}) << attrs << " : (" << x
      << ", " << g << ") -> " << w << "\n"
      << "  return %dx, %dw : " << x << ", " << w << "\n}\n";
  std::vector<HostTensor> inputs = {randomTensor(dtype, c.x, -2, 2, 1), randomTensor(dtype, c.w, -2, 2, 2),
                                    randomTensor(dtype, out, -1, 1, 3)};
  expectMatchesReference(src.str(), c.name, inputs, dtype == DType::f64 ? 1e-10 : 1e-4, {"dx", "dw"});
}

INSTANTIATE_TEST_SUITE_P(
    ConvolutionTest, Conv2dGradientOps,
    ::testing::Combine(
        ::testing::Values(
            Geometry{"plain", {2, 3, 5, 6}, {4, 3, 3, 3}, {1, 1}, {0, 0, 0, 0}, {1, 1}, 1},
            // Rows and columns no window reads (13 = 3 * 4 + 1 with a
            // kernel of 2): their gradient is zero.
            Geometry{"stride_above_kernel", {1, 2, 13, 11}, {3, 2, 2, 2}, {3, 4}, {0, 0, 0, 0}, {1, 1}, 1},
            // Padding beyond what the dilated kernel reaches on one side.
            Geometry{"wide_padding", {1, 1, 4, 5}, {2, 1, 2, 3}, {1, 2}, {3, 0, 1, 4}, {1, 1}, 1},
            Geometry{"dilated_strided", {2, 2, 11, 9}, {2, 2, 3, 2}, {2, 2}, {2, 1, 1, 0}, {2, 3}, 1},
            Geometry{"groups", {1, 6, 7, 5}, {4, 3, 3, 1}, {1, 2}, {1, 0, 1, 0}, {1, 1}, 2},
            Geometry{"depthwise", {2, 4, 6, 6}, {4, 1, 3, 3}, {2, 2}, {1, 1, 1, 1}, {1, 1}, 4},
            Geometry{"kernel_7x7", {1, 2, 9, 9}, {3, 2, 7, 7}, {2, 2}, {3, 3, 3, 3}, {1, 1}, 1},
            Geometry{"big", {4, 8, 30, 30}, {16, 8, 3, 3}, {1, 1}, {1, 1, 1, 1}, {1, 1}, 1},
            // The weight gradient's reduction (4 images x 40 x 42
            // positions) is over a megabyte per register tile: it runs in
            // blocks of positions, the last one partial.
            Geometry{"long_reduction", {4, 8, 40, 40}, {32, 8, 3, 3}, {1, 1}, {1, 1, 1, 1}, {1, 1}, 1},
            // One input channel: the weight gradient's register tile takes
            // its rows from two loops, the kernel's columns and rows.
            Geometry{"one_channel", {3, 1, 12, 11}, {16, 1, 5, 5}, {1, 1}, {2, 2, 2, 2}, {1, 1}, 1}),
        ::testing::Values(DType::f32, DType::f64)),
    [](const auto &info) {
      return std::get<0>(info.param).name + (std::get<1>(info.param) == DType::f64 ? "_f64" : "_f32");
    });

struct Window {
  std::string name;
  Shape x;
  std::vector<int64_t> kernel, strides, padding;
  bool countIncludePad;
};

void PrintTo(const Window &w, std::ostream *os) { *os << w.name; }

class Pool2dGradientOps : public ::testing::TestWithParam<std::tuple<Window, DType>> {};

// The two pooling gradient ops against the reference interpreter, on inputs
// drawn from four values so that windows hold ties: max pooling's gradient
// must go to each window's first maximum (row-major), as documented.
TEST_P(Pool2dGradientOps, MatchReference) {
  auto [c, dtype] = GetParam();
  const char *element = dtype == DType::f64 ? "f64" : "f32";
  Shape out = {c.x[0], c.x[1], outputSize(c.x[2], c.kernel[0], c.strides[0], c.padding[0], c.padding[2], 1),
               outputSize(c.x[3], c.kernel[1], c.strides[1], c.padding[1], c.padding[3], 1)};
  std::string x = tensorTypeText(c.x, element), g = tensorTypeText(out, element);
  std::string attrs = " kernel " + list(c.kernel) + " strides " + list(c.strides) + " padding " + list(c.padding);
  std::ostringstream src;
  src << "func.func @main(%x: " << x << " {nn.name = \"x\"}, %g: " << g << " {nn.name = \"g\"}) -> (" << x << ", "
      << x << ") {\n"
      << "  %dmax = nn.max_pool2d_backward %x, %g" << attrs << " : (" << x << ", " << g << ") -> " << x << "\n"
      << "  %davg = nn.avg_pool2d_backward %g input_size " << list({c.x[2], c.x[3]}) << attrs
      << (c.countIncludePad ? " {count_include_pad}" : "") << " : (" << g << ") -> " << x << "\n"
      << "  return %dmax, %davg : " << x << ", " << x << "\n}\n";
  HostTensor ties = randomTensor(dtype, c.x, 0, 4, 1);
  for (int64_t i = 0; i < ties.size(); ++i)
    ties.set(i, std::floor(ties.at(i)));
  std::vector<HostTensor> inputs = {ties, randomTensor(dtype, out, -1, 1, 2)};
  expectMatchesReference(src.str(), c.name, inputs, dtype == DType::f64 ? 1e-12 : 1e-5,
                         {"max pooling's gradient", "average pooling's gradient"});
}

INSTANTIATE_TEST_SUITE_P(
    ConvolutionTest, Pool2dGradientOps,
    ::testing::Combine(::testing::Values(Window{"overlapping", {2, 3, 7, 6}, {3, 3}, {1, 2}, {0, 0, 0, 0}, true},
                                         Window{"padded", {1, 2, 5, 7}, {3, 2}, {2, 2}, {1, 1, 2, 1}, false},
                                         Window{"padded_counted", {1, 2, 5, 7}, {3, 2}, {2, 2}, {1, 0, 1, 1}, true},
                                         Window{"stride_above_kernel", {1, 1, 11, 9}, {2, 2}, {3, 4}, {0, 0, 0, 0},
                                                false},
                                         Window{"big", {4, 16, 30, 30}, {2, 2}, {2, 2}, {0, 0, 0, 0}, false},
                                         // Rows longer than kiln-tile-pooling's two vectors
                                         // (35 = 32 + 3 outputs; 68 = 2 x 32 + 4), with ties (ReLU's zeros).
                                         Window{"wide_rows", {2, 3, 7, 70}, {2, 2}, {2, 2}, {0, 0, 0, 0}, true},
                                         Window{"wide_rows_overlapping", {1, 2, 5, 70}, {3, 3}, {1, 1}, {0, 0, 0, 0},
                                                false},
                                         Window{"big_overlap", {4, 16, 15, 15}, {3, 3}, {2, 2}, {1, 1, 1, 1}, true}),
                       ::testing::Values(DType::f32, DType::f64)),
    [](const auto &info) {
      return std::get<0>(info.param).name + (std::get<1>(info.param) == DType::f64 ? "_f64" : "_f32");
    });

// A small CNN's layers at sizes where the kernels run on the thread pool
// (conv 3x3 with padding, ReLU, max pooling, average pooling; forward and
// the gradients of x and w): the same as the reference interpreter, and
// bit-identical on 1 and 2 threads.
TEST(ConvolutionTest, BigLayersOnThePoolMatchReference) {
  Graph g;
  Tensor x = g.input("x", {4, 8, 30, 30}, DType::f64), w = g.input("w", {16, 8, 3, 3}, DType::f64);
  Conv2dOptions same;
  same.padding = {1, 1, 1, 1};
  Tensor y = max_pool2d(relu(conv2d(x, w, same)), {2, 2});
  Pool2dOptions overlap;
  overlap.stride = {{2, 2}};
  overlap.padding = {1, 1, 1, 1};
  g.output(reduce_sum(avg_pool2d(y, {3, 3}, overlap), {0, 1, 2, 3}), "loss");
  auto fn = grad(g, {"x", "w"});
  ASSERT_TRUE(fn.ok()) << fn.error();
  std::vector<HostTensor> inputs = {randomTensor(DType::f64, {4, 8, 30, 30}, -1, 1, 1),
                                    randomTensor(DType::f64, {16, 8, 3, 3}, -1, 1, 2)};
  std::vector<std::vector<HostTensor>> results;
  for (int threads : {1, 2}) {
    fn->setNumThreads(threads);
    auto out = fn->run(inputs);
    ASSERT_TRUE(out.ok()) << out.error();
    results.push_back(*out);
  }
  for (size_t r = 0; r < results[0].size(); ++r)
    EXPECT_TRUE(allClose(results[0][r], results[1][r], 0, 0)) << "output " << r << " differs between 1 and 2 threads";
  CompileOptions gradient;
  gradient.gradientWrt = std::vector<std::string>{"x", "w"};
  auto gradSource = lowerToStage(g.str(), "big_layers", "grad", gradient);
  ASSERT_TRUE(gradSource.ok()) << gradSource.error();
  auto want = runReference(*gradSource, "big_layers", inputs, "main_grad");
  ASSERT_TRUE(want.ok()) << want.error();
  ASSERT_EQ(want->size(), results[0].size());
  for (size_t r = 0; r < want->size(); ++r)
    EXPECT_TRUE(allClose(results[0][r], (*want)[r], 1e-9, 1e-9)) << "output " << r;
}

// A tiny CNN learns to tell two kinds of 8 x 8 images apart (bright top
// half or bright bottom half, with noise): conv 3x3 -> ReLU -> max pool ->
// average pool -> linear -> cross-entropy, trained by SGD through a
// compiled training step. The loss falls and every image is classified.
TEST(ConvolutionTest, TinyCnnLearns) {
  const int64_t n = 16;
  Graph g;
  Tensor x = g.input("x", {n, 1, 8, 8}), labels = g.input("labels", {n}, DType::i64);
  Conv2dOptions same;
  same.padding = {1, 1, 1, 1};
  same.bias = g.param("b1", {4}, zerosInit());
  Tensor h = max_pool2d(relu(conv2d(x, g.param("w1", {4, 1, 3, 3}, normalInit(0, 0.5, 1)), same)), {2, 2});
  h = avg_pool2d(h, {2, 2});                        // [n, 4, 2, 2]
  Tensor logits = matmul(reshape(h, {n, 16}), g.param("w2", {16, 2}, normalInit(0, 0.5, 2)));
  g.output(cross_entropy(logits, labels), "loss");
  auto step = train_step(g, "loss", {}, Optimizer::sgd(0.9));
  ASSERT_TRUE(step.ok()) << step.error();
  HostTensor images = randomTensor(DType::f32, {n, 1, 8, 8}, 0, 0.3, 3), classes(DType::i64, {n});
  for (int64_t i = 0; i < n; ++i) {
    classes.set(i, double(i % 2));
    for (int64_t r = 0; r < 4; ++r)
      for (int64_t c = 0; c < 8; ++c) {
        int64_t row = i % 2 ? r + 4 : r;
        images.set(i * 64 + row * 8 + c, images.at(i * 64 + row * 8 + c) + 1.0);
      }
  }
  auto losses = trainLoop(*step, 100, [&](int64_t) { return std::vector{images, classes}; },
                          [](int64_t) { return 0.05; }, {/*showProgress=*/false});
  ASSERT_TRUE(losses.ok()) << losses.error();
  EXPECT_LT(losses->back(), 0.1 * losses->front()) << "first " << losses->front() << ", last " << losses->back();
  // Classify with the trained weights.
  Graph infer;
  Tensor xi = infer.input("x", {n, 1, 8, 8});
  Conv2dOptions sameInfer = same;
  sameInfer.bias = infer.param("b1", {4}, zerosInit());
  Tensor hi = max_pool2d(relu(conv2d(xi, infer.param("w1", {4, 1, 3, 3}, zerosInit()), sameInfer)), {2, 2});
  infer.output(matmul(reshape(avg_pool2d(hi, {2, 2}), {n, 16}), infer.param("w2", {16, 2}, zerosInit())), "logits");
  auto fn = Function::compile(infer);
  ASSERT_TRUE(fn.ok()) << fn.error();
  for (const char *name : {"b1", "w1", "w2"})
    ASSERT_TRUE(fn->setParam(name, *step->param(name)).ok());
  auto out = fn->run({images});
  ASSERT_TRUE(out.ok()) << out.error();
  for (int64_t i = 0; i < n; ++i)
    EXPECT_EQ((*out)[0].at(2 * i + 1) > (*out)[0].at(2 * i), i % 2 == 1) << "image " << i;
}

} // namespace
