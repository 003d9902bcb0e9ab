// The sequence pairs the seq2seq example learns: the seed's dialog
// (你吃了吗? -> 吃了!) and the couplets of the Tang poems Debian ships
// (fortunes-zh's tang300): each verse "兰叶春葳蕤，桂华秋皎洁。" is a pair,
// its first half the source, its second half the target. The couplets of
// every tenth poem are held out from training.
#pragma once
#include "../charlm/utf8.h"
#include "../tang_gpt/tang_poems.h"

#include <algorithm>
#include <map>
#include <string>
#include <vector>

struct SequencePair {
  std::vector<char32_t> source, target;
};

struct PairCorpus {
  std::vector<SequencePair> train, heldOut;
};

/// The verses of `poem` ("《title》\n作者：…\nverses…\n") that are one
/// couplet of 5 or 7 characters per half, each half ending in punctuation:
/// "上句，" and "下句。" (or ？ ！).
inline std::vector<SequencePair> coupletsOf(const std::string &poem) {
  std::vector<SequencePair> pairs;
  std::vector<char32_t> text = decodeUtf8(poem);
  std::vector<std::vector<char32_t>> lines(1);
  for (char32_t c : text)
    if (c == U'\n')
      lines.emplace_back();
    else
      lines.back().push_back(c);
  for (size_t i = 2; i < lines.size(); ++i) { // after the title and the author
    // A line may hold several sentences; each ends in 。？ or ！.
    std::vector<char32_t> sentence;
    for (char32_t c : lines[i]) {
      sentence.push_back(c);
      if (c != U'。' && c != U'？' && c != U'！')
        continue;
      auto comma = std::find(sentence.begin(), sentence.end(), U'，');
      size_t first = size_t(comma - sentence.begin());
      bool oneComma = comma != sentence.end() && std::count(sentence.begin(), sentence.end(), U'，') == 1;
      if (oneComma && (first == 5 || first == 7) && sentence.size() == 2 * first + 2)
        pairs.push_back({{sentence.begin(), comma + 1}, {comma + 1, sentence.end()}});
      sentence.clear();
    }
  }
  return pairs;
}

/// The dialog and the couplets of `corpus`; the couplets of every
/// `heldOutEvery`-th poem go to heldOut.
inline PairCorpus readPairs(const TangCorpus &corpus, int heldOutEvery = 10) {
  PairCorpus pairs;
  pairs.train.push_back({decodeUtf8("你吃了吗?"), decodeUtf8("吃了!")});
  for (size_t i = 0; i < corpus.poems.size(); ++i) {
    std::vector<SequencePair> &to = i % heldOutEvery == size_t(heldOutEvery - 1) ? pairs.heldOut : pairs.train;
    for (SequencePair &p : coupletsOf(corpus.poems[i]))
      to.push_back(std::move(p));
  }
  return pairs;
}

/// Token ids: padding, start and end of a target, then every character of
/// the pairs in code point order.
struct PairVocabulary {
  static constexpr int64_t pad = 0, start = 1, end = 2;
  std::vector<char32_t> chars; // id - 3 -> code point
  std::map<char32_t, int64_t> ids;
  explicit PairVocabulary(const PairCorpus &pairs) {
    for (const auto *set : {&pairs.train, &pairs.heldOut})
      for (const SequencePair &p : *set) {
        chars.insert(chars.end(), p.source.begin(), p.source.end());
        chars.insert(chars.end(), p.target.begin(), p.target.end());
      }
    std::sort(chars.begin(), chars.end());
    chars.erase(std::unique(chars.begin(), chars.end()), chars.end());
    for (size_t i = 0; i < chars.size(); ++i)
      ids[chars[i]] = int64_t(i) + 3;
  }
  int64_t size() const { return int64_t(chars.size()) + 3; }
  int64_t id(char32_t c) const { return ids.at(c); }
  /// The character of a token id, or U'\0' for padding, start and end.
  char32_t character(int64_t id) const { return id >= 3 && id < size() ? chars[size_t(id - 3)] : U'\0'; }
};
