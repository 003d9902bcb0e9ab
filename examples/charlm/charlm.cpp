// A character-level language model with self-attention, trained by kiln on
// a small text and used to continue prompts, showing for every generated
// character the last layer's attention over the context (coloured in the
// terminal, and as an HTML page).
//
//   kiln-charlm [--steps N] [--temperature T] [--seed S] [--html FILE] [--text FILE]
//
// Exit status 0 when greedy decoding continues both seed prompts exactly.
#include "charlm_model.h"
#include "utf8.h"

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

namespace {

struct Vocabulary {
  std::vector<char32_t> chars; // id -> code point
  std::map<char32_t, int64_t> ids;
  explicit Vocabulary(const std::vector<char32_t> &text) {
    chars = text;
    std::sort(chars.begin(), chars.end());
    chars.erase(std::unique(chars.begin(), chars.end()), chars.end());
    for (size_t i = 0; i < chars.size(); ++i)
      ids[chars[i]] = int64_t(i);
  }
};

/// One generated character and the attention of its position over the context.
struct Generated {
  char32_t next;
  std::vector<char32_t> context;
  std::vector<double> attention; // one weight per context character
};

/// The model for inference (batch 1) with the trained weights.
struct Predictor {
  kiln::Function fn;
  CharLmConfig config;

  /// Logits and attention row of the last position of `context` (the last
  /// `config.context` characters; the rest of the window is padding that
  /// the causal mask keeps out).
  std::pair<std::vector<float>, std::vector<double>> step(const Vocabulary &vocab,
                                                          const std::vector<char32_t> &context) {
    const int64_t T = config.context;
    std::vector<char32_t> window(context.end() - std::min<int64_t>(T, context.size()), context.end());
    kiln::HostTensor ids(kiln::DType::i64, {1, T});
    for (int64_t t = 0; t < T; ++t)
      ids.data<int64_t>()[t] = t < int64_t(window.size()) ? vocab.ids.at(window[t]) : 0;
    auto out = fn.run({ids});
    if (!out) {
      std::fprintf(stderr, "%s\n", out.error().c_str());
      std::exit(1);
    }
    int64_t last = int64_t(window.size()) - 1, V = config.vocab;
    std::vector<float> logits((*out)[0].data<float>() + last * V, (*out)[0].data<float>() + (last + 1) * V);
    std::vector<double> row;
    for (int64_t j = 0; j <= last; ++j)
      row.push_back((*out)[1].data<float>()[last * T + j]);
    return {logits, row};
  }

