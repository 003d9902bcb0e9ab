// Text generation with a trained character-level model: the vocabulary of
// code points and a predictor that continues a prompt one character at a
// time, keeping for every character the attention of its position over the
// context (what examples/charlm/attention_view.h shows).
#pragma once
#include "charlm_model.h"
#include "utf8.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <random>
#include <vector>

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

/// The model for inference (batch 1) with the trained weights: outputs 0
/// and 1 of `fn` are charLm's logits and lastAttention.
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

  /// Continues `start` + `prompt` until the character `stop` (or `limit`
  /// characters): greedy with temperature 0, sampled otherwise. `start` is
  /// what precedes a prompt in the training text (a line break for lines).
  std::vector<Generated> generate(const Vocabulary &vocab, const std::vector<char32_t> &prompt,
                                  double temperature, std::mt19937 &rng, int limit = 24,
                                  char32_t stop = U'\n', const std::vector<char32_t> &start = {U'\n'}) {
    std::vector<char32_t> context = start;
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
      if (vocab.chars[pick] == stop)
        break;
      context.push_back(vocab.chars[pick]);
    }
    return out;
  }
};

/// The generated characters, without a final `stop`.
inline std::string continuationOf(const std::vector<Generated> &generated, char32_t stop = U'\n') {
  std::vector<char32_t> text;
  for (const Generated &g : generated)
    if (g.next != stop)
      text.push_back(g.next);
  return encodeUtf8(text);
}
