//===- Train.cpp - a training loop with a progress line ------------------===//
#include "kiln/Train.h"

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
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

// ---- training state on disk ---------------------------------------------

namespace kiln {

namespace {
constexpr const char *kStateManifest = "kiln-state.txt";
constexpr const char *kStateMagic = "kiln-training-state 1";

/// A shape as one manifest field ("32x64", "scalar"): no spaces, unlike
/// shapeString's "[32, 64]".
std::string shapeText(const Shape &shape) {
  std::string s;
  for (size_t i = 0; i < shape.size(); ++i)
    s += (i ? "x" : "") + std::to_string(shape[i]);
  return s.empty() ? "scalar" : s;
}
} // namespace

Status saveTrainingState(const Function &trainStep, const std::string &dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec)
    return Error{"cannot create the training-state directory '" + dir + "': " + ec.message()};
  std::string manifest = std::string(kStateMagic) + "\n";
  for (const TensorInfo &p : trainStep.params()) {
    auto value = trainStep.param(p.name);
    if (!value)
      return Error{value.error()};
    if (Status s = value->saveNpy(dir + "/" + p.name + ".npy"); !s)
      return s;
    manifest += p.name + " " + dtypeName(p.dtype) + " " + shapeText(p.shape) + "\n";
  }
  // The manifest last, through a rename: a state without one (a save that
  // was interrupted) is refused on load.
  std::string temp = dir + "/" + kStateManifest + ".tmp";
  {
    std::ofstream out(temp);
    out << manifest;
    if (!out)
      return Error{"cannot write '" + temp + "'"};
  }
  std::filesystem::rename(temp, dir + "/" + kStateManifest, ec);
  if (ec)
    return Error{"cannot write '" + dir + "/" + kStateManifest + "': " + ec.message()};
  return {};
}

Status loadTrainingState(Function &trainStep, const std::string &dir) {
  std::string path = dir + "/" + kStateManifest;
  std::ifstream in(path);
  if (!in)
    return Error{"no training state in '" + dir + "' (" + kStateManifest + " is missing)"};
  std::string line;
  if (!std::getline(in, line) || line != kStateMagic)
    return Error{path + ": not a kiln training state of this version (first line '" + line + "', expected '" +
                 kStateMagic + "')"};
  std::map<std::string, std::pair<std::string, std::string>> saved; // name -> (dtype, shape)
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string name, dtype, shape;
    if (!(fields >> name >> dtype >> shape))
      return Error{path + ": malformed line '" + line + "'"};
    saved[name] = {dtype, shape};
  }
  std::vector<TensorInfo> params = trainStep.params();
  for (const TensorInfo &p : params) {
    auto it = saved.find(p.name);
    if (it == saved.end())
      return Error{path + ": the state has no \"" + p.name + "\" (" + dtypeName(p.dtype) + " " +
                   shapeText(p.shape) + "): it was saved from another model or optimizer"};
    if (it->second.first != dtypeName(p.dtype) || it->second.second != shapeText(p.shape))
      return Error{path + ": \"" + p.name + "\" is " + it->second.first + " " + it->second.second +
                   " in the state, the step expects " + dtypeName(p.dtype) + " " + shapeText(p.shape)};
    saved.erase(it);
  }
  if (!saved.empty())
    return Error{path + ": the state has \"" + saved.begin()->first +
                 "\", which this step does not: it was saved from another model or optimizer"};
  // Everything read and checked first, then set: a bad file changes nothing.
  std::vector<HostTensor> values;
  for (const TensorInfo &p : params) {
    auto value = HostTensor::loadNpy(dir + "/" + p.name + ".npy");
    if (!value)
      return Error{value.error()};
    if (value->dtype() != p.dtype || value->shape() != p.shape)
      return Error{dir + "/" + p.name + ".npy: " + value->typeString() + " does not match the manifest's " +
                   dtypeName(p.dtype) + " " + shapeText(p.shape)};
    values.push_back(std::move(*value));
  }
  for (size_t i = 0; i < params.size(); ++i)
    if (Status s = trainStep.setParam(params[i].name, values[i]); !s)
      return s;
  return {};
}

} // namespace kiln
