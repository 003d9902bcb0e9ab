//===- RecurrentTest.cpp - nn.scan and the RNN, GRU and LSTM layers ------===//
//
// The layers against their step equations written out here in plain C++
// (double precision, PyTorch's formulas and gate order), on lengths 1 and
// prime, stacked, reversed, batch-first; a scan with captured weights and a
// nested scan against the reference interpreter; a decoder with masked
// attention inside its scan (the seq2seq example's) against the reference
// and finite differences; the compiled IR the same size for 37 and 1031
// steps (a loop, not an unrolling); located errors.
//
//===----------------------------------------------------------------------===//
#include "TestUtil.h"

#include <cmath>
#include <cstring>
#include <functional>
#include <random>

using namespace kiln;
using kiln::test::allClose;
using kiln::test::randomTensor;

namespace {

enum class Kind { RnnTanh, RnnRelu, Gru, GruResetFirst, Lstm };

struct Case {
  const char *name;
  Kind kind;
  int64_t steps, layers;
  bool batchFirst, reverse;
};

using Matrix = std::vector<double>; // row-major

/// y[b, r] = sum_k x[b, k] w[r, k] + bias[r] (w is [rows, cols]).
Matrix affine(const Matrix &x, int64_t batch, int64_t cols, const HostTensor &w, int64_t rows,
              const HostTensor *bias) {
  Matrix y(batch * rows, 0.0);
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t r = 0; r < rows; ++r) {
      double sum = bias ? bias->at(r) : 0.0;
      for (int64_t k = 0; k < cols; ++k)
        sum += x[b * cols + k] * w.at(r * cols + k);
      y[b * rows + r] = sum;
    }
  return y;
}

double sigmoid(double v) { return 1 / (1 + std::exp(-v)); }

struct Reference {
  Matrix output; // [T, B, H]
  std::vector<Matrix> h, c; // per layer [B, H]
};

/// The layer stack, step by step, from PyTorch's equations.
Reference reference(const Case &c, const Matrix &x, int64_t B, int64_t I, int64_t H, Function &fn,
                    const std::string &name) {
  const int64_t T = c.steps;
  Matrix input = x; // [T, B, in]
  int64_t in = I;
  Reference out;
  for (int64_t l = 0; l < c.layers; ++l) {
    std::string sfx = "_l" + std::to_string(l);
    HostTensor wih = *fn.param(name + "_weight_ih" + sfx), whh = *fn.param(name + "_weight_hh" + sfx),
               bih = *fn.param(name + "_bias_ih" + sfx), bhh = *fn.param(name + "_bias_hh" + sfx);
    int64_t G = c.kind == Kind::Gru || c.kind == Kind::GruResetFirst ? 3 : c.kind == Kind::Lstm ? 4 : 1;
    Matrix h(B * H, 0.0), cell(B * H, 0.0), layerOut(T * B * H);
    for (int64_t s = 0; s < T; ++s) {
      int64_t t = c.reverse ? T - 1 - s : s;
      Matrix xt(input.begin() + t * B * in, input.begin() + (t + 1) * B * in);
      Matrix xp = affine(xt, B, in, wih, G * H, &bih), hp = affine(h, B, H, whh, G * H, &bhh);
      Matrix next(B * H), nextC(B * H);
      for (int64_t b = 0; b < B; ++b)
        for (int64_t j = 0; j < H; ++j) {
          auto X = [&](int64_t g) { return xp[b * G * H + g * H + j]; };
          auto R = [&](int64_t g) { return hp[b * G * H + g * H + j]; };
          double hv = h[b * H + j];
          switch (c.kind) {
          case Kind::RnnTanh: next[b * H + j] = std::tanh(X(0) + R(0)); break;
          case Kind::RnnRelu: next[b * H + j] = std::max(0.0, X(0) + R(0)); break;
          case Kind::Gru:
          case Kind::GruResetFirst: {
            double r = sigmoid(X(0) + R(0)), z = sigmoid(X(1) + R(1)), rn;
            if (c.kind == Kind::Gru) {
              rn = r * R(2);
            } else { // W_hn (r * h) + b_hn
              rn = bhh.at(2 * H + j);
              for (int64_t k = 0; k < H; ++k)
                rn += whh.at((2 * H + j) * H + k) * sigmoid(xp[b * G * H + k] + hp[b * G * H + k]) * h[b * H + k];
            }
            double n = std::tanh(X(2) + rn);
            next[b * H + j] = (1 - z) * n + z * hv;
            break;
          }
          case Kind::Lstm: {
            double i = sigmoid(X(0) + R(0)), f = sigmoid(X(1) + R(1)), g = std::tanh(X(2) + R(2)),
                   o = sigmoid(X(3) + R(3));
            nextC[b * H + j] = f * cell[b * H + j] + i * g;
            next[b * H + j] = o * std::tanh(nextC[b * H + j]);
            break;
          }
          }
        }
      h = next;
      cell = nextC;
      std::copy(h.begin(), h.end(), layerOut.begin() + t * B * H);
    }
    out.h.push_back(h);
    out.c.push_back(cell);
    input = layerOut;
    in = H;
  }
  out.output = input;
  return out;
}

