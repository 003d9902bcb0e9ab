// The seed's CNN on real images: a LeNet-style network (5x5 convolution,
// ReLU, 2x2 max pooling, twice; then two fully connected layers) learns
// Fashion-MNIST as Debian ships it (dataset-fashion-mnist), printing a line
// per epoch with the loss, the test accuracy and the images per second;
// then the trained network is compiled ahead of time into an executable
// that classifies images given as .npy (raw 0-255 pixels, [N, 1, 28, 28]
// f32), which this program runs once on one test image of each class.
//
//   kiln-fashion-mnist [--epochs N] [--batch B] [--lr R] [--channels C1,C2]
//                      [--train-limit N] [--test-limit N] [--data DIR]
//                      [--out DIR] [--min-accuracy A] [--seed S] [--no-aot] [--profile]
// --profile: the training step's per-kernel table at the end (where its time
// goes; the step is compiled with timers, so it runs slightly slower).
//
// Writes into --out (default fashion_mnist_out): params/ (the trained
// weights as .npy), the executable fashion_mnist_classifier, samples.npy and
// predictions/. Exit status 0 when the test accuracy reaches --min-accuracy
// (default 0.88) and the executable agrees with the JIT on every sample.
// Its last line, "fashion-mnist: ...", is what bench/fashion_mnist_vs_torch.sh reads.
#include "../common/command_line.h"
#include "../common/model_report.h"
#include "../common/step_report.h"
#include "idx_reader.h"
#include "kiln/kiln.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <numeric>
#include <random>
#include <thread>

