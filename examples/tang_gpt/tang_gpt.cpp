// A GPT that learns the Tang poems Debian ships (fortunes-zh's tang300),
// character by character: the transformer of examples/charlm/ at GPT size
// (4 layers, d_model 256, 4 heads, context 128), AdamW with warm-up and
// cosine decay, dropout 0.2, a held-out tenth of the poems for validation
// (the text is small, 27k characters: the model overfits it after about 200
// steps, so sampling uses the weights of the best validation loss). It prints
// training and validation loss with the throughput, writes the loss curve
// as SVG, samples poems and shows what each character attended to
// (terminal colours and an HTML page). The attention runs as kiln's flash
// attention: kiln-recognize-attention finds it in the model's matmul,
// softmax, matmul.
//
//   kiln-tang-gpt [--steps N] [--batch B] [--eval-every N] [--seed S]
//                 [--temperature T] [--text FILE] [--svg FILE] [--html FILE] [--report FILE]
//                 [--layers N] [--d-model N] [--context N] [--dropout P] [--profile]
// --profile: the training step's per-kernel table at the end (where its time
// goes; the step is compiled with timers, so it runs slightly slower).
//
// Its last line, "tang-gpt: ...", is what bench/tang_gpt_vs_torch.sh reads.
// Exit status 0 when the final validation loss is below that of a uniform
// guess over the vocabulary (ln V nats): the model learned something.
#include "../charlm/attention_view.h"
#include "../common/command_line.h"
#include "../common/model_report.h"
#include "../common/step_report.h"
#include "../charlm/charlm_model.h"
#include "../charlm/generate.h"
#include "loss_curve_svg.h"
#include "tang_poems.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <random>
#include <unistd.h>

