//===- Train.cpp - a training loop with a progress line ------------------===//
#include "kiln/Train.h"

#include <chrono>
#include <unistd.h>

namespace kiln {

static double now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

ProgressLine::ProgressLine(int64_t totalSteps, std::FILE *out, int64_t plainEvery)
    : total_(totalSteps), plainEvery_(plainEvery > 0 ? plainEvery : 100), start_(now()), out_(out),
      terminal_(isatty(fileno(out))) {}

void ProgressLine::update(int64_t step, double loss) {
  lastStep_ = step;
  lastLoss_ = loss;
  double rate = step / std::max(now() - start_, 1e-9);
  if (terminal_) {
    std::fprintf(out_, "\r  step %lld/%lld  loss %.6f  %.0f steps/s   ", (long long)step,
                 (long long)total_, loss, rate);
    std::fflush(out_);
  } else if (step % plainEvery_ == 0 || step == total_) {
    std::fprintf(out_, "  step %lld/%lld  loss %.6f  %.0f steps/s\n", (long long)step,
                 (long long)total_, loss, rate);
  }
}

void ProgressLine::finish() {
  double seconds = now() - start_;
  if (terminal_)
    std::fprintf(out_, "\n");
  std::fprintf(out_, "  %lld steps in %.2f s (%.0f steps/s), final loss %.6f\n",
               (long long)lastStep_, seconds, lastStep_ / std::max(seconds, 1e-9), lastLoss_);
  std::fflush(out_);
}

Result<std::vector<double>> trainLoop(Function &trainStep, int64_t steps,
                                      const std::function<std::vector<HostTensor>(int64_t)> &batch,
                                      const std::function<double(int64_t)> &lr,
                                      const TrainLoopOptions &options) {
  std::vector<TensorInfo> inputs = trainStep.inputs();
  if (inputs.empty() || inputs.back().shape.size() != 0)
    return Error{"trainLoop needs a compiled train_step (its last input is the learning rate)"};
  DType lrType = inputs.back().dtype;
  std::vector<double> losses;
  ProgressLine progress(steps, stdout, options.plainEvery);
  for (int64_t step = 1; step <= steps; ++step) {
    std::vector<HostTensor> args = batch(step);
    HostTensor rate(lrType, {});
    rate.set(0, lr(step));
    args.push_back(std::move(rate));
    auto out = trainStep.run(args);
    if (!out)
      return Error{"step " + std::to_string(step) + ": " + out.error()};
    losses.push_back((*out)[0].at(0));
    if (options.showProgress)
      progress.update(step, losses.back());
  }
  if (options.showProgress)
    progress.finish();
  return losses;
}

} // namespace kiln
