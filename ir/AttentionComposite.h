//===- AttentionComposite.h - nn.attention spelled with other nn ops -*- C++ -*-===//
//
// The plain composite of nn.attention and of its backward pass: scores
// [..., Lq, Lk] as one matmul, excluded keys set to -inf, a softmax that
// gives zero rows where no key is left, a second matmul; and the gradients
// from the recomputed probabilities. kiln-lower-attention uses them where
// the scores are small; the gradient rule computes a bias's gradient with
// them.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_IR_ATTENTIONCOMPOSITE_H
#define KILN_IR_ATTENTIONCOMPOSITE_H

#include "ir/Dialect.h"
#include "ir/NNBuilder.h"

namespace kiln::nn {

/// What an nn.attention or nn.attention_backward attends with.
struct AttentionParts {
  mlir::Value q, k, v, mask, bias; // mask and bias may be null
  bool causal = false;
  double scale = 1;
  static AttentionParts of(AttentionOp op);
  static AttentionParts of(AttentionBackwardOp op);
};

/// softmax over the keys of the attention's scores, [..., Lq, Lk]; a row
/// whose every key is excluded is zeros.
mlir::Value attentionProbabilities(NNBuilder &b, const AttentionParts &a);

/// The attention's result as the composite: probabilities times v.
mlir::Value attentionComposite(NNBuilder &b, const AttentionParts &a);

/// The gradients given the result's cotangent `grad`; `scores` is the
/// cotangent of the scaled and biased scores (a bias's gradient, summed to
/// its shape).
struct AttentionGradients {
  mlir::Value dq, dk, dv, scores;
};
AttentionGradients attentionGradientsComposite(NNBuilder &b, const AttentionParts &a, mlir::Value grad);

} // namespace kiln::nn

#endif
