//===- kiln/Recurrent.h - loops in the graph: scan, RNN, GRU, LSTM -*- C++ -*-===//
//
// `scan` builds an nn.scan: a loop over the leading axis of its inputs,
// carrying state, that stays a loop down to machine code (the IR does not
// grow with the sequence length). The layers below are built on it with
// PyTorch's parameter layout and names, so trained weights carry over.
//
// Differentiable: the gradient of a scan is a scan over the steps in the
// opposite order (backpropagation through time; docs/design.md,
// "Recurrence").
//
//===----------------------------------------------------------------------===//
#ifndef KILN_RECURRENT_H
#define KILN_RECURRENT_H

#include "kiln/Graph.h"

#include <functional>
#include <string>
#include <vector>

namespace kiln {

/// What one step of a scan returns: the next carries (one per init, same
/// types) and the step's outputs (stacked by the scan).
struct ScanStep {
  std::vector<Tensor> carries;
  std::vector<Tensor> outputs;
};
/// The step: the carries and row t of each scanned input (leading axis
/// dropped). It may use any tensor of the graph built outside it (weights):
/// scan passes those in as the loop's loop-invariant operands.
using ScanBody = std::function<ScanStep(const std::vector<Tensor> &carries, const std::vector<Tensor> &rows)>;
struct ScanResult {
  std::vector<Tensor> carries; // after the last step
  std::vector<Tensor> outputs; // each step output stacked: [T, ...], row t is step t's
};
/// Runs `body` for t = 0 .. T-1 (T - 1 .. 0 with `reverse`) over the
/// leading axis (length T, the same for all) of `xs`. With `checkpointEvery`
/// k > 1, its gradient saves only every k-th carry and recomputes the steps
/// between (about T/k + k carries held instead of T, for one more forward
/// pass; docs/design.md, "Recurrence"); 0 or 1 saves every carry and the
/// result of every product in the body that changes from step to step.
ScanResult scan(const std::vector<Tensor> &inits, const std::vector<Tensor> &xs, const ScanBody &body,
                bool reverse = false, int64_t checkpointEvery = 0, Where where = Where::current());

/// What the recurrent layers take besides their input.
struct RecurrentOptions {
  int64_t layers = 1;       // stacked: layer l > 0 reads layer l - 1's outputs
  bool batchFirst = false;  // x and output [B, T, ...] instead of [T, B, ...]
  bool bias = true;         // b_ih and b_hh
  bool reverse = false;     // run from the last step to the first
  std::string nonlinearity = "tanh"; // rnn only: tanh or relu
  bool linearBeforeReset = true;     // gru only: r * (W_hn h + b_hn) (PyTorch); false: W_hn (r * h) + b_hn
  int64_t checkpointEvery = 0;       // > 1: training saves every k-th state only (see scan)
  uint64_t seed = 1;        // weights uniform in [-1/sqrt(H), 1/sqrt(H)] as PyTorch's
};
struct RecurrentResult {
  Tensor output;      // [T, B, H] (batchFirst: [B, T, H]): the last layer's h at every step
  Tensor h;           // [layers, B, H]: each layer's final h
  Tensor c;           // lstm only: [layers, B, H], each layer's final cell state
};
/// Elman RNN: h' = act(x W_ih^T + b_ih + h W_hh^T + b_hh). Parameters
/// `<name>_weight_ih_l<k>` [H, I] (I = H for k > 0), `_weight_hh_l<k>`
/// [H, H], `_bias_ih_l<k>`, `_bias_hh_l<k>` [H]. `h0` [layers, B, H]
/// (zeros when not given).
RecurrentResult rnn(Graph &g, const std::string &name, Tensor x, int64_t hidden,
                    const RecurrentOptions &options = {}, Tensor h0 = {}, Where where = Where::current());
/// GRU with PyTorch's gate order (r, z, n) in weights [3H, I] and [3H, H]:
/// r = s(W_ir x + b_ir + W_hr h + b_hr), z likewise, n = tanh(W_in x + b_in +
/// r * (W_hn h + b_hn)), h' = (1 - z) * n + z * h.
RecurrentResult gru(Graph &g, const std::string &name, Tensor x, int64_t hidden,
                    const RecurrentOptions &options = {}, Tensor h0 = {}, Where where = Where::current());
/// LSTM with PyTorch's gate order (i, f, g, o) in weights [4H, I] and
/// [4H, H]: c' = f * c + i * g, h' = o * tanh(c').
RecurrentResult lstm(Graph &g, const std::string &name, Tensor x, int64_t hidden,
                     const RecurrentOptions &options = {}, Tensor h0 = {}, Tensor c0 = {},
                     Where where = Where::current());

/// One step of each cell on precomputed input gates, for recurrences whose
/// input is made inside the loop (a decoder reading an attention context):
/// `xGates` = x W_ih^T + b_ih [B, G H] (G = 1, 3, 4), `h` (and `c`) [B, H],
/// `whhT` = W_hh^T [H, G H] (transposed once, before the loop), `bhh` [G H]
/// or invalid. The layers above run these steps.
Tensor rnn_step(Tensor xGates, Tensor h, Tensor whhT, Tensor bhh, const std::string &nonlinearity = "tanh",
                Where where = Where::current());
Tensor gru_step(Tensor xGates, Tensor h, Tensor whhT, Tensor bhh, bool linearBeforeReset = true,
                Where where = Where::current());
struct LstmState {
  Tensor h, c;
};
LstmState lstm_step(Tensor xGates, Tensor h, Tensor c, Tensor whhT, Tensor bhh, Where where = Where::current());

} // namespace kiln

#endif