class RecurrentLayers : public ::testing::TestWithParam<Case> {};

TEST_P(RecurrentLayers, MatchTheStepEquations) {
  const Case &c = GetParam();
  const int64_t B = 3, I = 5, H = 4, T = c.steps;
  Graph g("recurrent");
  Shape xShape = c.batchFirst ? Shape{B, T, I} : Shape{T, B, I};
  Tensor x = g.input("x", xShape);
  RecurrentOptions o;
  o.layers = c.layers;
  o.batchFirst = c.batchFirst;
  o.reverse = c.reverse;
  o.nonlinearity = c.kind == Kind::RnnRelu ? "relu" : "tanh";
  o.linearBeforeReset = c.kind != Kind::GruResetFirst;
  RecurrentResult r = c.kind == Kind::Lstm ? lstm(g, "cell", x, H, o)
                      : c.kind == Kind::Gru || c.kind == Kind::GruResetFirst ? gru(g, "cell", x, H, o)
                                                                              : rnn(g, "cell", x, H, o);
  g.output(r.output, "out");
  g.output(r.h, "h");
  ASSERT_TRUE(g.status().ok()) << g.status().error();
  auto fn = Function::compile(g);
  ASSERT_TRUE(fn.ok()) << fn.error();
  HostTensor xv = randomTensor(DType::f32, xShape, -1, 1, 7);
  auto got = fn->run({xv});
  ASSERT_TRUE(got.ok()) << got.error();

  Matrix xs(T * B * I); // [T, B, I]
  for (int64_t t = 0; t < T; ++t)
    for (int64_t b = 0; b < B; ++b)
      for (int64_t i = 0; i < I; ++i)
        xs[(t * B + b) * I + i] = xv.at(c.batchFirst ? (b * T + t) * I + i : (t * B + b) * I + i);
  Reference want = reference(c, xs, B, I, H, *fn, "cell");
  HostTensor wantOut(DType::f64, c.batchFirst ? Shape{B, T, H} : Shape{T, B, H}), wantH(DType::f64, {c.layers, B, H});
  for (int64_t t = 0; t < T; ++t)
    for (int64_t b = 0; b < B; ++b)
      for (int64_t j = 0; j < H; ++j)
        wantOut.set(c.batchFirst ? (b * T + t) * H + j : (t * B + b) * H + j, want.output[(t * B + b) * H + j]);
  for (int64_t l = 0; l < c.layers; ++l)
    for (int64_t k = 0; k < B * H; ++k)
      wantH.set(l * B * H + k, want.h[l][k]);
  EXPECT_TRUE(allClose((*got)[0], wantOut, 1e-5, 1e-6));
  EXPECT_TRUE(allClose((*got)[1], wantH, 1e-5, 1e-6));
}

INSTANTIATE_TEST_SUITE_P(
    Steps, RecurrentLayers,
    ::testing::Values(Case{"rnn_tanh_1_step", Kind::RnnTanh, 1, 1, false, false},
                      Case{"rnn_relu_7_steps", Kind::RnnRelu, 7, 1, false, false},
                      Case{"gru_7_steps", Kind::Gru, 7, 1, false, false},
                      Case{"gru_reset_before_product", Kind::GruResetFirst, 5, 1, false, false},
                      Case{"gru_2_layers_batch_first", Kind::Gru, 7, 2, true, false},
                      Case{"gru_reversed", Kind::Gru, 7, 1, false, true},
                      Case{"lstm_1_step", Kind::Lstm, 1, 1, false, false},
                      Case{"lstm_2_layers_reversed", Kind::Lstm, 11, 2, false, true},
                      Case{"lstm_batch_first", Kind::Lstm, 7, 1, true, false}),
    [](const ::testing::TestParamInfo<Case> &info) { return std::string(info.param.name); });

