// A sequence-to-sequence model (the seed's fifth network): a GRU encoder
// and a GRU decoder with attention over the encoder's states, trained with
// teacher forcing on the seed's dialog (你吃了吗? -> 吃了!) and on the
// couplets of the Tang poems Debian ships (fortunes-zh's tang300: the
// second half of a verse given its first). Then it answers greedily, one
// character at a time through a compiled decoder step, and shows where the
// decoder looked: the attention over the source characters, in the
// terminal and in an HTML page.
//
//   kiln-seq2seq [--steps N] [--batch B] [--hidden H] [--embed E] [--eval-every N]
//                [--seed S] [--text FILE] [--html FILE] [--out DIR] [--no-aot]
//                [--couplets N] [--min-exact A]
//
// Then (unless --no-aot) it compiles the trained encoder and decoder step
// ahead of time into static libraries, links them with answer.c (the
// greedy loop in C) into DIR/seq2seq_answer, runs that on the sources it
// showed and checks its answers against the JIT's.
// --couplets N trains on the dialog and the first N couplets only (the
// short form the tests run).
// Exit status 0 when the model answers 你吃了吗? with 吃了!, gets at least
// --min-exact (default 0.5) of the training pairs exactly right, and the
// ahead-of-time program answers as the JIT does.
#include "../charlm/attention_view.h"
#include "../common/command_line.h"
#include "../common/model_report.h"
#include "../common/shell.h"
#include "../common/step_report.h"
#include "couplets.h"
#include "seq2seq_model.h"

#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <random>
#include <sstream>

