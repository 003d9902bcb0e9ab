//===- AttentionComposite.h - nn.attention spelled with other nn ops -*- C++ -*-===//
//
// The plain composite of nn.attention: scores [..., Lq, Lk] as one matmul,
// excluded keys set to -inf, a softmax that gives zero rows where no key is
// left, and a second matmul. Its gradient rule recomputes the probabilities
// this way, and kiln-lower-attention uses it where the scores are small.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_IR_ATTENTIONCOMPOSITE_H
#define KILN_IR_ATTENTIONCOMPOSITE_H

#include "ir/Dialect.h"
#include "ir/NNBuilder.h"

namespace kiln::nn {

/// softmax over the keys of the attention's scores, [..., Lq, Lk]; a row
/// whose every key is excluded is zeros.
mlir::Value attentionProbabilities(NNBuilder &b, AttentionOp op);

/// The attention's result as the composite: probabilities times v.
mlir::Value attentionComposite(NNBuilder &b, AttentionOp op);

} // namespace kiln::nn

#endif
