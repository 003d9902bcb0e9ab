// The Tang poems that Debian ships (fortunes-zh's `tang300`: 300 poems,
// each a title line 《…》, an author line and its verses, separated by
// lines holding "%"), read as a training text with a held-out split.
#pragma once
#include "../charlm/generate.h" // Vocabulary
#include "../charlm/utf8.h"

#include <cstdio>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

struct TangCorpus {
  std::vector<std::string> poems;   // each "《title》\n作者：…\nverses…\n"
  std::vector<char32_t> train, val; // poems joined by "%\n", as in the file
};

/// Removes the terminal colour codes (ESC [ ... m) the fortune file wraps
/// titles and authors in.
inline std::string withoutColourCodes(const std::string &text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\x1b' && i + 1 < text.size() && text[i + 1] == '[') {
      size_t end = text.find('m', i);
      if (end != std::string::npos) {
        i = end;
        continue;
      }
    }
    out += text[i];
  }
  return out;
}

/// Reads `path`; every `valEvery`-th poem goes to the validation text (a
/// split by whole poems, so no verse is in both). Empty poems on error.
inline TangCorpus readTangPoems(const std::string &path, int valEvery = 10) {
  TangCorpus corpus;
  std::ifstream file(path, std::ios::binary);
  if (!file)
    return corpus;
  std::stringstream buffer;
  buffer << file.rdbuf();
  std::istringstream lines(withoutColourCodes(buffer.str()));
  std::string line, poem;
  auto flush = [&] {
    if (!poem.empty())
      corpus.poems.push_back(poem);
    poem.clear();
  };
  while (std::getline(lines, line)) {
    if (!line.empty() && line.back() == '\r')
      line.pop_back();
    if (line == "%")
      flush();
    else if (!line.empty())
      poem += line + "\n";
  }
  flush();
  for (size_t i = 0; i < corpus.poems.size(); ++i) {
    std::vector<char32_t> &to = (i % valEvery == size_t(valEvery - 1)) ? corpus.val : corpus.train;
    std::vector<char32_t> text = decodeUtf8(corpus.poems[i] + "%\n");
    to.insert(to.end(), text.begin(), text.end());
  }
  return corpus;
}

/// The poems and their vocabulary, as the Tang examples train on them.
struct TangText {
  TangCorpus corpus;
  Vocabulary vocab{{}};
};

/// Reads the poems of `path` for a model reading `context` characters at a
/// time and prints what it read; on failure, nothing and `error` says why.
inline std::optional<TangText> loadTangText(const std::string &path, int64_t context, std::string &error) {
  TangText text{readTangPoems(path), Vocabulary({})};
  const TangCorpus &corpus = text.corpus;
  if (corpus.poems.empty()) {
    error = "cannot read the poems in " + path +
            " (Debian's fortunes-zh has them: apt-get install fortunes-zh; or give --text FILE)";
    return std::nullopt;
  }
  if (int64_t(corpus.train.size()) < context + 2 || int64_t(corpus.val.size()) < context + 2) {
    error = path + " is too short for context " + std::to_string(context);
    return std::nullopt;
  }
  std::vector<char32_t> all = corpus.train;
  all.insert(all.end(), corpus.val.begin(), corpus.val.end());
  text.vocab = Vocabulary(all);
  std::printf("text: %s, %zu poems: %zu characters for training, %zu held out; vocabulary of %zu\n", path.c_str(),
              corpus.poems.size(), corpus.train.size(), corpus.val.size(), text.vocab.chars.size());
  return text;
}