namespace {

using Clock = std::chrono::steady_clock;
double secondsSince(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

[[noreturn]] void fail(const std::string &message) {
  std::fprintf(stderr, "kiln-fashion-mnist: %s\n", message.c_str());
  std::exit(1);
}

struct Config {
  int64_t batch = 64, epochs = 6, c1 = 16, c2 = 32, hidden = 128;
  double lr = 2e-3;
  uint64_t seed = 1;
};

// Fashion-MNIST's pixel mean and standard deviation (of x / 255).
constexpr double kMean = 0.2860, kStd = 0.3530;

/// The network: raw pixels [N, 1, 28, 28] in, class scores [N, 10] out.
/// Normalisation is part of the graph, so the compiled executable takes
/// raw pixels as well.
kiln::Tensor lenet(kiln::Graph &g, kiln::Tensor pixels, const Config &c) {
  using namespace kiln;
  int64_t n = pixels.shape()[0];
  Tensor x = div(sub(div(pixels, 255.0), kMean), kStd);
  auto conv = [&](Tensor in, const std::string &name, int64_t cin, int64_t cout, int64_t pad, uint64_t seed) {
    Conv2dOptions o;
    o.padding = {pad, pad, pad, pad};
    o.bias = g.param(name + "_b", {cout}, zerosInit());
    Tensor w = g.param(name + "_w", {cout, cin, 5, 5}, normalInit(0, std::sqrt(2.0 / double(cin * 25)), seed));
    return max_pool2d(relu(conv2d(in, w, o)), {2, 2});
  };
  Tensor h = conv(x, "conv1", 1, c.c1, 2, c.seed);       // [N, C1, 14, 14]
  h = conv(h, "conv2", c.c1, c.c2, 0, c.seed + 1);       // [N, C2, 5, 5]
  h = reshape(h, {n, c.c2 * 25});
  Tensor w1 = g.param("fc1_w", {c.c2 * 25, c.hidden}, normalInit(0, std::sqrt(2.0 / double(c.c2 * 25)), c.seed + 2));
  h = relu(add(matmul(h, w1), g.param("fc1_b", {c.hidden}, zerosInit())));
  Tensor w2 = g.param("fc2_w", {c.hidden, 10}, normalInit(0, std::sqrt(1.0 / double(c.hidden)), c.seed + 3));
  return add(matmul(h, w2), g.param("fc2_b", {10}, zerosInit()));
}

/// The first index of each row's maximum, as the class ([N] i64).
kiln::Tensor argmax(kiln::Graph &g, kiln::Tensor logits) {
  using namespace kiln;
  const kiln::Shape &s = logits.shape();
  Tensor top = reduce_max(logits, {1}, true);
  Tensor index = g.iota(s, 1, DType::f32);
  // The smallest index holding the maximum: -max(-index) over the hits.
  Tensor candidates = select(eq(logits, top), index, double(s[1]));
  return cast(neg(reduce_max(neg(candidates), {1})), DType::i64);
}

/// Images [first, first + count) of `split` (in `order`) as a batch.
void fillBatch(const fashion::Split &split, const std::vector<int64_t> &order, int64_t first, kiln::HostTensor &images,
               kiln::HostTensor *labels) {
  int64_t count = images.shape()[0], pixels = 28 * 28;
  float *out = images.data<float>();
  for (int64_t i = 0; i < count; ++i) {
    int64_t k = order[first + i];
    const uint8_t *p = split.images.pixels.data() + k * pixels;
    for (int64_t j = 0; j < pixels; ++j)
      out[i * pixels + j] = float(p[j]);
    if (labels)
      labels->data<int64_t>()[i] = split.labels[k];
  }
}

} // namespace

int main(int argc, char **argv) {
  Config config;
  int64_t trainLimit = 0, testLimit = 0;
  double minAccuracy = 0.88;
  bool aot = true, profile = false;
  std::string dataDir = "/usr/share/datasets/fashion-mnist", outDir = "fashion_mnist_out", reportPath;
  CommandLine args(argc, argv, "kiln-fashion-mnist");
  while (args.next()) {
    if (args.is("--epochs"))
      config.epochs = args.count();
    else if (args.is("--batch"))
      config.batch = args.count();
    else if (args.is("--lr"))
      config.lr = args.real();
    else if (args.is("--channels")) {
      std::string v = args.value();
      long long c1 = 0, c2 = 0;
      char tail = 0;
      if (std::sscanf(v.c_str(), "%lld,%lld%c", &c1, &c2, &tail) != 2 || c1 < 1 || c2 < 1)
        fail("--channels needs C1,C2 (two positive integers), not '" + v + "'");
      config.c1 = c1, config.c2 = c2;
    } else if (args.is("--train-limit"))
      trainLimit = args.count();
    else if (args.is("--test-limit"))
      testLimit = args.count();
    else if (args.is("--data"))
      dataDir = args.value();
    else if (args.is("--out"))
      outDir = args.value();
    else if (args.is("--min-accuracy"))
      minAccuracy = args.real();
    else if (args.is("--seed"))
      config.seed = args.seed();
    else if (args.is("--no-aot"))
      aot = false;
    else if (args.is("--report"))
      reportPath = args.value();
    else if (args.is("--profile"))
      profile = true;
    else
      args.usage("[--epochs N] [--batch B] [--lr R] [--channels C1,C2] [--train-limit N] [--test-limit N] "
                 "[--data DIR] [--out DIR] [--min-accuracy A] [--seed S] [--no-aot] [--profile] [--report FILE]");
  }

  fashion::Split train, test;
  std::string error;
  if (!fashion::readSplit(dataDir, "train", train, error) || !fashion::readSplit(dataDir, "t10k", test, error))
    fail(error);
  int64_t trainCount = trainLimit ? std::min(trainLimit, train.images.count) : train.images.count;
  int64_t testCount = testLimit ? std::min(testLimit, test.images.count) : test.images.count;
  const int64_t B = config.batch;
  if (trainCount < B)
    fail("--batch " + std::to_string(B) + " is more than the " + std::to_string(trainCount) + " training images");
  std::printf("data: %s: %lld training and %lld test images of 28x28, 10 classes\n", dataDir.c_str(),
              (long long)trainCount, (long long)testCount);

  // The training step (Adam) and a forward pass scoring the test set.
  auto t0 = Clock::now();
  kiln::Graph trainGraph("fashion_mnist_train");
  {
    kiln::Tensor images = trainGraph.input("images", {B, 1, 28, 28});
    kiln::Tensor labels = trainGraph.input("labels", {B}, kiln::DType::i64);
    trainGraph.output(kiln::cross_entropy(lenet(trainGraph, images, config), labels), "loss");
  }
  kiln::CompileOptions stepOptions;
  stepOptions.profile = profile;
  auto step = kiln::train_step(trainGraph, "loss", {}, kiln::Optimizer::adam(), stepOptions);
  if (!step)
    fail(step.error());
  const int64_t E = std::min<int64_t>(500, testCount);
  kiln::Graph evalGraph("fashion_mnist_eval");
  evalGraph.output(argmax(evalGraph, lenet(evalGraph, evalGraph.input("images", {E, 1, 28, 28}), config)), "class");
  auto evalFn = kiln::Function::compile(evalGraph);
  if (!evalFn)
    fail(evalFn.error());
  int64_t paramCount = parameterCount(*evalFn);
  std::printf("model: conv 5x5 %lld -> relu -> max pool 2 -> conv 5x5 %lld -> relu -> max pool 2 -> fc %lld -> relu "
              "-> fc 10 (%lld parameters); batch %lld, Adam, learning rate %g with cosine decay\n",
              (long long)config.c1, (long long)config.c2, (long long)config.hidden, (long long)paramCount,
              (long long)B, config.lr);
  std::printf("compiled the training step and the test pass in %.1f s\n", secondsSince(t0));

  auto syncWeights = [&](kiln::Function &to) {
    for (const kiln::TensorInfo &p : to.params())
      if (auto s = to.setParam(p.name, *step->param(p.name)); !s)
        fail(s.error());
  };
  // Test accuracy over the first testCount images (whole batches of E; the
  // remainder, if any, is left out and said).
  std::vector<int64_t> testOrder(test.images.count);
  std::iota(testOrder.begin(), testOrder.end(), 0);
  const int64_t scored = testCount / E * E;
  auto testAccuracy = [&]() {
    syncWeights(*evalFn);
    kiln::HostTensor images(kiln::DType::f32, {E, 1, 28, 28});
    int64_t correct = 0;
    for (int64_t first = 0; first + E <= testCount; first += E) {
      fillBatch(test, testOrder, first, images, nullptr);
      auto out = evalFn->run({images});
      if (!out)
        fail(out.error());
      for (int64_t i = 0; i < E; ++i)
        correct += (*out)[0].data<int64_t>()[i] == test.labels[first + i];
    }
    return double(correct) / double(scored);
  };

  std::mt19937_64 rng(config.seed);
  std::vector<int64_t> order(train.images.count);
  std::iota(order.begin(), order.end(), 0);
  const int64_t stepsPerEpoch = trainCount / B, totalSteps = stepsPerEpoch * config.epochs;
  auto lr = [&](int64_t s) { // cosine decay to a tenth over the whole run
    return config.lr * (0.1 + 0.9 * 0.5 * (1 + std::cos(M_PI * double(s) / double(totalSteps))));
  };
  kiln::HostTensor images(kiln::DType::f32, {B, 1, 28, 28}), labels(kiln::DType::i64, {B});
  kiln::HostTensor rate(step->inputs().back().dtype, {});
  double trainSeconds = 0, accuracy = 0;
  std::printf("training %lld epochs of %lld steps:\n", (long long)config.epochs, (long long)stepsPerEpoch);
  for (int64_t epoch = 1; epoch <= config.epochs; ++epoch) {
    std::shuffle(order.begin(), order.begin() + trainCount, rng);
    double lossSum = 0;
    auto t = Clock::now();
    for (int64_t s = 0; s < stepsPerEpoch; ++s) {
      fillBatch(train, order, s * B, images, &labels);
      rate.set(0, lr((epoch - 1) * stepsPerEpoch + s));
      auto out = step->run({images, labels, rate});
      if (!out)
        fail("epoch " + std::to_string(epoch) + ", step " + std::to_string(s) + ": " + out.error());
      lossSum += (*out)[0].at(0);
    }
    double seconds = secondsSince(t);
    trainSeconds += seconds;
    accuracy = testAccuracy();
    std::printf("  epoch %2lld  loss %.4f  test accuracy %.2f%%  %6.0f images/s  (%.1f s)\n", (long long)epoch,
                lossSum / double(stepsPerEpoch), 100 * accuracy, double(stepsPerEpoch * B) / seconds, seconds);
    std::fflush(stdout);
  }
  double imagesPerSecond = double(totalSteps * B) / trainSeconds;
  if (std::string error; profile && !printStepProfile(*step, error))
    fail(error);
  if (!reportPath.empty()) { // kiln report of the training step, trained, on the first batch
    fillBatch(train, order, 0, images, &labels);
    rate.set(0, lr(totalSteps));
    kiln::CompileOptions trainStep;
    trainStep.trainStep = kiln::TrainStepRequest{"loss", {}, kiln::Optimizer::adam()};
    if (!writeModelReport(reportPath, trainGraph, *step,
                          {{"images", images}, {"labels", labels}, {step->inputs().back().name, rate}}, {}, trainStep))
      fail("cannot write " + reportPath);
  }

  bool agrees = true;
  if (aot) {
    // The trained weights as .npy, then the network compiled ahead of time
    // with them into an executable taking one test image of each class.
    namespace fs = std::filesystem;
    fs::create_directories(outDir + "/params");
    for (const kiln::TensorInfo &p : evalFn->params())
      if (auto s = step->param(p.name)->saveNpy(outDir + "/params/" + p.name + ".npy"); !s)
        fail(s.error());
    std::vector<int64_t> samples;
    for (int c = 0; c < 10; ++c)
      for (int64_t i = 0; i < test.images.count; ++i)
        if (test.labels[i] == c) {
          samples.push_back(i);
          break;
        }
    const int64_t S = int64_t(samples.size());
    kiln::Graph inferGraph("classify");
    kiln::Tensor logits = lenet(inferGraph, inferGraph.input("images", {S, 1, 28, 28}), config);
    inferGraph.output(argmax(inferGraph, logits), "class");
    inferGraph.output(kiln::softmax(logits, 1), "probabilities");
    kiln::ArtifactOptions artifact;
    artifact.kind = "exe";
    artifact.output = outDir + "/fashion_mnist_classifier";
    artifact.name = "fashion_mnist";
    artifact.paramsDir = outDir + "/params";
    auto report = kiln::compileArtifact(inferGraph.str(true), "fashion_mnist.mlir", {}, artifact);
    if (!report)
      fail(report.error());
    kiln::HostTensor sampleImages(kiln::DType::f32, {S, 1, 28, 28});
    fillBatch(test, samples, 0, sampleImages, nullptr);
    if (auto s = sampleImages.saveNpy(outDir + "/samples.npy"); !s)
      fail(s.error());
    std::printf("compiled the trained network ahead of time: %s (%.1f s, %.0f KB of weights inside); running it:\n",
                artifact.output.c_str(), report->totalSeconds, double(report->weightBytes) / 1024);
    std::string command = artifact.output + " --input images=" + outDir + "/samples.npy --output-dir " + outDir +
                          "/predictions > /dev/null";
    std::printf("  $ %s\n", command.c_str());
    if (int status = std::system(command.c_str()); status != 0)
      fail("the executable failed (status " + std::to_string(status) + ")");
    auto classes = kiln::HostTensor::loadNpy(outDir + "/predictions/class.npy");
    auto probabilities = kiln::HostTensor::loadNpy(outDir + "/predictions/probabilities.npy");
    if (!classes || !probabilities)
      fail("cannot read the executable's predictions in " + outDir + "/predictions");
    // The same images through the JIT, to compare.
    auto jit = kiln::Function::compile(inferGraph);
    if (!jit)
      fail(jit.error());
    syncWeights(*jit);
    auto expected = jit->run({sampleImages});
    if (!expected)
      fail(expected.error());
    for (int64_t i = 0; i < S; ++i) {
      int64_t predicted = classes->data<int64_t>()[i], truth = test.labels[samples[i]];
      agrees &= predicted == (*expected)[0].data<int64_t>()[i];
      std::printf("  test image %5lld: %-11s  predicted %-11s (p = %.2f)%s\n", (long long)samples[i],
                  fashion::className(int(truth)), fashion::className(int(predicted)),
                  probabilities->data<float>()[i * 10 + predicted], predicted == truth ? "" : "  <- wrong");
    }
    std::printf("the executable %s the JIT on all %lld images\n", agrees ? "agrees with" : "DISAGREES with",
                (long long)S);
  }
  // (0 threads: KILN_NUM_THREADS if set, else every CPU, as the runtime does.)
  int threads = step->numThreads();
  if (threads == 0)
    threads = std::getenv("KILN_NUM_THREADS") ? std::atoi(std::getenv("KILN_NUM_THREADS"))
                                              : int(std::thread::hardware_concurrency());
  std::printf("fashion-mnist: test accuracy %.2f%% (%lld images), %.0f training images/s, %.1f s training, %lld "
              "epochs, batch %lld, %d threads\n",
              100 * accuracy, (long long)scored, imagesPerSecond, trainSeconds, (long long)config.epochs,
              (long long)B, threads);
  return accuracy >= minAccuracy && agrees ? 0 : 1;
}
