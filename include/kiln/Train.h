//===- kiln/Train.h - a training loop with a progress line -------*- C++ -*-===//
#ifndef KILN_TRAIN_H
#define KILN_TRAIN_H

#include "kiln/Function.h"

#include <cstdio>
#include <functional>

namespace kiln {

/// Prints training progress (step, loss, steps/s): one line updated in
/// place on a terminal, plain lines (every `plainEvery` steps) otherwise.
class ProgressLine {
public:
  explicit ProgressLine(int64_t totalSteps, std::FILE *out = stdout, int64_t plainEvery = 100);
  void update(int64_t step, double loss);
  /// Ends the line (terminal) and prints the final figures.
  void finish();

private:
  int64_t total_, plainEvery_, lastStep_ = 0;
  double lastLoss_ = 0, start_;
  std::FILE *out_;
  bool terminal_;
};

struct TrainLoopOptions {
  bool showProgress = true;
  int64_t plainEvery = 100; // progress lines when not on a terminal
};

/// Runs `steps` calls of a compiled train_step: `batch(step)` gives its
/// inputs (in order, without the learning rate), `lr(step)` the learning
/// rate. Returns the loss of every step.
Result<std::vector<double>> trainLoop(Function &trainStep, int64_t steps,
                                      const std::function<std::vector<HostTensor>(int64_t)> &batch,
                                      const std::function<double(int64_t)> &lr,
                                      const TrainLoopOptions &options = {});

/// Saves a training step's whole state to `dir` (created if missing): every
/// parameter of the compiled step — the model's parameters, the optimizer's
/// state (Adam's moments, SGD's momentum) and the step count — as
/// NAME.npy, and a manifest `kiln-state.txt` (format version, then each
/// tensor's name, dtype and shape). Loading it into the same step compiled
/// again continues the run bit for bit.
Status saveTrainingState(const Function &trainStep, const std::string &dir);
/// Loads a state saved by saveTrainingState. Every tensor the step has must
/// be in the manifest with the same dtype and shape, and no other: a
/// mismatch (another model or optimizer) is an error naming the tensor,
/// expected vs found, and nothing is changed.
Status loadTrainingState(Function &trainStep, const std::string &dir);

} // namespace kiln

#endif
