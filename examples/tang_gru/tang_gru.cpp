// A GRU that learns the Tang poems Debian ships (fortunes-zh's tang300),
// character by character: the seed's recurrent network. Characters are
// embedded, run through a stacked GRU (kiln::gru: one nn.scan per layer,
// trained by backpropagation through time) and projected to the next
// character's logits; Adam with cosine decay, a held-out tenth of the
// poems for validation. Then it writes poems: a one-step model takes the
// character and the layers' hidden states and gives the next character's
// logits and the new states, sampled character by character.
//
//   kiln-tang-gru [--steps N] [--batch B] [--context T] [--hidden H]
//                 [--layers N] [--eval-every N] [--seed S] [--temperature T] [--text FILE]
//                 [--out DIR] [--no-aot]
//
// Then (unless --no-aot) the one-step model is compiled ahead of time into
// a static library, linked with write.c (the character loop in C) into
// DIR/tang_gru_write, and run: greedily, where it must write what the JIT
// writes, and sampling.
//
// Exit status 0 when the final validation loss is below that of a uniform
// guess over the vocabulary (ln V nats), the model learned something, and
// the ahead-of-time program agrees with the JIT.
#include "../charlm/generate.h"
#include "../common/command_line.h"
#include "../common/model_report.h"
#include "../common/shell.h"
#include "../common/step_report.h"
#include "../tang_gpt/tang_poems.h"
#include "kiln/kiln.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>

