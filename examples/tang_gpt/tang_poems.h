// The Tang poems that Debian ships (fortunes-zh's `tang300`: 300 poems,
// each a title line 《…》, an author line and its verses, separated by
// lines holding "%"), read as a training text with a held-out split.
#pragma once
#include "../charlm/utf8.h"

#include <fstream>
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
