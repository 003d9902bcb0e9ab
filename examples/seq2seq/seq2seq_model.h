// The encoder-decoder with attention (Bahdanau et al. 2015, with a
// multiplicative score): a bidirectional GRU reads the source; a GRU
// decoder, at every step, scores each source position against its hidden
// state, reads the softmax-weighted sum of the encoder's states (the
// context) and takes it with the previous character as its input. The
// decoder's loop is one nn.scan whose body holds the attention, so the
// attention weights come out per step, for the view.
//
// Sequences are padded to fixed lengths; `sourceMask` [B, S] is 1 at
// characters and 0 at padding, which the attention never looks at.
#pragma once
#include "kiln/kiln.h"

#include <cmath>

struct Seq2SeqConfig {
  int64_t vocab = 0, embed = 96, hidden = 256, head = 256;
  int64_t sourceLength = 0, targetLength = 0; // padded; the target counts its start or end token
};

/// The parameters both halves read.
inline kiln::Tensor embeddingTable(kiln::Graph &g, const Seq2SeqConfig &c) {
  return g.param("embedding", {c.vocab, c.embed}, kiln::normalInit(0, 0.3, 21));
}

struct Encoded {
  kiln::Tensor states; // [B, S, 2H]: forward and backward GRU states at each position
  kiln::Tensor keys;   // [B, S, H]: states projected for the decoder's scores
  kiln::Tensor h0;     // [B, H]: the decoder's initial state, from the mean of the states
};

inline Encoded encodeSource(kiln::Graph &g, kiln::Tensor table, kiln::Tensor sourceIds, kiln::Tensor sourceMask,
                            const Seq2SeqConfig &c) {
  using namespace kiln;
  const int64_t B = sourceIds.shape()[0], S = sourceIds.shape()[1], H = c.hidden;
  Tensor x = transpose(gather(table, sourceIds), {1, 0, 2}); // [S, B, E]
  RecurrentOptions backward;
  backward.reverse = true;
  backward.seed = 2;
  Tensor forwardStates = gru(g, "encoder_forward", x, H).output; // [S, B, H]
  Tensor backwardStates = gru(g, "encoder_backward", x, H, backward).output;
  Tensor states = transpose(concat({forwardStates, backwardStates}, 2), {1, 0, 2}); // [B, S, 2H]
  double scale = 1 / std::sqrt(double(2 * H));
  Tensor wk = g.param("attention_key_w", {2 * H, H}, normalInit(0, scale, 22));
  // Scaled by 1 / sqrt(H), so that the first scores are of order one (as
  // in dot-product attention).
  Tensor keys = reshape(matmul(reshape(states, {B * S, 2 * H}), wk), {B, S, H}) * (1 / std::sqrt(double(H)));
  // The mean over the source's characters (padding weighs 0).
  Tensor weights = sourceMask / reduce_sum(sourceMask, {1}, true);
  Tensor mean = reduce_sum(states * reshape(weights, {B, S, 1}), {1}); // [B, 2H]
  Tensor wi = g.param("decoder_init_w", {2 * H, H}, normalInit(0, scale, 23));
  Tensor bi = g.param("decoder_init_b", {H}, zerosInit());
  return {states, keys, tanh(matmul(mean, wi) + bi)};
}

struct Decoded {
  kiln::Tensor logits;    // [T * B, V], row t * B + b: the character after previousIds[b, t]
  kiln::Tensor h;         // [B, H] after the last step
  kiln::Tensor attention; // [T, B, S]: step t's weights over the source positions
};

/// Teacher forcing in training (previousIds [B, T] is the start token and
/// the target shifted right); T = 1 in greedy decoding, one step at a time.
inline Decoded decodeTarget(kiln::Graph &g, kiln::Tensor table, kiln::Tensor previousIds, kiln::Tensor h0,
                            const Encoded &source, kiln::Tensor sourceMask, const Seq2SeqConfig &c) {
  using namespace kiln;
  const int64_t B = previousIds.shape()[0], T = previousIds.shape()[1], S = sourceMask.shape()[1];
  const int64_t E = c.embed, H = c.hidden, G = 3 * H;
  // The decoder GRU's input is [embedding; context], in PyTorch's layout.
  double bound = 1 / std::sqrt(double(H));
  Tensor wih = g.param("decoder_gru_weight_ih_l0", {G, E + 2 * H}, uniformInit(-bound, bound, 24));
  Tensor whh = g.param("decoder_gru_weight_hh_l0", {G, H}, uniformInit(-bound, bound, 25));
  Tensor bih = g.param("decoder_gru_bias_ih_l0", {G}, uniformInit(-bound, bound, 26));
  Tensor bhh = g.param("decoder_gru_bias_hh_l0", {G}, uniformInit(-bound, bound, 27));
  // The embedding's share of the input gates, for every step at once.
  Tensor embedded = reshape(transpose(gather(table, previousIds), {1, 0, 2}), {T * B, E});
  Tensor embeddedGates = reshape(matmul(embedded, slice(wih, {0, 0}, {G, E}), false, true) + bih, {T, B, G});
  Tensor contextWeightsT = transpose(slice(wih, {0, E}, {G, E + 2 * H}), {1, 0}); // [2H, 3H]
  Tensor whhT = transpose(whh, {1, 0});
  Tensor maskBias = (sourceMask - 1.0) * 1e4; // 0 at characters, -1e4 at padding
  ScanBody step = [&](const std::vector<Tensor> &carries, const std::vector<Tensor> &rows) -> ScanStep {
    Tensor h = carries[0];
    Tensor scores = reduce_sum(source.keys * reshape(h, {B, 1, H}), {2}) + maskBias; // [B, S]
    Tensor weights = softmax(scores, -1);
    Tensor context = reduce_sum(source.states * reshape(weights, {B, S, 1}), {1}); // [B, 2H]
    Tensor next = gru_step(rows[0] + matmul(context, contextWeightsT), h, whhT, bhh);
    return {{next}, {next, context, weights}};
  };
  ScanResult loop = scan({h0}, {embeddedGates}, step);
  // The next character from the new state and the context it read.
  Tensor features = reshape(concat({loop.outputs[0], loop.outputs[1]}, 2), {T * B, 3 * H});
  Tensor w1 = g.param("head_w1", {3 * H, c.head}, normalInit(0, 1 / std::sqrt(double(3 * H)), 28));
  Tensor b1 = g.param("head_b1", {c.head}, zerosInit());
  Tensor w2 = g.param("head_w2", {c.head, c.vocab}, normalInit(0, 1 / std::sqrt(double(c.head)), 29));
  Tensor b2 = g.param("head_b2", {c.vocab}, zerosInit());
  return {matmul(tanh(matmul(features, w1) + b1), w2) + b2, loop.carries[0], loop.outputs[2]};
}

/// The mean negative log-likelihood of the target characters: `labelIndex`
/// [T * B] holds row * V + label for each logits row, `labelWeight` [T * B]
/// is 1 / (number of target tokens) there and 0 at padding.
inline kiln::Tensor maskedNll(kiln::Tensor logits, kiln::Tensor labelIndex, kiln::Tensor labelWeight) {
  using namespace kiln;
  const int64_t N = logits.shape()[0], V = logits.shape()[1];
  Tensor picked = gather(reshape(log_softmax(logits, -1), {N * V, 1}), labelIndex); // [N, 1]
  return -reduce_sum(reshape(picked, {N}) * labelWeight, {0});
}
