// A character-level language model with causal self-attention, built from
// kiln's primitives: an embedding (gather), learned positions, pre-norm
// transformer blocks (layer norm, Q/K/V projections, scaled dot-product
// attention with a causal mask, softmax, an MLP with GELU, residuals), a
// final layer norm and a projection to the vocabulary. With dropout, the
// embeddings and each block's two residual branches are dropped during
// training (not the attention weights, so the attention stays one
// nn.attention).
#pragma once
#include "kiln/kiln.h"

#include <cmath>
#include <string>

struct CharLmConfig {
  int64_t vocab = 64, dModel = 64, heads = 4, layers = 2, context = 16, batch = 16, hidden = 128;
  uint64_t seed = 1;
  double dropout = 0; // applied where charLm is given a step number
  kiln::DType dtype = kiln::DType::f32;
};

struct CharLmOutputs {
  kiln::Tensor logits;        // [batch, context, vocab]
  kiln::Tensor lastAttention; // [batch, context, context]: the last layer's, mean over heads
};

/// Declares the parameters in `g` (same names and initializers in every
/// graph built with the same config, so trained values carry over) and
/// returns the logits for token ids `ids` [batch, context]. `step` (a
/// rank-0 i64 input: the training step's number, which varies the dropout
/// masks) turns dropout on; inference and validation graphs leave it out.
inline CharLmOutputs charLm(kiln::Graph &g, kiln::Tensor ids, const CharLmConfig &c, kiln::Tensor step = {}) {
  using namespace kiln;
  const int64_t B = ids.shape()[0], T = c.context, D = c.dModel, H = c.heads, Dh = D / H;
  uint64_t seed = c.seed;
  auto ones = [&](const std::string &name) { return g.param(name, {D}, onesInit(), c.dtype); };
  auto zeros = [&](const std::string &name, int64_t n) { return g.param(name, {n}, zerosInit(), c.dtype); };
  auto weight = [&](const std::string &name, Shape shape, double std) {
    return g.param(name, shape, normalInit(0, std, seed++), c.dtype);
  };
  Tensor tokenEmbedding = weight("tok_emb", {c.vocab, D}, 0.1);
  Tensor positionEmbedding = weight("pos_emb", {T, D}, 0.1);
  int64_t dropouts = 0;
  auto drop = [&](Tensor t) { return step.valid() && c.dropout > 0 ? dropout(t, step, c.dropout, int64_t(c.seed) * 1000 + dropouts++) : t; };
  Tensor x = drop(gather(tokenEmbedding, ids) + positionEmbedding); // [B, T, D]
  Tensor mask = g.causal_mask(T);                              // [T, T]
  Tensor lastAttention;
  double projStd = 1 / std::sqrt(double(D)), outStd = projStd / std::sqrt(2.0 * c.layers);
  for (int64_t l = 0; l < c.layers; ++l) {
    std::string p = "l" + std::to_string(l) + "_";
    // Attention: heads split from [B, T, D] to [B, H, T, Dh].
    Tensor h = layer_norm(x, ones(p + "ln1_g"), zeros(p + "ln1_b", D));
    auto heads = [&](Tensor t) { return transpose(reshape(t, {B, T, H, Dh}), {0, 2, 1, 3}); };
    Tensor q = heads(matmul(h, weight(p + "wq", {D, D}, projStd)));
    Tensor k = heads(matmul(h, weight(p + "wk", {D, D}, projStd)));
    Tensor v = heads(matmul(h, weight(p + "wv", {D, D}, projStd)));
    Tensor scores = matmul(q, k, false, /*transposeB=*/true) * (1.0 / std::sqrt(double(Dh)));
    Tensor weights = softmax(select(mask, scores, -1e9), -1); // [B, H, T, T]
    lastAttention = reduce_mean(weights, {1});
    Tensor attended = reshape(transpose(matmul(weights, v), {0, 2, 1, 3}), {B, T, D});
    x = x + drop(matmul(attended, weight(p + "wo", {D, D}, outStd)));
    // MLP.
    Tensor m = layer_norm(x, ones(p + "ln2_g"), zeros(p + "ln2_b", D));
    m = gelu(matmul(m, weight(p + "w1", {D, c.hidden}, projStd)) + zeros(p + "b1", c.hidden));
    x = x + drop(matmul(m, weight(p + "w2", {c.hidden, D}, 1 / std::sqrt(double(c.hidden)) / std::sqrt(2.0 * c.layers))));
  }
  x = layer_norm(x, ones("lnf_g"), zeros("lnf_b", D));
  return {matmul(x, weight("head", {D, c.vocab}, projStd)), lastAttention};
}
