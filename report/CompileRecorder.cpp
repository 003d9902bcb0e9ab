//===- CompileRecorder.cpp - a compilation watched phase by phase --------===//
//
// The compiler's own driver (lowerAndEmit) runs the phases; CompileReport's
// hooks give this file each phase's pass manager (a clock per pass is added)
// and the module after it (printed with an AsmState location map, which
// says on which printed line each op begins).
//
//===----------------------------------------------------------------------===//
#include "report/CompileRecorder.h"
#include "codegen/Compiler.h"
#include "ir/Signature.h"
#include "passes/Pipeline.h"

#include "mlir/IR/AsmState.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/Pass/Pass.h"
#include "mlir/Pass/PassInstrumentation.h"

#include <chrono>
#include <map>
#include <mutex>

using namespace mlir;

namespace kiln::report {

namespace {

/// Each pass's wall time, summed over the ops it ran on (a function pass
/// runs once per function), in the order the passes first ran.
class PassClock : public PassInstrumentation {
public:
  explicit PassClock(std::vector<PassRecord> &out) : out_(out) {}

  void runBeforePass(Pass *pass, Operation *op) override {
    if (pass->getArgument().empty()) // a pass manager's adaptor, not a pass
      return;
    std::lock_guard<std::mutex> lock(mutex_);
    started_[{pass, op}] = std::chrono::steady_clock::now();
  }
  void runAfterPass(Pass *pass, Operation *op) override { stop(pass, op); }
  void runAfterPassFailed(Pass *pass, Operation *op) override { stop(pass, op); }

private:
  void stop(Pass *pass, Operation *op) {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = started_.find({pass, op});
    if (it == started_.end())
      return;
    double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - it->second).count();
    started_.erase(it);
    std::string name = pass->getArgument().str();
    auto [slot, added] = index_.try_emplace(name, out_.size());
    if (added)
      out_.push_back({name, 0});
    out_[slot->second].seconds += seconds;
  }

  std::vector<PassRecord> &out_;
  std::mutex mutex_;
  std::map<std::pair<Pass *, Operation *>, std::chrono::steady_clock::time_point> started_;
  std::map<std::string, size_t> index_;
};

/// The module as text (constants over 16 elements elided, as in dumps),
/// each op's first line mapped to its source lines.
void printPhase(ModuleOp module, size_t limit, SourceIndex &sources, PhaseRecord &phase) {
  AsmState::LocationMap where;
  OpPrintingFlags flags;
  flags.elideLargeElementsAttrs(16).elideLargeResourceString(16);
  AsmState state(module, flags, &where);
  llvm::raw_string_ostream os(phase.ir);
  module->print(os, state);
  phase.fullBytes = phase.ir.size();
  int lastLine = 1 << 30;
  if (phase.ir.size() > limit) {
    size_t cut = phase.ir.rfind('\n', limit);
    phase.ir.resize(cut == std::string::npos ? limit : cut + 1);
    phase.truncated = true;
    lastLine = int(std::count(phase.ir.begin(), phase.ir.end(), '\n'));
  }
  std::map<int, std::vector<SourceLine>> byLine;
  module->walk([&](Operation *op) {
    ++phase.ops;
    auto it = where.find(op);
    if (it == where.end() || op == module.getOperation())
      return;
    int line = int(it->second.first); // 1-based, as the page numbers them
    if (line > lastLine)
      return;
    std::vector<SourceLine> lines = sources.linesOf(op->getLoc());
    if (lines.empty())
      return;
    auto &slot = byLine[line];
    slot.insert(slot.end(), lines.begin(), lines.end());
  });
  for (auto &[line, refs] : byLine) {
    std::sort(refs.begin(), refs.end());
    refs.erase(std::unique(refs.begin(), refs.end()), refs.end());
    phase.lineSources.emplace_back(line, std::move(refs));
  }
}

} // namespace

FailureOr<Recorded> recordCompilation(ModuleOp module, const CompileOptions &options,
                                      size_t irLimitBytes, SourceIndex &sources, ReportData &data) {
  CompileOptions watched = options;
  watched.explainFusion = true;
  watched.cache = false;
  watched.printIrAfterAll = false;
  watched.timing = false;

  Recorded recorded;
  CompileReport hooks;
  hooks.discardText = true;
  std::string current;
  hooks.beforePhase = [&](PassManager &pm, llvm::StringRef phase) {
    current = phase.str();
    PhaseRecord record;
    record.name = current;
    for (const Phase &p : phases())
      if (phase == p.name)
        record.summary = p.summary;
    data.phases.push_back(std::move(record));
    pm.addInstrumentation(std::make_unique<PassClock>(data.phases.back().passes));
  };
  hooks.afterPhase = [&](llvm::StringRef phase, ModuleOp m) {
    PhaseRecord &record = data.phases.back();
    printPhase(m, irLimitBytes, sources, record);
    if (phase == "nn")
      recorded.nnModule = m.clone();
  };
  hooks.explanation = [&](Diagnostic &d) {
    std::vector<SourceLine> lines = sources.linesOf(d.getLocation());
    std::vector<SourceLine> named = sources.linesNamedIn(d.str());
    lines.insert(lines.end(), named.begin(), named.end());
    std::sort(lines.begin(), lines.end());
    lines.erase(std::unique(lines.begin(), lines.end()), lines.end());
    data.decisions.push_back({current, std::move(lines), d.str()});
  };

  auto entry = nn::findEntry(module, options.entry);
  if (failed(entry))
    return failure();
  recorded.modelEntry = entry->getSymName().str();
  FailureOr<std::string> lowered =
      lowerAndEmit(module, phases().back().name, watched, &recorded.signature, &hooks);
  if (failed(lowered))
    return failure();
  // Phase times: CompileReport measures each phase as a whole.
  for (size_t i = 0; i < hooks.phaseSeconds.size() && i < data.phases.size(); ++i)
    data.phases[i].seconds = hooks.phaseSeconds[i].second;
  return recorded;
}

} // namespace kiln::report