TEST(Recurrent, LstmFinalCellStateAndGivenInitialStates) {
  const int64_t T = 3, B = 2, I = 3, H = 5;
  Graph g("lstm_states");
  Tensor x = g.input("x", {T, B, I});
  Tensor h0 = g.input("h0", {1, B, H}), c0 = g.input("c0", {1, B, H});
  RecurrentResult r = lstm(g, "cell", x, H, {}, h0, c0);
  g.output(r.h, "h");
  g.output(r.c, "c");
  ASSERT_TRUE(g.status().ok()) << g.status().error();
  auto fn = Function::compile(g);
  ASSERT_TRUE(fn.ok()) << fn.error();
  std::vector<HostTensor> inputs{randomTensor(DType::f32, {T, B, I}, -1, 1, 1),
                                 randomTensor(DType::f32, {1, B, H}, -1, 1, 2),
                                 randomTensor(DType::f32, {1, B, H}, -1, 1, 3)};
  auto got = fn->run(inputs);
  ASSERT_TRUE(got.ok()) << got.error();
  // The same model through the reference interpreter (its own nn.scan).
  std::map<std::string, HostTensor> params;
  for (const TensorInfo &p : fn->params())
    params[p.name] = *fn->param(p.name);
  auto want = runReference(g.str(true), "lstm_states", inputs, "", params);
  ASSERT_TRUE(want.ok()) << want.error();
  EXPECT_TRUE(allClose((*got)[0], (*want)[0], 1e-5, 1e-6));
  EXPECT_TRUE(allClose((*got)[1], (*want)[1], 1e-5, 1e-6));
}

/// The loss sum(output * C) + sum(h * D) of a 2-layer `kind` over 4 steps
/// (f64), for gradients.
void lossModel(Graph &g, Kind kind) {
  const int64_t T = 4, B = 2, I = 3, H = 3;
  Tensor x = g.input("x", {T, B, I}, DType::f64);
  Tensor h0 = g.input("h0", {2, B, H}, DType::f64);
  RecurrentOptions o;
  o.layers = 2;
  o.reverse = kind == Kind::GruResetFirst;
  o.linearBeforeReset = kind != Kind::GruResetFirst;
  RecurrentResult r = kind == Kind::Lstm ? lstm(g, "cell", x, H, o, h0)
                      : kind == Kind::RnnTanh ? rnn(g, "cell", x, H, o, h0)
                                              : gru(g, "cell", x, H, o, h0);
  Tensor c = g.constant(randomTensor(DType::f64, {T, B, H}, -1, 1, 21));
  Tensor d = g.constant(randomTensor(DType::f64, {2, B, H}, -1, 1, 22));
  g.output(reduce_sum(r.output * c, {0, 1, 2}) + reduce_sum(r.h * d, {0, 1, 2}), "loss");
}

/// An input to differentiate with respect to: its name and its index in the
/// inputs.
struct WrtInput {
  std::string name;
  size_t index;
};

/// The gradients of `g`'s scalar output "loss" (f64) with respect to
/// `wrtInputs` and every parameter, against central differences of the
/// compiled forward, at `inputs`.
void expectGradientsMatchFiniteDifferences(Graph &g, std::vector<HostTensor> inputs,
                                           const std::vector<WrtInput> &wrtInputs) {
  ASSERT_TRUE(g.status().ok()) << g.status().error();
  std::vector<std::string> wrt;
  for (const WrtInput &in : wrtInputs)
    wrt.push_back(in.name);
  auto forward = Function::compile(g);
  ASSERT_TRUE(forward.ok()) << forward.error();
  for (const TensorInfo &p : forward->params())
    wrt.push_back(p.name);
  auto backward = grad(g, wrt);
  ASSERT_TRUE(backward.ok()) << backward.error();
  auto grads = backward->run(inputs);
  ASSERT_TRUE(grads.ok()) << grads.error();
  auto lossAt = [&]() { return (*forward->run(inputs))[0].at(0); };
  const double eps = 1e-6;
  for (size_t w = 0; w < wrt.size(); ++w) {
    const HostTensor &got = (*grads)[1 + w];
    HostTensor want(DType::f64, got.shape());
    for (int64_t k = 0; k < got.size(); ++k) {
      if (w < wrtInputs.size()) {
        HostTensor &input = inputs[wrtInputs[w].index];
        double v = input.at(k);
        input.set(k, v + eps);
        double up = lossAt();
        input.set(k, v - eps);
        double down = lossAt();
        input.set(k, v);
        want.set(k, (up - down) / (2 * eps));
      } else {
        HostTensor p = *forward->param(wrt[w]);
        double v = p.at(k);
        p.set(k, v + eps);
        ASSERT_TRUE(forward->setParam(wrt[w], p).ok());
        double up = lossAt();
        p.set(k, v - eps);
        ASSERT_TRUE(forward->setParam(wrt[w], p).ok());
        double down = lossAt();
        p.set(k, v);
        ASSERT_TRUE(forward->setParam(wrt[w], p).ok());
        want.set(k, (up - down) / (2 * eps));
      }
    }
    EXPECT_TRUE(allClose(got, want, 1e-5, 1e-7)) << "d " << wrt[w];
  }
}

