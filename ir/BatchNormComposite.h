//===- BatchNormComposite.h - nn.batch_norm spelled with other nn ops -*- C++ -*-===//
//
// nn.batch_norm as the nn ops it is made of, for its lowering (the
// normalisation, the batch statistics and the running averages) and for
// its gradient rule (the gradients of x, gamma and beta). Statistics are
// over every axis but the channels (axis 1); per-channel values [C] are
// read as [C, 1, ..., 1] so they broadcast against x.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_IR_BATCHNORMCOMPOSITE_H
#define KILN_IR_BATCHNORMCOMPOSITE_H

#include "ir/Dialect.h"
#include "ir/NNBuilder.h"

namespace kiln::nn {

struct BatchNormResults {
  mlir::Value result, newMean, newVariance;
};
BatchNormResults batchNormComposite(NNBuilder &b, BatchNormOp op);

struct BatchNormGradients {
  mlir::Value x, gamma, beta;
};
/// The gradients of x, gamma and beta for the cotangent `g` of the result.
BatchNormGradients batchNormGradientsComposite(NNBuilder &b, BatchNormOp op, mlir::Value g);

} // namespace kiln::nn

#endif
