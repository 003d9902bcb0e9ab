//===- Optimizers.h - parameter update rules in nn IR ------------*- C++ -*-===//
#ifndef KILN_PASSES_AUTODIFF_OPTIMIZERS_H
#define KILN_PASSES_AUTODIFF_OPTIMIZERS_H

#include "ir/NNBuilder.h"
#include <string>

namespace kiln {

struct OptimizerConfig {
  std::string kind = "sgd"; // sgd | adam | adamw
  double momentum = 0, beta1 = 0.9, beta2 = 0.999, eps = 1e-8, weightDecay = 0;
};

/// The optimizer state tensors one parameter needs (names are suffixes:
/// "momentum", "m", "v"), all starting at zero.
llvm::SmallVector<std::string> stateNames(const OptimizerConfig &config);
/// Whether the optimizer keeps a step count (Adam's bias correction).
bool needsStepCount(const OptimizerConfig &config);

/// New values of a parameter and its state from its gradient, as PyTorch
/// computes them. `step` is the already-incremented step count (rank 0) or
/// null. Returns {new parameter, new state...} in stateNames order.
llvm::SmallVector<mlir::Value> applyUpdate(nn::NNBuilder &b, const OptimizerConfig &config,
                                           mlir::Value param, mlir::Value grad,
                                           llvm::ArrayRef<mlir::Value> state, mlir::Value lr,
                                           mlir::Value step);

} // namespace kiln

#endif