class RecurrentGradients : public ::testing::TestWithParam<Kind> {};

// Backpropagation through time against central differences of the
// compiled forward, for every parameter and the initial state.
TEST_P(RecurrentGradients, MatchFiniteDifferences) {
  Graph g("bptt");
  lossModel(g, GetParam());
  expectGradientsMatchFiniteDifferences(
      g, {randomTensor(DType::f64, {4, 2, 3}, -1, 1, 23), randomTensor(DType::f64, {2, 2, 3}, -1, 1, 24)},
      {{"h0", 1}});
}

std::string kindName(const ::testing::TestParamInfo<Kind> &info) {
  switch (info.param) {
  case Kind::RnnTanh: return "rnn";
  case Kind::RnnRelu: return "rnn_relu";
  case Kind::Gru: return "gru";
  case Kind::GruResetFirst: return "gru_reset_first_reversed";
  case Kind::Lstm: return "lstm";
  }
  return "unknown";
}

INSTANTIATE_TEST_SUITE_P(Cells, RecurrentGradients,
                         ::testing::Values(Kind::RnnTanh, Kind::Gru, Kind::GruResetFirst, Kind::Lstm), kindName);

/// The loss sum(output * C) + sum(h * D) of a 2-layer GRU over 7 steps
/// (f64) whose scans save every `k`-th state (0: all).
void checkpointedGru(Graph &g, int64_t k, bool reverse) {
  const int64_t T = 7, B = 2, I = 3, H = 4;
  Tensor x = g.input("x", {T, B, I}, DType::f64);
  Tensor h0 = g.input("h0", {2, B, H}, DType::f64);
  RecurrentOptions o;
  o.layers = 2;
  o.reverse = reverse;
  o.checkpointEvery = k;
  RecurrentResult r = gru(g, "gru", x, H, o, h0);
  Tensor c = g.constant(randomTensor(DType::f64, {T, B, H}, -1, 1, 41));
  Tensor d = g.constant(randomTensor(DType::f64, {2, B, H}, -1, 1, 42));
  g.output(reduce_sum(r.output * c, {0, 1, 2}) + reduce_sum(r.h * d, {0, 1, 2}), "loss");
}

std::vector<HostTensor> checkpointedGruInputs() {
  return {randomTensor(DType::f64, {7, 2, 3}, -1, 1, 43), randomTensor(DType::f64, {2, 2, 4}, -1, 1, 44)};
}

// Saving every k-th carry and recomputing the rest gives the gradients of
// saving them all: k dividing the length or not, k = the length, k above
// it, forwards and reversed.
TEST(Recurrent, CheckpointedGradientsEqualTheSavedOnes) {
  for (bool reverse : {false, true}) {
    // Forwards: a rest of 1 step, one segment and no rest; reversed: a
    // rest of 1 step, k above the length.
    std::vector<int64_t> ks = reverse ? std::vector<int64_t>{3, 10} : std::vector<int64_t>{2, 7};
    Graph plain("gru_saved");
    checkpointedGru(plain, 0, reverse);
    auto want = grad(plain, {"x", "h0", "gru_weight_hh_l0", "gru_bias_ih_l1"});
    ASSERT_TRUE(want.ok()) << want.error();
    auto wantOut = want->run(checkpointedGruInputs());
    ASSERT_TRUE(wantOut.ok()) << wantOut.error();
    for (int64_t k : ks) {
      Graph g("gru_checkpointed");
      checkpointedGru(g, k, reverse);
      ASSERT_TRUE(g.status().ok()) << g.status().error();
      if (k < 7) // the IR says so
        EXPECT_NE(g.str().find("checkpoint_every = " + std::to_string(k)), std::string::npos);
      auto got = grad(g, {"x", "h0", "gru_weight_hh_l0", "gru_bias_ih_l1"});
      ASSERT_TRUE(got.ok()) << got.error();
      auto gotOut = got->run(checkpointedGruInputs());
      ASSERT_TRUE(gotOut.ok()) << gotOut.error();
      ASSERT_EQ(gotOut->size(), wantOut->size());
      for (size_t i = 0; i < gotOut->size(); ++i)
        EXPECT_TRUE(allClose((*gotOut)[i], (*wantOut)[i], 1e-12, 1e-13))
            << "result " << i << ", k = " << k << (reverse ? ", reversed" : "");
    }
  }
}