namespace {

using Clock = std::chrono::steady_clock;
double secondsSince(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

[[noreturn]] void fail(const std::string &message) {
  std::fprintf(stderr, "kiln-tang-gpt: %s\n", message.c_str());
  std::exit(1);
}

/// Windows of T+1 characters evenly spread over `text` (in batches of B):
/// the fixed validation set, every character in at least one window.
std::vector<int64_t> validationStarts(int64_t textLength, int64_t T, int64_t B) {
  int64_t last = textLength - T - 1;
  int64_t batches = std::max<int64_t>(1, (last + T * B - 1) / (T * B));
  int64_t count = batches * B;
  std::vector<int64_t> starts;
  for (int64_t i = 0; i < count; ++i)
    starts.push_back(count == 1 ? 0 : i * last / (count - 1));
  return starts;
}

} // namespace

int main(int argc, char **argv) {
  int64_t steps = 400, evalEvery = 50;
  double temperature = 0.8;
  uint64_t seed = 1;
  bool profile = false;
  std::string textPath = "/usr/share/games/fortunes/tang300", svgPath = "tang_gpt_loss.svg",
              htmlPath = "tang_gpt_attention.html", reportPath;
  CharLmConfig config;
  config.layers = 4, config.dModel = 256, config.heads = 4, config.context = 128, config.hidden = 1024;
  config.batch = 16, config.dropout = 0.2;
  CommandLine args(argc, argv, "kiln-tang-gpt");
  while (args.next()) {
    if (args.is("--steps"))
      steps = args.count();
    else if (args.is("--batch"))
      config.batch = args.count();
    else if (args.is("--eval-every"))
      evalEvery = args.count();
    else if (args.is("--layers"))
      config.layers = args.count();
    else if (args.is("--d-model"))
      config.dModel = args.count();
    else if (args.is("--context"))
      config.context = args.count();
    else if (args.is("--profile"))
      profile = true;
    else if (args.is("--dropout"))
      config.dropout = args.real();
    else if (args.is("--seed"))
      seed = args.seed();
    else if (args.is("--temperature"))
      temperature = args.real();
    else if (args.is("--text"))
      textPath = args.value();
    else if (args.is("--svg"))
      svgPath = args.value();
    else if (args.is("--html"))
      htmlPath = args.value();
    else if (args.is("--report"))
      reportPath = args.value();
    else
      args.usage("[--steps N] [--batch B] [--eval-every N] [--seed S] [--temperature T] [--text FILE] "
                 "[--svg FILE] [--html FILE] [--report FILE] [--layers N] [--d-model N] [--context N] [--dropout P] [--profile]");
  }
  if (config.dModel % config.heads)
    fail("--d-model must be a multiple of " + std::to_string(config.heads) + " (the heads)");
  config.hidden = 4 * config.dModel;
  config.seed = seed;

  const int64_t T = config.context, B = config.batch;
  std::string error;
  std::optional<TangText> text = loadTangText(textPath, T, error);
  if (!text)
    fail(error);
  const TangCorpus &corpus = text->corpus;
  const Vocabulary &vocab = text->vocab;
  config.vocab = int64_t(vocab.chars.size());

  // The training step (AdamW) and a forward pass giving the loss for validation.
  // The training graph takes the step's number, which varies the dropout masks.
  auto lossGraph = [&](const std::string &name, bool training) {
    auto g = std::make_unique<kiln::Graph>(name);
    kiln::Tensor ids = g->input("ids", {B, T}, kiln::DType::i64);
    kiln::Tensor targets = g->input("targets", {B, T}, kiln::DType::i64);
    kiln::Tensor stepNumber = training ? g->input("step", {}, kiln::DType::i64) : kiln::Tensor{};
    g->output(kiln::cross_entropy(charLm(*g, ids, config, stepNumber).logits, targets), "loss");
    return g;
  };
  auto t0 = Clock::now();
  auto trainGraph = lossGraph("tang_gpt", true);
  kiln::CompileOptions stepOptions;
  stepOptions.profile = profile;
  auto step = kiln::train_step(*trainGraph, "loss", {}, kiln::Optimizer::adamw(0.1), stepOptions);
  if (!step)
    fail(step.error());
  auto evalFn = kiln::Function::compile(*lossGraph("tang_gpt_eval", false));
  if (!evalFn)
    fail(evalFn.error());
  int64_t paramCount = parameterCount(*evalFn);
  std::printf("model: %lld layers, d_model %lld, %lld heads, context %lld, %.2fM parameters, dropout %g; "
              "batch %lld, AdamW (weight decay 0.1), warm-up then cosine decay\n",
              (long long)config.layers, (long long)config.dModel, (long long)config.heads, (long long)T,
              double(paramCount) / 1e6, config.dropout, (long long)B);
  std::printf("compiled the training step and the validation pass in %.1f s\n", secondsSince(t0));

  std::mt19937 rng{uint32_t(seed)};
  std::uniform_int_distribution<int64_t> start(0, int64_t(corpus.train.size()) - T - 1);
  kiln::HostTensor x(kiln::DType::i64, {B, T}), y(kiln::DType::i64, {B, T});
  auto fill = [&](int64_t b, const std::vector<char32_t> &text, int64_t s) {
    for (int64_t t = 0; t < T; ++t) {
      x.data<int64_t>()[b * T + t] = vocab.ids.at(text[s + t]);
      y.data<int64_t>()[b * T + t] = vocab.ids.at(text[s + t + 1]);
    }
  };
  const std::vector<int64_t> valStarts = validationStarts(int64_t(corpus.val.size()), T, B);
  auto validationLoss = [&]() {
    for (const kiln::TensorInfo &p : evalFn->params())
      if (auto s = evalFn->setParam(p.name, *step->param(p.name)); !s)
        fail(s.error());
    double sum = 0;
    for (size_t i = 0; i < valStarts.size(); i += B) {
      for (int64_t b = 0; b < B; ++b)
        fill(b, corpus.val, valStarts[i + b]);
      auto out = evalFn->run({x, y});
      if (!out)
        fail(out.error());
      sum += (*out)[0].at(0);
    }
    return sum / double(valStarts.size() / B);
  };
  // Warm-up over the first 5% of the steps, then a cosine decay to a tenth.
  const double peak = 1e-3, warm = std::max<double>(1, 0.05 * double(steps));
  auto lr = [&](int64_t s) {
    if (double(s) <= warm)
      return peak * double(s) / warm;
    return 0.1 * peak + 0.9 * peak * 0.5 * (1 + std::cos(M_PI * (double(s) - warm) / (double(steps) - warm)));
  };

  std::printf("training for %lld steps (%lld characters each), validation every %lld:\n", (long long)steps,
              (long long)(B * T), (long long)evalEvery);
  LossCurve curve;
  double trainSeconds = 0, best = 1e300;
  std::map<std::string, kiln::HostTensor> bestWeights;
  int64_t bestStep = 0;
  kiln::HostTensor rate(step->inputs().back().dtype, {}), stepNumber(kiln::DType::i64, {});
  for (int64_t s = 1; s <= steps; ++s) {
    for (int64_t b = 0; b < B; ++b)
      fill(b, corpus.train, start(rng));
    rate.set(0, lr(s));
    stepNumber.set(0, double(s));
    auto t = Clock::now();
    auto out = step->run({x, y, stepNumber, rate});
    trainSeconds += secondsSince(t);
    if (!out)
      fail("step " + std::to_string(s) + ": " + out.error());
    curve.train.push_back((*out)[0].at(0));
    if (s % evalEvery == 0 || s == steps) {
      double val = validationLoss();
      curve.val.push_back({s, val});
      if (val < best) { // keep the weights with the best validation loss for sampling
        best = val, bestStep = s;
        for (const kiln::TensorInfo &p : evalFn->params())
          bestWeights[p.name] = *evalFn->param(p.name);
      }
      double recent = 0;
      int64_t n = std::min<int64_t>(evalEvery, s);
      for (int64_t i = s - n; i < s; ++i)
        recent += curve.train[i];
      std::printf("  step %5lld  train %.3f  val %.3f  lr %.2e  %6.0f tokens/s\n", (long long)s,
                  recent / double(n), val, lr(s), double(s * B * T) / trainSeconds);
      std::fflush(stdout);
    }
  }
  double tokensPerSecond = double(steps * B * T) / trainSeconds;
  if (std::string error; profile && !printStepProfile(*step, error))
    fail(error);
  if (writeLossCurveSvg(svgPath, curve, "kiln: a GPT on the Tang poems (tang300)"))
    std::printf("wrote the loss curve to %s\n", svgPath.c_str());
  else
    fail("cannot write " + svgPath);

  // Sampling, with the last layer's attention for every character.
  kiln::Graph infer("tang_gpt_infer");
  CharLmConfig one = config;
  one.batch = 1;
  CharLmOutputs outputs = charLm(infer, infer.input("ids", {1, T}, kiln::DType::i64), one);
  infer.output(outputs.logits, "logits");
  infer.output(outputs.lastAttention, "attention");
  auto fn = kiln::Function::compile(infer);
  if (!fn)
    fail(fn.error());
  for (const kiln::TensorInfo &p : fn->params())
    if (auto s = fn->setParam(p.name, bestWeights.at(p.name)); !s)
      fail(s.error());
  std::printf("\nsampling with the weights of step %lld (the best validation loss)\n", (long long)bestStep);
  Predictor predictor{std::move(*fn), one};
  bool color = isatty(fileno(stdout)) && !std::getenv("NO_COLOR");
  std::mt19937 sampler{uint32_t(seed) + 1};
  const std::vector<char32_t> poemStart = decodeUtf8("%\n");
  std::vector<std::pair<std::string, std::vector<Generated>>> runs;
  for (const char *prompt : {"《", "《春"}) {
    auto generated = predictor.generate(vocab, decodeUtf8(prompt), temperature, sampler, 120, U'%', poemStart);
    std::printf("sampled (temperature %.2f) from \"%s\":\n%s%s\n", temperature, prompt, prompt,
                continuationOf(generated, U'%').c_str());
    runs.push_back({prompt, generated});
  }
  std::printf("\nattention of the last layer over the last 32 characters of the context, per sampled "
              "character of the first poem's first verse:\n");
  const std::vector<Generated> &first = runs.front().second;
  int lines = 0;
  for (const Generated &g : first) {
    printAttention(g, color, 32);
    if (g.next == U'\n' && ++lines == 3)
      break;
  }
  writeAttentionHtml(htmlPath, "kiln Tang GPT attention", runs);
  std::printf("wrote the attention pages to %s\n", htmlPath.c_str());
  if (!reportPath.empty()) { // kiln report of the trained model on the first sampled poem
    auto [ids, labels] = textWindow(vocab, decodeUtf8("《" + continuationOf(first, U'%')), T);
    if (!writeModelReport(reportPath, infer, predictor.fn, {{"ids", ids}}, labels))
      fail("cannot write " + reportPath);
  }
  std::printf("\ntang-gpt: %lld steps, batch %lld, context %lld, %.0f tokens/s, val loss %.4f at the end "
              "(best %.4f at step %lld), %.1f s training\n",
              (long long)steps, (long long)B, (long long)T, tokensPerSecond, curve.val.back().second, best,
              (long long)bestStep, trainSeconds);
  double uniform = std::log(double(config.vocab));
  bool learned = curve.val.back().second < uniform;
  std::printf("%s: the validation loss %s that of a uniform guess over the vocabulary (%.3f)\n",
              learned ? "ok" : "FAILED", learned ? "is below" : "is not below", uniform);
  return learned ? 0 : 1;
}