  /// Continues `prompt` until a newline (or `limit` characters): greedy
  /// with temperature 0, sampled otherwise.
  std::vector<Generated> generate(const Vocabulary &vocab, const std::vector<char32_t> &prompt,
                                  double temperature, std::mt19937 &rng, int limit = 24) {
    std::vector<char32_t> context{U'\n'}; // a prompt starts a line
    context.insert(context.end(), prompt.begin(), prompt.end());
    std::vector<Generated> out;
    for (int i = 0; i < limit; ++i) {
      auto [logits, attention] = step(vocab, context);
      int64_t pick = std::max_element(logits.begin(), logits.end()) - logits.begin();
      if (temperature > 0) {
        std::vector<double> p(logits.size());
        double mx = *std::max_element(logits.begin(), logits.end());
        for (size_t k = 0; k < p.size(); ++k) // discrete_distribution normalizes
          p[k] = std::exp((logits[k] - mx) / temperature);
        pick = std::discrete_distribution<int64_t>(p.begin(), p.end())(rng);
      }
      std::vector<char32_t> shown(context.end() - std::min<size_t>(config.context, context.size()),
                                  context.end());
      out.push_back({vocab.chars[pick], shown, attention});
      if (vocab.chars[pick] == U'\n')
        break;
      context.push_back(vocab.chars[pick]);
    }
    return out;
  }
};

std::string shown(char32_t c) { return c == U'\n' ? "⏎" : encodeUtf8(c); }

/// The context coloured by attention weight (white to deep orange).
void printAttention(const Generated &g, bool color) {
  std::printf("  %s <- ", shown(g.next).c_str());
  for (size_t j = 0; j < g.context.size(); ++j) {
    double w = g.attention[j];
    if (color) {
      int r = 255, gg = int(255 - 155 * std::sqrt(w)), b = int(255 - 235 * std::sqrt(w));
      std::printf("\x1b[48;2;%d;%d;%dm\x1b[38;2;0;0;0m%s\x1b[0m", r, gg, b, shown(g.context[j]).c_str());
    } else {
      std::printf("%s(%.2f) ", shown(g.context[j]).c_str(), w);
    }
  }
  std::printf("\n");
}

void writeHtml(const std::string &path, const std::vector<std::pair<std::string, std::vector<Generated>>> &runs) {
  std::ofstream html(path);
  html << "<!doctype html><meta charset=\"utf-8\"><title>kiln char-LM attention</title>\n"
          "<style>body{font-family:sans-serif} td{padding:2px 4px} .c{display:inline-block;"
          "min-width:1.4em;text-align:center;margin:1px;padding:3px;border-radius:3px}</style>\n"
          "<h1>Attention of the last layer (mean over heads)</h1>\n"
          "<p>For each generated character, the context it attended to; darker = more weight.</p>\n";
  for (const auto &[prompt, generated] : runs) {
    html << "<h2>prompt: " << prompt << "</h2><table>\n";
    for (const Generated &g : generated) {
      html << "<tr><td><b>" << shown(g.next) << "</b></td><td>";
      for (size_t j = 0; j < g.context.size(); ++j) {
        double w = g.attention[j];
        char style[128];
        std::snprintf(style, sizeof style, "background:rgba(230,90,20,%.3f)", std::sqrt(w));
        html << "<span class=\"c\" style=\"" << style << "\" title=\"" << w << "\">"
             << shown(g.context[j]) << "</span>";
      }
      html << "</td></tr>\n";
    }
    html << "</table>\n";
  }
}

} // namespace

int main(int argc, char **argv) {
  int64_t steps = 1200;
  double temperature = 0.8;
  uint64_t seed = 1;
  std::string htmlPath = "charlm_attention.html", textPath = KILN_EXAMPLES_DIR "/charlm/toys.txt";
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
    else if (a == "--text")
      textPath = value();
    else {
      std::fprintf(stderr, "usage: kiln-charlm [--steps N] [--temperature T] [--seed S] [--html FILE] [--text FILE]\n");
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
    std::vector<char32_t> continuation;
    for (const Generated &g : generated)
      if (g.next != U'\n')
        continuation.push_back(g.next);
    bool match = encodeUtf8(continuation) == expected;
    allMatch &= match;
    std::printf("\ngreedy: %s -> %s   [%s: expected %s]\n", prompt.c_str(),
                encodeUtf8(continuation).c_str(), match ? "ok" : "MISMATCH", expected.c_str());
    std::printf("attention of the last layer over the context, per generated character:\n");
    for (const Generated &g : generated)
      printAttention(g, color);
    runs.push_back({prompt, generated});
  }
  if (temperature > 0) {
    std::mt19937 sampler{uint32_t(seed) + 1};
    for (const char *prompt : {"都是", "你", "风"}) {
      auto generated = predictor.generate(vocab, decodeUtf8(prompt), temperature, sampler);
      std::vector<char32_t> continuation;
      for (const Generated &g : generated)
        if (g.next != U'\n')
          continuation.push_back(g.next);
      std::printf("sampled (temperature %.2f): %s -> %s\n", temperature, prompt,
                  encodeUtf8(continuation).c_str());
    }
  }
  writeHtml(htmlPath, runs);
  std::printf("\nwrote the attention pages to %s\n", htmlPath.c_str());
  return allMatch ? 0 : 1;
}