// Compiled for two threads, a layer whose 16 rows are independent runs
// them in two blocks of 8, each block's whole scan on one thread
// (kiln-split-scan-rows; the profile's kernel says so): every element is
// computed by the same operations in the same order as in the scan compiled
// whole, so the outputs and every gradient are the same bits, whether the
// split code runs on one thread or two. GRU (both reset forms, reversed)
// and LSTM, with given initial states, 13 steps.
TEST(Recurrent, RowsSplitAcrossThreadsGiveTheSameBits) {
  const int64_t T = 13, B = 16, I = 24, H = 64;
  for (int variant = 0; variant < 3; ++variant) {
    SCOPED_TRACE(variant == 0 ? "gru" : variant == 1 ? "gru, reset first, reversed" : "lstm");
    Graph g("split_rows");
    Tensor x = g.input("x", {T, B, I});
    Tensor h0 = g.input("h0", {1, B, H});
    RecurrentOptions options;
    options.linearBeforeReset = variant != 1;
    options.reverse = variant == 1;
    RecurrentResult r = variant == 2 ? lstm(g, "cell", x, H, options, h0) : gru(g, "cell", x, H, options, h0);
    g.output(reduce_sum(tanh(r.output) * r.output, {0, 1, 2}), "loss");
    g.output(r.h, "h");
    ASSERT_TRUE(g.status().ok()) << g.status().error();
    std::vector<std::string> wrt{"x", "h0", "cell_weight_ih_l0", "cell_weight_hh_l0", "cell_bias_hh_l0"};
    std::vector<HostTensor> inputs{randomTensor(DType::f32, {T, B, I}, -1, 1, 7),
                                   randomTensor(DType::f32, {1, B, H}, -1, 1, 8)};
    auto compileFor = [&](int64_t threads, bool gradient) {
      CompileOptions o;
      o.cache = false;
      o.threads = threads;
      o.profile = true;
      return gradient ? grad(g, wrt, o) : Function::compile(g, o);
    };
    for (bool gradient : {false, true}) {
      auto whole = compileFor(1, gradient);
      auto split = compileFor(2, gradient);
      ASSERT_TRUE(whole.ok()) << whole.error();
      ASSERT_TRUE(split.ok()) << split.error();
      std::vector<HostTensor> args = inputs;
      if (gradient) // the cotangent of h, the non-scalar output
        args.push_back(randomTensor(DType::f32, {1, B, H}, -1, 1, 9));
      auto want = whole->run(args);
      ASSERT_TRUE(want.ok()) << want.error();
      for (int threads : {1, 2}) {
        split->setNumThreads(threads);
        auto got = split->run(args);
        ASSERT_TRUE(got.ok()) << got.error();
        ASSERT_EQ(got->size(), want->size());
        for (size_t i = 0; i < got->size(); ++i) {
          const HostTensor &a = (*got)[i], &b = (*want)[i];
          ASSERT_EQ(a.size(), b.size());
          EXPECT_EQ(std::memcmp(a.data<float>(), b.data<float>(), sizeof(float) * a.size()), 0)
              << "result " << i << (gradient ? " of the gradient" : "") << " on " << threads << " threads";
        }
      }
      auto kinds = [](const Function &f) {
        std::string all;
        if (auto p = f.profile())
          for (const KernelProfile &k : p->kernels)
            all += k.kind + "; ";
        return all;
      };
      EXPECT_NE(kinds(*split).find("recurrence of 13 steps, 16 rows in 2 blocks"), std::string::npos) << kinds(*split);
      // The whole scan is one kernel too, rated by its stated flops.
      EXPECT_NE(kinds(*whole).find("recurrence of 13 steps, 16 rows; "), std::string::npos) << kinds(*whole);
      EXPECT_EQ(kinds(*whole).find("blocks"), std::string::npos) << kinds(*whole);
    }
  }
}

