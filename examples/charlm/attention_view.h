// The attention view: for every generated character, the context it
// attended to, coloured by weight in the terminal and in an HTML page.
#pragma once
#include "generate.h"

#include <cmath>
#include <cstdio>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

inline std::string shownChar(char32_t c) { return c == U'\n' ? "⏎" : encodeUtf8(c); }

/// `text`'s first T characters as a model's input ids [1, T] (the rest
/// padded with id 0, which a causal model's earlier positions never see)
/// and as labels of kiln report's attention maps ("·" for the padding).
inline std::pair<kiln::HostTensor, std::vector<std::string>> textWindow(const Vocabulary &vocab,
                                                                        const std::vector<char32_t> &text,
                                                                        int64_t T) {
  kiln::HostTensor ids(kiln::DType::i64, {1, T});
  std::vector<std::string> labels;
  for (int64_t t = 0; t < T; ++t) {
    bool inText = t < int64_t(text.size()) && vocab.ids.count(text[t]);
    ids.data<int64_t>()[t] = inText ? vocab.ids.at(text[t]) : 0;
    labels.push_back(inText ? shownChar(text[t]) : "·");
  }
  return {ids, labels};
}

inline std::string htmlEscaped(const std::string &text) {
  std::string out;
  for (char c : text)
    out += c == '<' ? "&lt;" : c == '>' ? "&gt;" : c == '&' ? "&amp;" : c == '"' ? "&quot;" : std::string(1, c);
  return out;
}

/// The context coloured by attention weight (white to deep orange); only
/// its last `width` characters where it is longer (the rest is summed into
/// a leading "…" whose colour is their total weight).
inline void printAttention(const Generated &g, bool color, size_t width = 64) {
  std::printf("  %s <- ", shownChar(g.next).c_str());
  size_t first = g.context.size() > width ? g.context.size() - width : 0;
  auto cell = [&](const std::string &text, double w) {
    if (color) {
      int r = 255, gg = int(255 - 155 * std::sqrt(w)), b = int(255 - 235 * std::sqrt(w));
      std::printf("\x1b[48;2;%d;%d;%dm\x1b[38;2;0;0;0m%s\x1b[0m", r, gg, b, text.c_str());
    } else {
      std::printf("%s(%.2f) ", text.c_str(), w);
    }
  };
  if (first > 0) {
    double skipped = 0;
    for (size_t j = 0; j < first; ++j)
      skipped += g.attention[j];
    cell("…", skipped);
  }
  for (size_t j = first; j < g.context.size(); ++j)
    cell(shownChar(g.context[j]), g.attention[j]);
  std::printf("\n");
}

/// One page with a table per prompt: each generated character and its
/// whole context, darker where the weight is larger (the weight on hover).
inline void writeAttentionHtml(const std::string &path, const std::string &title,
                               const std::vector<std::pair<std::string, std::vector<Generated>>> &runs,
                               const std::string &description =
                                   "Attention of the last layer (mean over heads): for each generated character, "
                                   "the context it attended to; darker = more weight.") {
  std::ofstream html(path);
  html << "<!doctype html><meta charset=\"utf-8\"><title>" << title << "</title>\n"
          "<style>body{font-family:sans-serif} td{padding:2px 4px} .c{display:inline-block;"
          "min-width:1.4em;text-align:center;margin:1px;padding:3px;border-radius:3px}</style>\n"
          "<h1>"
       << title
       << "</h1>\n<p>" << htmlEscaped(description) << "</p>\n";
  for (const auto &[prompt, generated] : runs) {
    html << "<h2>prompt: " << htmlEscaped(prompt) << "</h2><table>\n";
    for (const Generated &g : generated) {
      html << "<tr><td><b>" << htmlEscaped(shownChar(g.next)) << "</b></td><td>";
      for (size_t j = 0; j < g.context.size(); ++j) {
        double w = g.attention[j];
        char style[128];
        std::snprintf(style, sizeof style, "background:rgba(230,90,20,%.3f)", std::sqrt(w));
        html << "<span class=\"c\" style=\"" << style << "\" title=\"" << w << "\">"
             << htmlEscaped(shownChar(g.context[j])) << "</span>";
      }
      html << "</td></tr>\n";
    }
    html << "</table>\n";
  }
}