namespace {

using Clock = std::chrono::steady_clock;
double secondsSince(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

[[noreturn]] void fail(const std::string &message) {
  std::fprintf(stderr, "kiln-tang-gru: %s\n", message.c_str());
  std::exit(1);
}

struct GruConfig {
  int64_t vocab = 0, embed = 64, hidden = 256, layers = 2;
};

struct StepOutputs {
  kiln::Tensor logits; // [T * B, V]
  kiln::Tensor h;      // [layers, B, H]
};

/// Token ids [B, T] (and the initial hidden states [layers, B, H], or
/// zeros) to the next character's logits, time-major inside.
StepOutputs gruLm(kiln::Graph &g, kiln::Tensor ids, const GruConfig &c, kiln::Tensor h0 = {}) {
  using namespace kiln;
  const int64_t B = ids.shape()[0], T = ids.shape()[1];
  Tensor table = g.param("embedding", {c.vocab, c.embed}, normalInit(0, 0.3, 11));
  Tensor x = transpose(gather(table, ids), {1, 0, 2}); // [T, B, E]
  RecurrentOptions o;
  o.layers = c.layers;
  RecurrentResult r = gru(g, "gru", x, c.hidden, o, h0);
  Tensor w = g.param("head_w", {c.hidden, c.vocab}, normalInit(0, 1 / std::sqrt(double(c.hidden)), 12));
  Tensor b = g.param("head_b", {c.vocab}, zerosInit());
  // Back to batch-major rows, so that row b * T + t predicts ids[b, t + 1].
  Tensor rows = reshape(transpose(r.output, {1, 0, 2}), {B * T, c.hidden});
  return {matmul(rows, w) + b, r.h};
}

} // namespace

int main(int argc, char **argv) {
  int64_t steps = 600, evalEvery = 100, T = 48, B = 32;
  double temperature = 0.7;
  uint64_t seed = 1;
  GruConfig config;
  std::string textPath = "/usr/share/games/fortunes/tang300", outDir = "tang_gru_out", reportPath;
  bool aot = true;
  CommandLine args(argc, argv, "kiln-tang-gru");
  while (args.next()) {
    if (args.is("--steps"))
      steps = args.count();
    else if (args.is("--batch"))
      B = args.count();
    else if (args.is("--context"))
      T = args.count();
    else if (args.is("--hidden"))
      config.hidden = args.count();
    else if (args.is("--layers"))
      config.layers = args.count();
    else if (args.is("--eval-every"))
      evalEvery = args.count();
    else if (args.is("--seed"))
      seed = args.seed();
    else if (args.is("--temperature"))
      temperature = args.real();
    else if (args.is("--text"))
      textPath = args.value();
    else if (args.is("--out"))
      outDir = args.value();
    else if (args.is("--no-aot"))
      aot = false;
    else if (args.is("--report"))
      reportPath = args.value();
    else
      args.usage("[--steps N] [--batch B] [--context T] [--hidden H] [--layers N] [--eval-every N] [--seed S] "
                 "[--temperature T] [--text FILE] [--out DIR] [--no-aot] [--report FILE]");
  }

  std::string error;
  std::optional<TangText> text = loadTangText(textPath, T, error);
  if (!text)
    fail(error);
  const TangCorpus &corpus = text->corpus;
  const Vocabulary &vocab = text->vocab;
  config.vocab = int64_t(vocab.chars.size());

  auto lossGraph = [&](const std::string &name) {
    auto g = std::make_unique<kiln::Graph>(name);
    kiln::Tensor ids = g->input("ids", {B, T}, kiln::DType::i64);
    kiln::Tensor targets = g->input("targets", {B * T}, kiln::DType::i64);
    g->output(kiln::cross_entropy(gruLm(*g, ids, config).logits, targets), "loss");
    return g;
  };
  auto t0 = Clock::now();
  auto trainGraph = lossGraph("tang_gru");
  auto step = kiln::train_step(*trainGraph, "loss", {}, kiln::Optimizer::adam().clippedTo(1.0));
  if (!step)
    fail(step.error());
  auto evalFn = kiln::Function::compile(*lossGraph("tang_gru_eval"));
  if (!evalFn)
    fail(evalFn.error());
  std::printf("model: embedding %lld, %lld GRU layers of %lld, %.2fM parameters; batch %lld, context %lld, "
              "Adam (gradients clipped to norm 1), cosine decay\n",
              (long long)config.embed, (long long)config.layers, (long long)config.hidden,
              double(parameterCount(*evalFn)) / 1e6, (long long)B, (long long)T);
  std::printf("compiled the training step and the validation pass in %.1f s\n", secondsSince(t0));

  std::mt19937 rng{uint32_t(seed)};
  std::uniform_int_distribution<int64_t> start(0, int64_t(corpus.train.size()) - T - 1);
  kiln::HostTensor x(kiln::DType::i64, {B, T}), y(kiln::DType::i64, {B * T});
  auto fill = [&](int64_t b, const std::vector<char32_t> &text, int64_t s) {
    for (int64_t t = 0; t < T; ++t) {
      x.data<int64_t>()[b * T + t] = vocab.ids.at(text[s + t]);
      y.data<int64_t>()[b * T + t] = vocab.ids.at(text[s + t + 1]);
    }
  };
  auto validationLoss = [&]() {
    for (const kiln::TensorInfo &p : evalFn->params())
      if (auto s = evalFn->setParam(p.name, *step->param(p.name)); !s)
        fail(s.error());
    // Every window of the held-out text, T apart, in batches of B.
    int64_t windows = (int64_t(corpus.val.size()) - 1) / T, batches = std::max<int64_t>(1, windows / B);
    double sum = 0;
    for (int64_t k = 0; k < batches; ++k) {
      for (int64_t b = 0; b < B; ++b)
        fill(b, corpus.val, ((k * B + b) % windows) * T);
      auto out = evalFn->run({x, y});
      if (!out)
        fail(out.error());
      sum += (*out)[0].at(0);
    }
    return sum / double(batches);
  };
  const double peak = 3e-3;
  auto lr = [&](int64_t s) { return 0.05 * peak + 0.95 * peak * 0.5 * (1 + std::cos(M_PI * double(s) / double(steps))); };

  std::printf("training for %lld steps, validation every %lld:\n", (long long)steps, (long long)evalEvery);
  kiln::HostTensor rate(step->inputs().back().dtype, {});
  double trainSeconds = 0, recent = 0, val = 0, best = 1e300;
  int64_t bestStep = 0;
  for (int64_t s = 1; s <= steps; ++s) {
    for (int64_t b = 0; b < B; ++b)
      fill(b, corpus.train, start(rng));
    rate.set(0, lr(s));
    auto t = Clock::now();
    auto out = step->run({x, y, rate});
    trainSeconds += secondsSince(t);
    if (!out)
      fail("step " + std::to_string(s) + ": " + out.error());
    recent += (*out)[0].at(0);
    if (s % evalEvery == 0 || s == steps) {
      val = validationLoss();
      if (val < best)
        best = val, bestStep = s;
      int64_t n = s % evalEvery ? s % evalEvery : evalEvery;
      std::printf("  step %5lld  train %.3f  val %.3f  lr %.2e  %6.0f characters/s\n", (long long)s,
                  recent / double(n), val, lr(s), double(s * B * T) / trainSeconds);
      std::fflush(stdout);
      recent = 0;
    }
  }

  if (!reportPath.empty()) { // kiln report of the training step (the GRU's scan and its BPTT), trained
    for (int64_t b = 0; b < B; ++b)
      fill(b, corpus.val, b * T);
    rate.set(0, lr(steps));
    kiln::CompileOptions trainStep;
    trainStep.trainStep = kiln::TrainStepRequest{"loss", {}, kiln::Optimizer::adam().clippedTo(1.0)};
    if (!writeModelReport(reportPath, *trainGraph, *step,
                          {{"ids", x}, {"targets", y}, {step->inputs().back().name, rate}}, {}, trainStep))
      fail("cannot write " + reportPath);
  }

  // Writing: one character at a time through a one-step model that takes
  // and returns the layers' hidden states.
  kiln::Graph one("tang_gru_step");
  kiln::Tensor h0 = one.input("h0", {config.layers, 1, config.hidden});
  StepOutputs next = gruLm(one, one.input("id", {1, 1}, kiln::DType::i64), config, h0);
  one.output(next.logits, "logits");
  one.output(next.h, "h");
  auto fn = kiln::Function::compile(one);
  if (!fn)
    fail(fn.error());
  for (const kiln::TensorInfo &p : fn->params())
    if (auto s = fn->setParam(p.name, *step->param(p.name)); !s)
      fail(s.error());
  // Continues `prompt` by `length` characters: each the most likely one
  // at temperature 0, else sampled; stops at the poems' separator.
  auto write = [&](const char *prompt, int length, double temperature, std::mt19937 &sampler) {
    kiln::HostTensor h(kiln::DType::f32, {config.layers, 1, config.hidden}), id(kiln::DType::i64, {1, 1});
    kiln::HostTensor logits;
    auto advance = [&](int64_t choice) {
      id.set(0, double(choice));
      auto out = fn->run({h, id});
      if (!out)
        fail(out.error());
      logits = std::move((*out)[0]);
      h = std::move((*out)[1]);
    };
    for (char32_t c : decodeUtf8(std::string("%\n") + prompt)) // read the prompt
      advance(vocab.ids.at(c));
    std::vector<char32_t> written;
    for (int i = 0; i < length; ++i) {
      int64_t choice = 0;
      for (int64_t v = 1; v < config.vocab; ++v)
        if (logits.at(v) > logits.at(choice))
          choice = v;
      if (temperature > 0) {
        std::vector<double> p(config.vocab);
        double top = logits.at(choice) / temperature, sum = 0;
        for (int64_t v = 0; v < config.vocab; ++v)
          sum += p[v] = std::exp(logits.at(v) / temperature - top);
        std::uniform_real_distribution<double> u(0, sum);
        double pick = u(sampler);
        choice = 0;
        while (choice + 1 < config.vocab && (pick -= p[choice]) > 0)
          ++choice;
      }
      char32_t c = vocab.chars[choice];
      if (c == U'%')
        break;
      written.push_back(c);
      advance(choice);
    }
    return std::string(prompt) + encodeUtf8(written);
  };
  std::mt19937 sampler{uint32_t(seed) + 1};
  for (const char *prompt : {"《", "《春"})
    std::printf("\nsampled (temperature %.2f) from \"%s\":\n%s\n", temperature, prompt,
                write(prompt, 120, temperature, sampler).c_str());

  bool agrees = true;
  if (aot) {
    // The one-step model compiled ahead of time with the trained weights,
    // linked with write.c (the loop over characters in C); its greedy
    // continuation must be the JIT's.
    namespace fs = std::filesystem;
    fs::create_directories(outDir + "/params");
    for (const kiln::TensorInfo &p : fn->params())
      if (auto s = step->param(p.name)->saveNpy(outDir + "/params/" + p.name + ".npy"); !s)
        fail(s.error());
    std::ofstream words(outDir + "/vocabulary.txt");
    for (char32_t c : vocab.chars)
      words << (c == U'\n' ? std::string("\\n") : encodeUtf8(std::vector<char32_t>{c})) << "\n";
    words.close();
    kiln::ArtifactOptions artifact;
    artifact.kind = "static-lib";
    artifact.output = outDir + "/libtang_gru.a";
    artifact.name = "tang_gru"; // tang_gru.h: tang_gru(), tang_gru_load_weights(), TANG_GRU_*
    artifact.externalWeights = true; // libtang_gru.a.weights, read by tang_gru_load_weights
    artifact.paramsDir = outDir + "/params";
    auto report = kiln::compileArtifact(one.str(true), "tang_gru_step.mlir", {}, artifact);
    if (!report)
      fail(report.error());
    std::string program = outDir + "/tang_gru_write";
    std::string link = "cc -O2 -std=c99 -I " + shellQuoted(outDir) + " " +
                       shellQuoted(std::string(KILN_EXAMPLES_DIR) + "/tang_gru/write.c") + " " +
                       shellQuoted(artifact.output) + " -lm -o " + shellQuoted(program);
    if (std::system(link.c_str()) != 0)
      fail("linking the ahead-of-time program failed: " + link);
    std::printf("\ncompiled the one-step model ahead of time (%.1f s) and linked it with write.c, the loop in C:\n",
                report->totalSeconds);
    auto run = [&](const std::string &arguments) {
      std::string command = shellQuoted(program) + " " + shellQuoted(outDir) + " " + arguments;
      std::printf("  $ %s\n", command.c_str());
      std::optional<std::string> out = outputOf(command);
      if (!out)
        fail("the ahead-of-time program failed: " + command);
      std::printf("%s\n", out->c_str());
      return *out;
    };
    std::string greedy = run(shellQuoted("《春") + " 40"), jit = write("《春", 40, 0, sampler);
    agrees = greedy == jit;
    std::printf("its greedy continuation %s the JIT's%s\n", agrees ? "is" : "DIFFERS from",
                agrees ? "" : (":\n" + jit).c_str());
    run("'《' 120 " + std::to_string(temperature) + " " + std::to_string(seed));
  }
  // (The text is small, 27k characters: the validation loss is lowest
  // after about 100 steps and the model then learns the poems by heart;
  // the samples come from the final weights.)
  std::printf("\ntang-gru: %lld steps, batch %lld, context %lld, %.0f characters/s, val loss %.4f at the end "
              "(best %.4f at step %lld), %.1f s training\n",
              (long long)steps, (long long)B, (long long)T, double(steps * B * T) / trainSeconds, val, best,
              (long long)bestStep, trainSeconds);
  double uniform = std::log(double(config.vocab));
  bool learned = val < uniform;
  std::printf("%s: the validation loss %s that of a uniform guess over the vocabulary (%.3f)\n",
              learned ? "ok" : "FAILED", learned ? "is below" : "is not below", uniform);
  return learned && agrees ? 0 : 1;
}