TEST(Recurrent, CheckpointedGradientsMatchFiniteDifferences) {
  Graph g("gru_checkpointed");
  checkpointedGru(g, 3, true);
  expectGradientsMatchFiniteDifferences(g, checkpointedGruInputs(), {{"x", 0}, {"h0", 1}});
}

/// A decoder with attention, as examples/seq2seq builds it: a scan whose
/// body scores masked source positions against its state, takes the
/// softmax-weighted context and runs gru_step on its row's gates plus the
/// context's; the attention weights are a step output. Inputs: keys [B, S,
/// H], values [B, S, 2], the per-step gates [T, B, 3H], the mask [B, S] (the
/// second source has padding), h0 [B, H]. T = 5. Outputs a scalar "loss"
/// and, with `attentionOutput`, the weights.
void attentionDecoder(Graph &g, DType dtype, bool attentionOutput) {
  const int64_t B = 2, S = 3, H = 3, T = 5;
  Tensor keys = g.input("keys", {B, S, H}, dtype), values = g.input("values", {B, S, 2}, dtype);
  Tensor gates = g.input("gates", {T, B, 3 * H}, dtype), mask = g.input("mask", {B, S}, dtype);
  Tensor h0 = g.input("h0", {B, H}, dtype);
  Tensor whh = g.param("whh", {3 * H, H}, uniformInit(-0.6, 0.6, 31), dtype);
  Tensor bhh = g.param("bhh", {3 * H}, uniformInit(-0.6, 0.6, 32), dtype);
  Tensor wc = g.param("wc", {2, 3 * H}, uniformInit(-0.6, 0.6, 33), dtype);
  Tensor whhT = transpose(whh, {1, 0}), bias = (mask - 1.0) * 1e4;
  ScanResult r = scan({h0}, {gates}, [&](const std::vector<Tensor> &carry, const std::vector<Tensor> &row) {
    Tensor h = carry[0];
    Tensor weights = softmax(reduce_sum(keys * reshape(h, {B, 1, H}), {2}) + bias, -1);
    Tensor context = reduce_sum(values * reshape(weights, {B, S, 1}), {1});
    Tensor next = gru_step(row[0] + matmul(context, wc), h, whhT, bhh);
    return ScanStep{{next}, {next, weights}};
  });
  Tensor c = g.constant(randomTensor(dtype, {T, B, H}, -1, 1, 34));
  Tensor d = g.constant(randomTensor(dtype, {T, B, S}, -1, 1, 35));
  g.output(reduce_sum(r.outputs[0] * c, {0, 1, 2}) + reduce_sum(r.outputs[1] * d, {0, 1, 2}) +
               reduce_sum(r.carries[0], {0, 1}),
           "loss");
  if (attentionOutput)
    g.output(r.outputs[1], "attention");
}

std::vector<HostTensor> attentionDecoderInputs(DType dtype) {
  HostTensor mask(dtype, {2, 3});
  for (int64_t k : {0, 1, 2, 3, 4}) // the second source's last position is padding
    mask.set(k, 1);
  return {randomTensor(dtype, {2, 3, 3}, -1, 1, 36), randomTensor(dtype, {2, 3, 2}, -1, 1, 37),
          randomTensor(dtype, {5, 2, 9}, -1, 1, 38), mask, randomTensor(dtype, {2, 3}, -1, 1, 39)};
}

