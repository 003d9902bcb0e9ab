// A character-level language model with self-attention, trained by kiln on
// a small text and used to continue prompts, showing for every generated
// character the last layer's attention over the context (coloured in the
// terminal, and as an HTML page).
//
//   kiln-charlm [--steps N] [--temperature T] [--seed S] [--html FILE] [--text FILE] [--report FILE]
//
// Exit status 0 when greedy decoding continues both seed prompts exactly.
#include "attention_view.h"
#include "../common/model_report.h"
#include "charlm_model.h"
#include "generate.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <random>
#include <sstream>
#include <unistd.h>

int main(int argc, char **argv) {
  int64_t steps = 1200;
  double temperature = 0.8;
  uint64_t seed = 1;
  std::string htmlPath = "charlm_attention.html", textPath = KILN_EXAMPLES_DIR "/charlm/toys.txt";
  std::string reportPath; // --report: kiln report of the trained model on the dialog
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "kiln-charlm: %s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--steps")
      steps = std::atoll(value().c_str());
    else if (a == "--temperature")
      temperature = std::atof(value().c_str());
    else if (a == "--seed")
      seed = std::strtoull(value().c_str(), nullptr, 10);
    else if (a == "--html")
      htmlPath = value();
    else if (a == "--report")
      reportPath = value();
    else if (a == "--text")
      textPath = value();
    else {
      std::fprintf(stderr, "usage: kiln-charlm [--steps N] [--temperature T] [--seed S] [--html FILE] [--text FILE] [--report FILE]\n");
      return 2;
    }
  }
  std::ifstream file(textPath, std::ios::binary);
  if (!file) {
    std::fprintf(stderr, "kiln-charlm: cannot read %s\n", textPath.c_str());
    return 1;
  }
  std::stringstream buffer;
  buffer << file.rdbuf();
  std::vector<char32_t> text = decodeUtf8(buffer.str());
  Vocabulary vocab(text);
  CharLmConfig config;
  config.vocab = int64_t(vocab.chars.size());
  config.seed = seed;
  std::printf("text: %s, %zu characters, vocabulary of %lld code points\n", textPath.c_str(),
              text.size(), (long long)config.vocab);
  std::printf("model: %lld layers, d_model %lld, %lld heads, context %lld, batch %lld; AdamW\n",
              (long long)config.layers, (long long)config.dModel, (long long)config.heads,
              (long long)config.context, (long long)config.batch);

  // Training: next-character prediction on random windows of the text.
  kiln::Graph train("charlm");
  kiln::Tensor ids = train.input("ids", {config.batch, config.context}, kiln::DType::i64);
  kiln::Tensor targets = train.input("targets", {config.batch, config.context}, kiln::DType::i64);
  train.output(kiln::cross_entropy(charLm(train, ids, config).logits, targets), "loss");
  auto t0 = std::chrono::steady_clock::now();
  auto step = kiln::train_step(train, "loss", {}, kiln::Optimizer::adamw(0.01));
  if (!step) {
    std::fprintf(stderr, "%s\n", step.error().c_str());
    return 1;
  }
  std::printf("compiled the training step in %.2f s\n",
              std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  std::mt19937 rng{uint32_t(seed)};
  const int64_t T = config.context, B = config.batch;
  std::uniform_int_distribution<int64_t> start(0, int64_t(text.size()) - T - 1);
  kiln::HostTensor x(kiln::DType::i64, {B, T}), y(kiln::DType::i64, {B, T});
  auto batch = [&](int64_t) {
    for (int64_t b = 0; b < B; ++b) {
      int64_t s = start(rng);
      for (int64_t t = 0; t < T; ++t) {
        x.data<int64_t>()[b * T + t] = vocab.ids[text[s + t]];
        y.data<int64_t>()[b * T + t] = vocab.ids[text[s + t + 1]];
      }
    }
    return std::vector{x, y};
  };
  // Warm up for 50 steps, then a cosine decay from 3e-3.
  auto lr = [&](int64_t s) {
    double peak = 3e-3, warm = 50;
    if (s < warm)
      return peak * double(s) / warm;
    return 1e-4 + (peak - 1e-4) * 0.5 * (1 + std::cos(M_PI * double(s - warm) / double(steps - warm)));
  };
  std::printf("training for %lld steps:\n", (long long)steps);
  auto losses = kiln::trainLoop(*step, steps, batch, lr);
  if (!losses) {
    std::fprintf(stderr, "%s\n", losses.error().c_str());
    return 1;
  }

  // Inference with the trained weights.
  kiln::Graph infer("charlm_infer");
  CharLmConfig one = config;
  one.batch = 1;
  CharLmOutputs out = charLm(infer, infer.input("ids", {1, T}, kiln::DType::i64), one);
  infer.output(out.logits, "logits");
  infer.output(out.lastAttention, "attention");
  auto fn = kiln::Function::compile(infer);
  if (!fn) {
    std::fprintf(stderr, "%s\n", fn.error().c_str());
    return 1;
  }
  for (const kiln::TensorInfo &p : fn->params())
    (void)fn->setParam(p.name, *step->param(p.name));
  Predictor predictor{std::move(*fn), one};

  bool color = isatty(fileno(stdout)) && !std::getenv("NO_COLOR");
  std::vector<std::pair<std::string, std::vector<Generated>>> runs;
  bool allMatch = true;
  for (auto [prompt, expected] : {std::pair<std::string, std::string>{"都是", "勇敢的,你破旧的玩偶"},
                                  {"你吃了吗?", "吃了!"}}) {
    auto generated = predictor.generate(vocab, decodeUtf8(prompt), 0, rng);
    std::string continuation = continuationOf(generated);
    bool match = continuation == expected;
    allMatch &= match;
    std::printf("\ngreedy: %s -> %s   [%s: expected %s]\n", prompt.c_str(), continuation.c_str(),
                match ? "ok" : "MISMATCH", expected.c_str());
    std::printf("attention of the last layer over the context, per generated character:\n");
    for (const Generated &g : generated)
      printAttention(g, color);
    runs.push_back({prompt, generated});
  }
  if (temperature > 0) {
    std::mt19937 sampler{uint32_t(seed) + 1};
    for (const char *prompt : {"都是", "你", "风"}) {
      auto generated = predictor.generate(vocab, decodeUtf8(prompt), temperature, sampler);
      std::printf("sampled (temperature %.2f): %s -> %s\n", temperature, prompt,
                  continuationOf(generated).c_str());
    }
  }
  writeAttentionHtml(htmlPath, "kiln char-LM attention", runs);
  std::printf("\nwrote the attention pages to %s\n", htmlPath.c_str());
  if (!reportPath.empty()) {
    // The compiler's report of the inference model, trained, on the seed's
    // dialog: its attention maps show which characters each one attends to.
    auto [dialogIds, labels] = textWindow(vocab, decodeUtf8("你吃了吗?吃了!"), T);
    if (!writeModelReport(reportPath, infer, predictor.fn, {{"ids", dialogIds}}, labels))
      return 1;
  }
  return allMatch ? 0 : 1;
}