namespace {

using Clock = std::chrono::steady_clock;
double secondsSince(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

[[noreturn]] void fail(const std::string &message) {
  std::fprintf(stderr, "kiln-seq2seq: %s\n", message.c_str());
  std::exit(1);
}

/// The encoder on its own, as greedy decoding runs it: source ids and mask
/// in; the states, keys and the decoder's initial state out.
std::unique_ptr<kiln::Graph> encoderGraph(const Seq2SeqConfig &config, int64_t batch) {
  using namespace kiln;
  const int64_t S = config.sourceLength;
  auto g = std::make_unique<Graph>("seq2seq_encode");
  Tensor ids = g->input("source", {batch, S}, DType::i64), mask = g->input("source_mask", {batch, S});
  Encoded e = encodeSource(*g, embeddingTable(*g, config), ids, mask, config);
  g->output(e.states, "states");
  g->output(e.keys, "keys");
  g->output(e.h0, "h");
  return g;
}

/// One decoder step: the previous token, the state and the encoder's
/// outputs in; the next token's logits, the next state and the step's
/// attention out.
std::unique_ptr<kiln::Graph> decoderStepGraph(const Seq2SeqConfig &config, int64_t batch) {
  using namespace kiln;
  const int64_t S = config.sourceLength, H = config.hidden;
  auto g = std::make_unique<Graph>("seq2seq_decode_step");
  Tensor previous = g->input("previous", {batch, 1}, DType::i64);
  Tensor h = g->input("h", {batch, H});
  Encoded given{g->input("states", {batch, S, 2 * H}), g->input("keys", {batch, S, H}), {}};
  Tensor mask = g->input("source_mask", {batch, S});
  Decoded d = decodeTarget(*g, embeddingTable(*g, config), previous, h, given, mask, config);
  g->output(d.logits, "logits");
  g->output(d.h, "next_h");
  g->output(d.attention, "attention");
  return g;
}

/// One answer: its characters (without the end token) and, for each
/// character the decoder wrote (the end token included), its attention over
/// the source positions.
struct Answer {
  std::vector<char32_t> text;
  std::vector<std::vector<double>> attention;
};

/// Greedy decoding with the trained weights: the encoder once per batch of
/// sources, then the decoder step (a scan of length 1) until every answer
/// has its end token or the target length is reached.
class Answerer {
public:
  Answerer(const Seq2SeqConfig &config, const PairVocabulary &vocab, int64_t batch)
      : config_(config), vocab_(vocab), batch_(batch) {
    auto encodeFn = kiln::Function::compile(*encoderGraph(config, batch));
    auto stepFn = kiln::Function::compile(*decoderStepGraph(config, batch));
    if (!encodeFn || !stepFn)
      fail(!encodeFn ? encodeFn.error() : stepFn.error());
    encode_.emplace(std::move(*encodeFn));
    step_.emplace(std::move(*stepFn));
  }

  /// Copies the trained parameters in.
  void setWeights(const kiln::Function &trained) {
    for (kiln::Function *fn : {&*encode_, &*step_})
      for (const kiln::TensorInfo &p : fn->params())
        if (auto s = fn->setParam(p.name, *trained.param(p.name)); !s)
          fail(s.error());
  }

  /// The model's parameter elements (the embedding table is in both halves).
  int64_t parameters() const {
    return parameterCount(*encode_) + parameterCount(*step_) - config_.vocab * config_.embed;
  }

  std::vector<Answer> answer(const std::vector<std::vector<char32_t>> &sources) {
    std::vector<Answer> answers;
    for (size_t first = 0; first < sources.size(); first += size_t(batch_)) {
      size_t n = std::min(sources.size() - first, size_t(batch_));
      std::vector<Answer> part = answerBatch({sources.begin() + first, sources.begin() + first + n});
      answers.insert(answers.end(), part.begin(), part.end());
    }
    return answers;
  }

private:
  std::vector<Answer> answerBatch(const std::vector<std::vector<char32_t>> &sources) {
    const int64_t B = batch_, S = config_.sourceLength, V = config_.vocab;
    kiln::HostTensor ids(kiln::DType::i64, {B, S}), mask(kiln::DType::f32, {B, S});
    for (size_t b = 0; b < sources.size(); ++b)
      for (size_t s = 0; s < sources[b].size(); ++s) {
        ids.data<int64_t>()[b * S + s] = vocab_.id(sources[b][s]);
        mask.data<float>()[b * S + s] = 1;
      }
    for (int64_t b = int64_t(sources.size()); b < B; ++b) // unused rows: a one-character source
      mask.data<float>()[b * S] = 1;
    auto encoded = encode_->run({ids, mask});
    if (!encoded)
      fail(encoded.error());
    kiln::HostTensor previous(kiln::DType::i64, {B, 1}), h = std::move((*encoded)[2]);
    for (int64_t b = 0; b < B; ++b)
      previous.data<int64_t>()[b] = PairVocabulary::start;
    std::vector<Answer> answers(sources.size());
    std::vector<bool> done(sources.size(), false);
    for (int64_t t = 0; t < config_.targetLength; ++t) {
      auto out = step_->run({previous, h, (*encoded)[0], (*encoded)[1], mask});
      if (!out)
        fail(out.error());
      const float *logits = (*out)[0].data<float>(), *attention = (*out)[2].data<float>();
      for (size_t b = 0; b < sources.size(); ++b) {
        int64_t best = 0;
        for (int64_t v = 1; v < V; ++v)
          if (logits[b * V + v] > logits[b * V + best])
            best = v;
        previous.data<int64_t>()[b] = best;
        if (done[b])
          continue;
        answers[b].attention.emplace_back(attention + b * S, attention + b * S + sources[b].size());
        if (best == PairVocabulary::end || vocab_.character(best) == U'\0')
          done[b] = true;
        else
          answers[b].text.push_back(vocab_.character(best));
      }
      h = std::move((*out)[1]);
    }
    return answers;
  }

  Seq2SeqConfig config_;
  const PairVocabulary &vocab_;
  int64_t batch_;
  std::optional<kiln::Function> encode_, step_; // set by the constructor
};

struct Scores {
  double exact = 0, characters = 0; // fractions of pairs, of target characters (the end included)
};

Scores score(const std::vector<SequencePair> &pairs, const std::vector<Answer> &answers) {
  int64_t exact = 0, right = 0, total = 0;
  for (size_t i = 0; i < pairs.size(); ++i) {
    const std::vector<char32_t> &want = pairs[i].target, &got = answers[i].text;
    exact += got == want;
    for (size_t k = 0; k <= want.size(); ++k, ++total) // the end token is position want.size()
      right += k < want.size() ? k < got.size() && got[k] == want[k] : got.size() == want.size();
  }
  return {double(exact) / double(pairs.size()), double(right) / double(total)};
}

/// The trained encoder and decoder step as static libraries with their
/// weights in files beside them, linked with answer.c into
/// `dir`/seq2seq_answer; its answer to each of `sources`, one per line.
std::vector<std::string> answerAheadOfTime(const std::string &dir, const kiln::Function &trained,
                                           const Seq2SeqConfig &config, const PairVocabulary &vocab,
                                           const std::vector<std::vector<char32_t>> &sources) {
  namespace fs = std::filesystem;
  fs::create_directories(dir + "/params");
  std::ofstream words(dir + "/vocabulary.txt");
  words << "target_length " << config.targetLength << "\n<pad>\n<s>\n</s>\n";
  for (char32_t c : vocab.chars)
    words << encodeUtf8(c) << "\n";
  words.close();
  double seconds = 0;
  for (std::string name : {"s2s_encode", "s2s_step"}) {
    auto graph = name == "s2s_encode" ? encoderGraph(config, 1) : decoderStepGraph(config, 1);
    auto reader = kiln::Function::compile(*graph); // to list the parameters the artifact stores
    if (!reader)
      fail(reader.error());
    for (const kiln::TensorInfo &p : reader->params())
      if (auto s = trained.param(p.name)->saveNpy(dir + "/params/" + p.name + ".npy"); !s)
        fail(s.error());
    kiln::ArtifactOptions artifact;
    artifact.kind = "static-lib";
    artifact.output = dir + "/lib" + name + ".a";
    artifact.name = name;
    artifact.externalWeights = true; // libNAME.a.weights, read by NAME_load_weights
    artifact.paramsDir = dir + "/params";
    auto report = kiln::compileArtifact(graph->str(true), name + ".mlir", {}, artifact);
    if (!report)
      fail(report.error());
    seconds += report->totalSeconds;
  }
  std::string program = dir + "/seq2seq_answer";
  std::string link = "cc -O2 -std=c99 -I " + shellQuoted(dir) + " " +
                     shellQuoted(std::string(KILN_EXAMPLES_DIR) + "/seq2seq/answer.c") + " " +
                     shellQuoted(dir + "/libs2s_encode.a") + " " + shellQuoted(dir + "/libs2s_step.a") +
                     " -lm -o " + shellQuoted(program);
  if (std::system(link.c_str()) != 0)
    fail("linking the ahead-of-time program failed: " + link);
  std::printf("\ncompiled the encoder and the decoder step ahead of time (%.1f s) and linked them with "
              "answer.c, the greedy loop in C:\n",
              seconds);
  std::string command = shellQuoted(program) + " " + shellQuoted(dir);
  for (const std::vector<char32_t> &s : sources)
    command += " " + shellQuoted(encodeUtf8(s));
  std::printf("  $ %s\n", command.c_str());
  std::optional<std::string> out = outputOf(command);
  if (!out)
    fail("the ahead-of-time program failed: " + command);
  std::vector<std::string> answers;
  std::istringstream lines(*out);
  for (std::string line; std::getline(lines, line);)
    answers.push_back(line);
  return answers;
}

} // namespace

int main(int argc, char **argv) {
  int64_t steps = 1000, evalEvery = 250, B = 64, couplets = 0;
  bool aot = true;
  std::string outDir = "seq2seq_out";
  double minExact = 0.5;
  uint64_t seed = 1;
  Seq2SeqConfig config;
  std::string textPath = "/usr/share/games/fortunes/tang300", htmlPath = "seq2seq_attention.html", reportPath;
  CommandLine args(argc, argv, "kiln-seq2seq");
  while (args.next()) {
    if (args.is("--steps"))
      steps = args.count();
    else if (args.is("--batch"))
      B = args.count();
    else if (args.is("--hidden"))
      config.hidden = args.count();
    else if (args.is("--embed"))
      config.embed = args.count();
    else if (args.is("--eval-every"))
      evalEvery = args.count();
    else if (args.is("--seed"))
      seed = args.seed();
    else if (args.is("--out"))
      outDir = args.value();
    else if (args.is("--no-aot"))
      aot = false;
    else if (args.is("--couplets"))
      couplets = args.count();
    else if (args.is("--min-exact"))
      minExact = args.real();
    else if (args.is("--text"))
      textPath = args.value();
    else if (args.is("--html"))
      htmlPath = args.value();
    else if (args.is("--report"))
      reportPath = args.value();
    else
      args.usage("[--steps N] [--batch B] [--hidden H] [--embed E] [--eval-every N] [--seed S] [--text FILE] "
                 "[--html FILE] [--report FILE] [--out DIR] [--no-aot] [--couplets N] [--min-exact A]");
  }

  TangCorpus corpus = readTangPoems(textPath);
  if (corpus.poems.empty())
    fail("cannot read the poems in " + textPath +
         " (Debian's fortunes-zh has them: apt-get install fortunes-zh; or give --text FILE)");
  PairCorpus pairs = readPairs(corpus);
  if (pairs.heldOut.empty())
    fail(textPath + " has too few couplets to hold some out");
  if (couplets > 0 && size_t(couplets) + 1 < pairs.train.size())
    pairs.train.resize(size_t(couplets) + 1);
  PairVocabulary vocab(pairs);
  config.vocab = vocab.size();
  for (const auto *set : {&pairs.train, &pairs.heldOut})
    for (const SequencePair &p : *set) {
      config.sourceLength = std::max(config.sourceLength, int64_t(p.source.size()));
      config.targetLength = std::max(config.targetLength, int64_t(p.target.size()) + 1);
    }
  std::printf("pairs: the dialog and %zu couplets of %s for training, %zu held out; vocabulary of %lld\n",
              pairs.train.size() - 1, textPath.c_str(), pairs.heldOut.size(), (long long)config.vocab);

  // The training step: teacher forcing, the masked mean log-likelihood.
  const int64_t S = config.sourceLength, T = config.targetLength;
  auto t0 = Clock::now();
  kiln::Graph g("seq2seq");
  kiln::Tensor source = g.input("source", {B, S}, kiln::DType::i64), mask = g.input("source_mask", {B, S});
  kiln::Tensor previous = g.input("previous", {B, T}, kiln::DType::i64);
  kiln::Tensor labelIndex = g.input("label_index", {T * B}, kiln::DType::i64);
  kiln::Tensor labelWeight = g.input("label_weight", {T * B});
  kiln::Tensor table = embeddingTable(g, config);
  Encoded encoded = encodeSource(g, table, source, mask, config);
  Decoded decoded = decodeTarget(g, table, previous, encoded.h0, encoded, mask, config);
  g.output(maskedNll(decoded.logits, labelIndex, labelWeight), "loss");
  auto step = kiln::train_step(g, "loss", {}, kiln::Optimizer::adam().clippedTo(1.0));
  if (!step)
    fail(step.error());
  Answerer answerer(config, vocab, 128);
  std::printf("model: embedding %lld, bidirectional GRU encoder and GRU decoder of %lld with attention, "
              "%.2fM parameters; batch %lld, Adam (gradients clipped to norm 1)\n",
              (long long)config.embed, (long long)config.hidden, double(answerer.parameters()) / 1e6,
              (long long)B);
  std::printf("compiled the training step, the encoder and the decoder step in %.1f s\n", secondsSince(t0));

  std::mt19937 rng{uint32_t(seed)};
  std::uniform_int_distribution<size_t> pick(0, pairs.train.size() - 1);
  kiln::HostTensor xSource(kiln::DType::i64, {B, S}), xMask(kiln::DType::f32, {B, S}),
      xPrevious(kiln::DType::i64, {B, T}), xIndex(kiln::DType::i64, {T * B}), xWeight(kiln::DType::f32, {T * B}),
      rate(step->inputs().back().dtype, {});
  // A batch of random training pairs (the first one `first` where given).
  auto fillBatch = [&](const SequencePair *first = nullptr) {
    std::fill_n(xSource.data<int64_t>(), B * S, PairVocabulary::pad);
    std::fill_n(xMask.data<float>(), B * S, 0.0f);
    std::fill_n(xPrevious.data<int64_t>(), B * T, PairVocabulary::pad);
    std::fill_n(xWeight.data<float>(), T * B, 0.0f);
    int64_t tokens = 0;
    for (int64_t b = 0; b < B; ++b) {
      const SequencePair &p = b == 0 && first ? *first : pairs.train[pick(rng)];
      for (size_t s = 0; s < p.source.size(); ++s) {
        xSource.data<int64_t>()[b * S + int64_t(s)] = vocab.id(p.source[s]);
        xMask.data<float>()[b * S + int64_t(s)] = 1;
      }
      // previous: start, target; labels: target, end.
      for (int64_t t = 0; t <= int64_t(p.target.size()); ++t) {
        xPrevious.data<int64_t>()[b * T + t] = t == 0 ? PairVocabulary::start : vocab.id(p.target[t - 1]);
        int64_t label = t < int64_t(p.target.size()) ? vocab.id(p.target[t]) : PairVocabulary::end;
        int64_t row = t * B + b; // the decoder's rows are time-major
        xIndex.data<int64_t>()[row] = row * config.vocab + label;
        xWeight.data<float>()[row] = 1;
        ++tokens;
      }
    }
    for (int64_t row = 0; row < T * B; ++row) {
      xWeight.data<float>()[row] /= float(tokens);
      if (xWeight.data<float>()[row] == 0)
        xIndex.data<int64_t>()[row] = row * config.vocab; // any valid index: it weighs 0
    }
  };
  std::vector<std::vector<char32_t>> trainSources, heldOutSources;
  for (const SequencePair &p : pairs.train)
    trainSources.push_back(p.source);
  for (const SequencePair &p : pairs.heldOut)
    heldOutSources.push_back(p.source);

  const double peak = 2e-3;
  auto lr = [&](int64_t s) {
    double warm = std::min(1.0, double(s) / 100);
    return warm * (0.05 * peak + 0.95 * peak * 0.5 * (1 + std::cos(M_PI * double(s) / double(steps))));
  };
  std::printf("training for %lld steps:\n", (long long)steps);
  double trainSeconds = 0, recent = 0;
  Scores trained, heldOut;
  for (int64_t s = 1; s <= steps; ++s) {
    fillBatch();
    rate.set(0, lr(s));
    auto t = Clock::now();
    auto out = step->run({xSource, xMask, xPrevious, xIndex, xWeight, rate});
    trainSeconds += secondsSince(t);
    if (!out)
      fail("step " + std::to_string(s) + ": " + out.error());
    recent += (*out)[0].at(0);
    if (s % evalEvery == 0 || s == steps) {
      answerer.setWeights(*step);
      trained = score(pairs.train, answerer.answer(trainSources));
      heldOut = score(pairs.heldOut, answerer.answer(heldOutSources));
      int64_t n = s % evalEvery ? s % evalEvery : evalEvery;
      std::printf("  step %5lld  loss %.3f  training pairs exact %5.1f%%  held-out characters %5.1f%%  "
                  "%5.0f pairs/s\n",
                  (long long)s, recent / double(n), 100 * trained.exact, 100 * heldOut.characters,
                  double(s * B) / trainSeconds);
      std::fflush(stdout);
      recent = 0;
    }
  }

  // The answers, and where the decoder looked while writing them.
  // The dialog and two more training pairs, then two held-out couplets
  // (fewer where --couplets leaves fewer).
  std::vector<std::vector<char32_t>> shown;
  for (size_t i = 0; i < std::min<size_t>(3, pairs.train.size()); ++i)
    shown.push_back(pairs.train[i].source);
  const size_t trainedShown = shown.size();
  for (size_t i = 0; i < std::min<size_t>(2, pairs.heldOut.size()); ++i)
    shown.push_back(pairs.heldOut[i].source);
  std::vector<Answer> answers = answerer.answer(shown);
  bool color = isatty(1) && !std::getenv("NO_COLOR");
  std::vector<std::pair<std::string, std::vector<Generated>>> runs;
  std::printf("\nanswers (each character the decoder wrote, and its attention over the source):\n");
  for (size_t i = 0; i < shown.size(); ++i) {
    std::printf("%s %s -> %s\n", i < trainedShown ? "trained " : "held out", encodeUtf8(shown[i]).c_str(),
                encodeUtf8(answers[i].text).c_str());
    std::vector<Generated> written;
    for (size_t k = 0; k < answers[i].attention.size(); ++k) {
      char32_t c = k < answers[i].text.size() ? answers[i].text[k] : U'⏹';
      written.push_back({c, shown[i], answers[i].attention[k]});
      printAttention(written.back(), color);
    }
    runs.emplace_back(encodeUtf8(shown[i]), written);
  }
  writeAttentionHtml(htmlPath, "kiln seq2seq attention", runs,
                     "The decoder's attention over the source characters: for each character it wrote (⏹: "
                     "the end), the source, darker where the weight is larger.");
  std::printf("attention view written to %s\n", htmlPath.c_str());
  if (!reportPath.empty()) {
    // kiln report of the training step, trained, on a batch led by the
    // dialog: the decoder's attention per step over 你吃了吗?.
    const SequencePair &dialogPair = pairs.train.front();
    fillBatch(&dialogPair);
    rate.set(0, 0.0);
    std::vector<std::string> sourceLabels, stepLabels = {"⏵"};
    for (char32_t c : dialogPair.source)
      sourceLabels.push_back(shownChar(c));
    for (char32_t c : dialogPair.target)
      stepLabels.push_back(shownChar(c));
    kiln::CompileOptions trainStep;
    trainStep.trainStep = kiln::TrainStepRequest{"loss", {}, kiln::Optimizer::adam().clippedTo(1.0)};
    std::map<std::string, kiln::HostTensor> inputs = {{"source", xSource}, {"source_mask", xMask},
        {"previous", xPrevious}, {"label_index", xIndex}, {"label_weight", xWeight}, {step->inputs().back().name, rate}};
    if (!writeModelReport(reportPath, g, *step, inputs, sourceLabels, trainStep, stepLabels))
      fail("cannot write " + reportPath);
  }

  bool agrees = true;
  if (aot) {
    std::vector<std::string> compiled = answerAheadOfTime(outDir, *step, config, vocab, shown);
    for (size_t i = 0; i < shown.size(); ++i) {
      std::string jit = encodeUtf8(answers[i].text), got = i < compiled.size() ? compiled[i] : "(nothing)";
      agrees &= got == jit;
      std::printf("  %s -> %s%s\n", encodeUtf8(shown[i]).c_str(), got.c_str(),
                  got == jit ? "" : (" (the JIT: " + jit + ")").c_str());
    }
    std::printf("the ahead-of-time program %s the JIT on all %zu sources\n",
                agrees ? "agrees with" : "DISAGREES with", shown.size());
  }

  std::string dialog = encodeUtf8(answers[0].text);
  bool answered = dialog == "吃了!";
  std::printf("\nseq2seq: %lld steps, batch %lld, %.0f pairs/s, %.1f s training; training pairs exact %.1f%%, "
              "held-out couplets: %.1f%% of characters (%.1f%% exact)\n",
              (long long)steps, (long long)B, double(steps * B) / trainSeconds, trainSeconds, 100 * trained.exact,
              100 * heldOut.characters, 100 * heldOut.exact);
  bool ok = answered && trained.exact >= minExact && agrees;
  std::printf("%s: 你吃了吗? -> %s%s; %.1f%% of the training pairs exact (at least %.1f%% wanted)\n",
              ok ? "ok" : "FAILED", dialog.c_str(), answered ? "" : " (wanted 吃了!)", 100 * trained.exact,
              100 * minExact);
  return ok ? 0 : 1;
}