TEST(Scan, AttentionInsideTheBodyMatchesTheReference) {
  Graph g("attention_decoder");
  attentionDecoder(g, DType::f32, true);
  ASSERT_TRUE(g.status().ok()) << g.status().error();
  auto fn = Function::compile(g);
  ASSERT_TRUE(fn.ok()) << fn.error();
  std::vector<HostTensor> inputs = attentionDecoderInputs(DType::f32);
  auto got = fn->run(inputs);
  ASSERT_TRUE(got.ok()) << got.error();
  std::map<std::string, HostTensor> params;
  for (const TensorInfo &p : fn->params())
    params.emplace(p.name, *fn->param(p.name));
  auto want = runReference(g.str(true), "attention_decoder", inputs, "", params);
  ASSERT_TRUE(want.ok()) << want.error();
  EXPECT_TRUE(allClose((*got)[0], (*want)[0], 1e-5, 1e-5));
  EXPECT_TRUE(allClose((*got)[1], (*want)[1], 1e-5, 1e-6));
  // The padded position gets no weight; each step's weights sum to 1.
  const HostTensor &attention = (*got)[1]; // [T, B, S]
  for (int64_t t = 0; t < 5; ++t) {
    EXPECT_EQ(attention.at((t * 2 + 1) * 3 + 2), 0.0);
    for (int64_t b = 0; b < 2; ++b)
      EXPECT_NEAR(attention.at((t * 2 + b) * 3) + attention.at((t * 2 + b) * 3 + 1) +
                      attention.at((t * 2 + b) * 3 + 2),
                  1.0, 1e-6);
  }
}

TEST(Scan, AttentionInsideTheBodyGradientsMatchFiniteDifferences) {
  Graph g("attention_decoder");
  attentionDecoder(g, DType::f64, false);
  expectGradientsMatchFiniteDifferences(g, attentionDecoderInputs(DType::f64),
                                        {{"keys", 0}, {"values", 1}, {"gates", 2}, {"h0", 4}});
}

TEST(Recurrent, LstmTrainingStepLearnsToCountOnes) {
  // Predict, at each step, how many ones the sequence has seen so far
  // (scaled): a task that needs the carried state.
  const int64_t T = 6, B = 16, H = 8;
  Graph g("count");
  Tensor x = g.input("x", {T, B, 1});
  Tensor target = g.input("target", {T, B, 1});
  RecurrentResult r = lstm(g, "cell", x, H);
  Tensor w = g.param("head_w", {H, 1}, normalInit(0, 0.3, 5));
  Tensor y = matmul(reshape(r.output, {T * B, H}), w);
  g.output(mse_loss(y, reshape(target, {T * B, 1})), "loss");
  auto step = train_step(g, "loss", {}, Optimizer::adam());
  ASSERT_TRUE(step.ok()) << step.error();
  HostTensor xv(DType::f32, {T, B, 1}), tv(DType::f32, {T, B, 1});
  std::mt19937 rng(3);
  for (int64_t b = 0; b < B; ++b) {
    int count = 0;
    for (int64_t t = 0; t < T; ++t) {
      int bit = int(rng() & 1);
      count += bit;
      xv.set(t * B + b, bit);
      tv.set(t * B + b, count / double(T));
    }
  }
  HostTensor lr = HostTensor::fromVector(std::vector<float>{0.02f}, {});
  double first = 0, last = 0;
  for (int i = 0; i < 300; ++i) {
    auto loss = step->run({xv, tv, lr});
    ASSERT_TRUE(loss.ok()) << loss.error();
    (i == 0 ? first : last) = (*loss)[0].at(0);
  }
  EXPECT_LT(last, first / 20) << "first " << first << ", last " << last;
}

TEST(Scan, CapturedWeightsAndANestedScanMatchTheReference) {
  // Outer: over 4 steps, a carry [2, 3]; inner: over each step's 5 rows,
  // a running sum scaled by a captured weight.
  Graph g("nested");
  Tensor xs = g.input("xs", {4, 5, 2, 3});
  Tensor w = g.param("w", {3, 3}, normalInit(0, 0.5, 3));
  Tensor c0 = g.input("c0", {2, 3});
  ScanResult outer = scan({c0}, {xs}, [&](const std::vector<Tensor> &carry, const std::vector<Tensor> &row) {
    ScanResult inner = scan({carry[0]}, {row[0]}, [&](const std::vector<Tensor> &acc, const std::vector<Tensor> &r) {
      Tensor next = tanh(matmul(acc[0] + r[0], w));
      return ScanStep{{next}, {next * 2.0}};
    });
    return ScanStep{{inner.carries[0]}, {inner.outputs[0]}};
  }, /*reverse=*/true);
  ASSERT_EQ(outer.outputs.size(), 1u);
  g.output(outer.carries[0], "c");
  g.output(outer.outputs[0], "ys"); // [4, 5, 2, 3]
  ASSERT_TRUE(g.status().ok()) << g.status().error();
  EXPECT_EQ(outer.outputs[0].shape(), (Shape{4, 5, 2, 3}));
  auto fn = Function::compile(g);
  ASSERT_TRUE(fn.ok()) << fn.error();
  std::vector<HostTensor> inputs{randomTensor(DType::f32, {4, 5, 2, 3}, -1, 1, 4),
                                 randomTensor(DType::f32, {2, 3}, -1, 1, 5)};
  auto got = fn->run(inputs);
  ASSERT_TRUE(got.ok()) << got.error();
  auto want = runReference(g.str(true), "nested", inputs, "", {{"w", *fn->param("w")}});
  ASSERT_TRUE(want.ok()) << want.error();
  EXPECT_TRUE(allClose((*got)[0], (*want)[0], 1e-5, 1e-6));
  EXPECT_TRUE(allClose((*got)[1], (*want)[1], 1e-5, 1e-6));
}

