//===- Recurrent.cpp - RNN, GRU and LSTM layers on kiln::scan ------------===//
//
// Each layer computes the input projections of every step as one matmul
// before its loop ([T * B, I] x [I, G * H], as oneDNN's RNN primitives do),
// and only the recurrent product h W_hh^T inside it (W_hh transposed once,
// before the loop). Gates are sliced from
// the projections along the last axis in PyTorch's order.
//
//===----------------------------------------------------------------------===//
#include "kiln/Recurrent.h"
#include "kiln/HostTensor.h"
#include "frontend/GraphImpl.h"

#include <cmath>

namespace kiln {

namespace {

enum class Cell { Rnn, Gru, Lstm };

int64_t gatesOf(Cell cell) { return cell == Cell::Rnn ? 1 : cell == Cell::Gru ? 3 : 4; }

/// Gate k of `t` [..., G * H] along its last axis: [..., H] (invalid, the
/// error recorded, for a rank-0 `t`; invalid for an invalid one).
Tensor gate(Tensor t, int64_t k, int64_t hidden, Where where) {
  if (!t.valid())
    return {};
  Shape s = t.shape();
  if (s.empty()) {
    t.graph()->impl().error(where, "a recurrent step's gates must have rank 1 or more, got a rank-0 tensor");
    return {};
  }
  std::vector<int64_t> starts(s.size(), 0), stops(s.begin(), s.end());
  starts.back() = k * hidden;
  stops.back() = (k + 1) * hidden;
  return slice(t, starts, stops, {}, where);
}

/// The hidden size of a step's state `h` [B, H], or 0 (the error recorded)
/// when it has no axis.
int64_t hiddenOf(Tensor h, Where where) {
  if (!h.valid())
    return 0;
  if (h.shape().empty()) {
    h.graph()->impl().error(where, "a recurrent step's state must be [B, H], got a rank-0 tensor");
    return 0;
  }
  return h.shape().back();
}

struct LayerWeights {
  Tensor wih, whh, bih, bhh; // [G H, I], [G H, H], [G H], [G H] (biases may be invalid)
};

LayerWeights weights(Graph &g, const std::string &name, int64_t layer, int64_t input, int64_t hidden, Cell cell,
                     const RecurrentOptions &o, DType dtype, Where where) {
  int64_t rows = gatesOf(cell) * hidden;
  double bound = 1 / std::sqrt(double(hidden));
  std::string suffix = "_l" + std::to_string(layer);
  uint64_t seed = o.seed * 1000 + uint64_t(layer) * 4;
  LayerWeights w;
  w.wih = g.param(name + "_weight_ih" + suffix, {rows, input}, uniformInit(-bound, bound, seed), dtype, where);
  w.whh = g.param(name + "_weight_hh" + suffix, {rows, hidden}, uniformInit(-bound, bound, seed + 1), dtype, where);
  if (o.bias) {
    w.bih = g.param(name + "_bias_ih" + suffix, {rows}, uniformInit(-bound, bound, seed + 2), dtype, where);
    w.bhh = g.param(name + "_bias_hh" + suffix, {rows}, uniformInit(-bound, bound, seed + 3), dtype, where);
  }
  return w;
}

/// Row `layer` of a [layers, B, H] initial state, or zeros.
Tensor initialState(Graph &g, Tensor given, int64_t layer, int64_t batch, int64_t hidden, DType dtype, Where where) {
  if (!given.valid())
    return g.constant(HostTensor(dtype, {batch, hidden}), where);
  return reshape(slice(given, {layer, 0, 0}, {layer + 1, batch, hidden}, {}, where), {batch, hidden}, where);
}

RecurrentResult recurrent(Cell cell, Graph &g, const std::string &name, Tensor x, int64_t hidden,
                          const RecurrentOptions &o, Tensor h0, Tensor c0, Where where) {
  if (!x.valid())
    return {};
  Graph::Impl &impl = g.impl();
  const char *layerName = cell == Cell::Rnn ? "rnn" : cell == Cell::Gru ? "gru" : "lstm";
  auto fail = [&](const std::string &message) {
    impl.error(where, std::string(layerName) + " \"" + name + "\": " + message);
    return RecurrentResult{};
  };
  Shape s = x.shape();
  if (s.size() != 3)
    return fail("x must be [T, B, I]" + std::string(o.batchFirst ? " ([B, T, I] with batchFirst)" : "") +
                ", got " + shapeString(s));
  if (hidden <= 0 || o.layers <= 0)
    return fail("hidden size and layer count must be positive, got " + std::to_string(hidden) + " and " +
                std::to_string(o.layers));
  if (cell == Cell::Rnn && o.nonlinearity != "tanh" && o.nonlinearity != "relu")
    return fail("nonlinearity must be tanh or relu, got \"" + o.nonlinearity + "\"");
  int64_t batch = o.batchFirst ? s[0] : s[1];
  Shape stateShape{o.layers, batch, hidden};
  for (const Tensor *state : {&h0, &c0})
    if (state->valid() && state->shape() != stateShape)
      return fail(std::string(state == &h0 ? "h0" : "c0") + " must be " + shapeString(stateShape) +
                  " ([layers, B, H]), got " + shapeString(state->shape()));
  if (o.batchFirst)
    x = transpose(x, {1, 0, 2}, where); // [T, B, I]
  const int64_t T = x.shape()[0], B = x.shape()[1];
  const DType dtype = x.dtype();
  const int64_t G = gatesOf(cell);
  std::vector<Tensor> finalH, finalC;
  Tensor layerInput = x;
  for (int64_t l = 0; l < o.layers; ++l) {
    int64_t input = layerInput.shape()[2];
    LayerWeights w = weights(g, name, l, input, hidden, cell, o, dtype, where);
    // Every step's input projection at once: [T B, I] x [I, G H].
    Tensor projected = matmul(reshape(layerInput, {T * B, input}, where), w.wih, false, true, where);
    if (w.bih.valid())
      projected = add(projected, w.bih, where);
    projected = reshape(projected, {T, B, G * hidden}, where);
    std::vector<Tensor> inits{initialState(g, h0, l, B, hidden, dtype, where)};
    if (cell == Cell::Lstm)
      inits.push_back(initialState(g, c0, l, B, hidden, dtype, where));
    // W_hh^T [H, G H] once per call, outside the loop: the step's product
    // then reads it as it is (a transposed operand would be copied at
    // every step).
    Tensor whhT = transpose(w.whh, {1, 0}, where);
    ScanBody step = [&](const std::vector<Tensor> &carries, const std::vector<Tensor> &rows) -> ScanStep {
      Tensor h = carries[0], xp = rows[0]; // [B, H], [B, G H]
      switch (cell) {
      case Cell::Rnn: {
        Tensor next = rnn_step(xp, h, whhT, w.bhh, o.nonlinearity, where);
        return {{next}, {next}};
      }
      case Cell::Gru: {
        Tensor next = gru_step(xp, h, whhT, w.bhh, o.linearBeforeReset, where);
        return {{next}, {next}};
      }
      case Cell::Lstm: {
        LstmState next = lstm_step(xp, h, carries[1], whhT, w.bhh, where);
        return {{next.h, next.c}, {next.h}};
      }
      }
      return {};
    };
    ScanResult r = scan(inits, {projected}, step, o.reverse, o.checkpointEvery, where);
    if (r.outputs.empty())
      return {};
    layerInput = r.outputs[0]; // [T, B, H]
    finalH.push_back(reshape(r.carries[0], {1, B, hidden}, where));
    if (cell == Cell::Lstm)
      finalC.push_back(reshape(r.carries[1], {1, B, hidden}, where));
  }
  RecurrentResult result;
  result.output = o.batchFirst ? transpose(layerInput, {1, 0, 2}, where) : layerInput;
  result.h = finalH.size() == 1 ? finalH[0] : concat(finalH, 0, where);
  if (cell == Cell::Lstm)
    result.c = finalC.size() == 1 ? finalC[0] : concat(finalC, 0, where);
  return result;
}

/// The recurrent half of every gate: h W_hh^T (+ b_hh).
Tensor recurrentGates(Tensor h, Tensor whhT, Tensor bhh, Where where) {
  Tensor hp = matmul(h, whhT, false, false, where);
  return bhh.valid() ? add(hp, bhh, where) : hp;
}

} // namespace

Tensor rnn_step(Tensor xGates, Tensor h, Tensor whhT, Tensor bhh, const std::string &nonlinearity, Where where) {
  Tensor pre = add(xGates, recurrentGates(h, whhT, bhh, where), where);
  return nonlinearity == "relu" ? relu(pre, where) : tanh(pre, where);
}

Tensor gru_step(Tensor xGates, Tensor h, Tensor whhT, Tensor bhh, bool linearBeforeReset, Where where) {
  const int64_t hidden = hiddenOf(h, where);
  if (hidden == 0)
    return {};
  Tensor hp = recurrentGates(h, whhT, bhh, where);
  Tensor r = sigmoid(add(gate(xGates, 0, hidden, where), gate(hp, 0, hidden, where), where), where);
  Tensor z = sigmoid(add(gate(xGates, 1, hidden, where), gate(hp, 1, hidden, where), where), where);
  Tensor recurrentN;
  if (linearBeforeReset) {
    recurrentN = mul(r, gate(hp, 2, hidden, where), where);
  } else {
    // W_hn (r * h) + b_hn: the reset gate before the product.
    Tensor whn = gate(whhT, 2, hidden, where); // [H, H] = W_hn^T
    recurrentN = matmul(mul(r, h, where), whn, false, false, where);
    if (bhh.valid())
      recurrentN = add(recurrentN, gate(bhh, 2, hidden, where), where);
  }
  Tensor n = tanh(add(gate(xGates, 2, hidden, where), recurrentN, where), where);
  return add(mul(sub(1.0, z, where), n, where), mul(z, h, where), where);
}

LstmState lstm_step(Tensor xGates, Tensor h, Tensor c, Tensor whhT, Tensor bhh, Where where) {
  const int64_t hidden = hiddenOf(h, where);
  if (hidden == 0)
    return {};
  Tensor pre = add(xGates, recurrentGates(h, whhT, bhh, where), where);
  Tensor i = sigmoid(gate(pre, 0, hidden, where), where), f = sigmoid(gate(pre, 1, hidden, where), where);
  Tensor g = tanh(gate(pre, 2, hidden, where), where), out = sigmoid(gate(pre, 3, hidden, where), where);
  Tensor nextC = add(mul(f, c, where), mul(i, g, where), where);
  return {mul(out, tanh(nextC, where), where), nextC};
}

RecurrentResult rnn(Graph &g, const std::string &name, Tensor x, int64_t hidden, const RecurrentOptions &options,
                    Tensor h0, Where where) {
  return recurrent(Cell::Rnn, g, name, x, hidden, options, h0, {}, where);
}

RecurrentResult gru(Graph &g, const std::string &name, Tensor x, int64_t hidden, const RecurrentOptions &options,
                    Tensor h0, Where where) {
  return recurrent(Cell::Gru, g, name, x, hidden, options, h0, {}, where);
}

RecurrentResult lstm(Graph &g, const std::string &name, Tensor x, int64_t hidden, const RecurrentOptions &options,
                     Tensor h0, Tensor c0, Where where) {
  return recurrent(Cell::Lstm, g, name, x, hidden, options, h0, c0, where);
}

} // namespace kiln