/// The compiled module (the llvm phase's text) of an Elman RNN step over
/// `steps` steps, written with scan (input and recurrent products in the
/// loop, so nothing outside it depends on the length but the shapes).
std::string rnnAtLlvmPhase(int64_t steps) {
  Graph g("rnn_len");
  Tensor xs = g.input("xs", {steps, 8, 16});
  Tensor w = g.param("w", {16, 32}, normalInit(0, 0.1, 1)), u = g.param("u", {32, 32}, normalInit(0, 0.1, 2));
  ScanResult r = scan({g.constant(HostTensor(DType::f32, {8, 32}))}, {xs},
                      [&](const std::vector<Tensor> &h, const std::vector<Tensor> &x) {
                        Tensor next = tanh(matmul(x[0], w) + matmul(h[0], u));
                        return ScanStep{{next}, {next}};
                      });
  g.output(r.outputs[0], "hs");
  auto text = lowerToStage(g.str(true), "rnn_len.mlir", "llvm");
  return text.ok() ? *text : "error: " + text.error();
}

TEST(Scan, IrSizeDoesNotGrowWithTheLength) {
  // Lengths no other constant of the module equals (a length of 16 shared
  // its constant with the 16-long k loop of the input product: one line
  // fewer).
  std::string shortRun = rnnAtLlvmPhase(37), longRun = rnnAtLlvmPhase(1031);
  ASSERT_EQ(shortRun.rfind("error", 0), std::string::npos) << shortRun;
  auto lines = [](const std::string &text) { return std::count(text.begin(), text.end(), '\n'); };
  EXPECT_EQ(lines(shortRun), lines(longRun));
  EXPECT_GT(lines(shortRun), 0);
  // One loop over the steps holds the step's kernels.
  EXPECT_NE(longRun.find("1031"), std::string::npos);
}

TEST(Recurrent, BadShapesAreLocatedErrors) {
  Graph g("bad");
  Tensor x = g.input("x", {4, 3});
  gru(g, "cell", x, 8);
  ASSERT_FALSE(g.status().ok());
  EXPECT_NE(g.status().error().find("RecurrentTest.cpp:"), std::string::npos) << g.status().error();
  EXPECT_NE(g.status().error().find("gru \"cell\": x must be [T, B, I], got [4, 3]"), std::string::npos)
      << g.status().error();

  Graph g2("bad_h0");
  Tensor x2 = g2.input("x", {4, 3, 2});
  lstm(g2, "cell", x2, 8, {}, g2.input("h0", {1, 3, 7}));
  EXPECT_NE(g2.status().error().find("h0 must be [1, 3, 8] ([layers, B, H]), got [1, 3, 7]"), std::string::npos)
      << g2.status().error();

  Graph g3("bad_step");
  Tensor x3 = g3.input("x", {4, 3});
  scan({g3.input("c", {3})}, {x3}, [](const std::vector<Tensor> &, const std::vector<Tensor> &r) {
    return ScanStep{{r[0], r[0]}, {}};
  });
  EXPECT_NE(g3.status().error().find("scan: the step returns 2 carries, expected 1"), std::string::npos)
      << g3.status().error();

  Graph g4("bad_checkpoint");
  RecurrentOptions o;
  o.checkpointEvery = -2;
  gru(g4, "cell", g4.input("x", {4, 3, 2}), 8, o);
  EXPECT_NE(g4.status().error().find("scan: checkpointEvery must be 0 (save every carry) or a positive step count, "
                                     "got -2"),
            std::string::npos)
      << g4.status().error();
}

} // namespace
