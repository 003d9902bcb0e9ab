//===- Report.cpp - kiln report: one page that shows what the compiler did ===//
//
// Read top to bottom, this is the report: the compilation recorded phase by
// phase (report/CompileRecorder), the graph drawn (report/GraphSvg), the
// model run with the profiler and its attention maps computed where inputs
// are given (report/AttentionMaps), and the page written
// (report/HtmlReport).
//
//===----------------------------------------------------------------------===//
#include "kiln/Report.h"
#include "codegen/Compiler.h"
#include "frontend/GraphModule.h"
#include "ir/Signature.h"
#include "ir/reference/Interpreter.h"
#include "report/AttentionMaps.h"
#include "report/CompileRecorder.h"
#include "report/GraphSvg.h"
#include "report/HtmlReport.h"
#include "kiln_rt.h" // kiln_num_threads

#include "llvm/TargetParser/Host.h"

#include <ctime>
#include <fstream>
#include <functional>

using namespace mlir;

namespace kiln {

namespace {

/// The compile options that shape the code, as a user would type them.
std::string describeOptions(const CompileOptions &o) {
  std::string s;
  auto add = [&](const std::string &part) { s += (s.empty() ? "" : " ") + part; };
  if (!o.entry.empty())
    add("--entry " + o.entry);
  if (o.gradientWrt) {
    std::string wrt;
    for (const std::string &w : *o.gradientWrt)
      wrt += (wrt.empty() ? "" : ",") + w;
    add("--wrt " + (wrt.empty() ? std::string("(every parameter)") : wrt));
  }
  if (o.trainStep)
    add("--train-step --optimizer " + o.trainStep->optimizer.kind);
  if (!o.targetCpu.empty())
    add("--target-cpu " + o.targetCpu);
  if (o.tileRows || o.tileColumns)
    add("--tile-sizes " + std::to_string(o.tileRows) + "," + std::to_string(o.tileColumns));
  return s;
}

std::string nowUtc() {
  std::time_t t = std::time(nullptr);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M UTC", std::gmtime(&t));
  return buf;
}

/// The model entry's arguments as the reference interpreter takes them:
/// inputs from `inputs`, parameters from the compiled function (before it
/// ran: a training step changes them).
Result<std::vector<nn::RefTensor>> interpreterArgs(func::FuncOp entry, const Function &fn,
                                                   const std::map<std::string, HostTensor> &inputs) {
  auto sig = nn::readSignature(entry);
  if (failed(sig))
    return Error{"the model's signature cannot be read"};
  // The interpreter holds every tensor in double precision and multiplies
  // naively: a model of GPT-2's size would take minutes and gigabytes.
  constexpr int64_t kMaxInterpretedElements = int64_t(32) << 20;
  int64_t elements = 0;
  for (const nn::ArgSpec &a : sig->args)
    elements += a.type.getNumElements();
  if (elements > kMaxInterpretedElements)
    return Error{"the model's arguments hold " + std::to_string(elements) +
                 " elements, more than the reference interpreter is given here (" +
                 std::to_string(kMaxInterpretedElements) + ")"};
  std::vector<nn::RefTensor> args;
  for (const nn::ArgSpec &a : sig->args) {
    Result<HostTensor> value = Error{""};
    if (a.isParam) {
      value = fn.param(a.name);
    } else if (auto it = inputs.find(a.name); it != inputs.end()) {
      value = it->second;
    } else {
      return Error{"the attention maps need the model's input \"" + a.name + "\""};
    }
    if (!value)
      return Error{value.error()};
    nn::RefTensor t{value->shape(), std::vector<double>(size_t(value->size()))};
    for (int64_t k = 0; k < value->size(); ++k)
      t.data[k] = value->at(k);
    args.push_back(std::move(t));
  }
  return args;
}

/// Inputs for a profile when none are given: floats uniform in [-1, 1)
/// (seeded), rank-0 floats 0.001 (a training step's learning rate),
/// integers and booleans 0 (a valid index and label).
std::map<std::string, HostTensor> madeUpInputs(const Function &fn) {
  std::map<std::string, HostTensor> out;
  uint64_t seed = 1;
  for (const TensorInfo &info : fn.inputs()) {
    HostTensor t(info.dtype, info.shape);
    if ((info.dtype == DType::f32 || info.dtype == DType::f64) && !info.shape.empty())
      kiln_init_uniform(t.data(), kiln_dtype(info.dtype), t.size(), -1, 1, seed++);
    else if (info.dtype == DType::f32 || info.dtype == DType::f64)
      t.set(0, 0.001);
    out.emplace(info.name, std::move(t));
  }
  return out;
}

using CompileFunction = std::function<Result<Function>(const CompileOptions &)>;

/// The report of `module` (lowered in place, and released once recorded: a
/// big model's LLVM-dialect IR is not kept while the profiled Function
/// compiles). `compile` makes the profiled Function of the same model;
/// `error` words a failure with the diagnostics collected so far.
Result<std::string> buildReport(OwningOpRef<ModuleOp> &module, const std::string &modelName,
                                const CompileFunction &compile, const ReportOptions &options,
                                const std::function<Error(const std::string &)> &error) {
  report::ReportData data;
  data.model = modelName;
  data.version = version();
  data.hostCpu = llvm::sys::getHostCPUName().str();
  data.targetCpu = options.compile.targetCpu.empty() ? data.hostCpu + " (the host)" : options.compile.targetCpu;
  data.options = describeOptions(options.compile);
  data.commandLine = options.commandLine;
  data.created = nowUtc();
  data.positionLabels = options.positionLabels;
  data.stepLabels = options.stepLabels.empty() ? options.positionLabels : options.stepLabels;
  report::SourceIndex sources(options.sourceDirs);

  // 1. Every phase, its passes and decisions.
  auto recorded = report::recordCompilation(*module, options.compile, options.irLimitBytes, sources, data);
  if (failed(recorded))
    return error("cannot compile " + modelName);
  module = nullptr;
  data.entry = recorded->modelEntry;
  func::FuncOp modelEntry =
      recorded->nnModule ? recorded->nnModule->lookupSymbol<func::FuncOp>(recorded->modelEntry) : nullptr;

  // 2. The graph, as the nn phase left it.
  if (modelEntry)
    report::drawGraph(modelEntry, options.graphLayout, sources, data);

  // 3. Given inputs: the profile and the attention maps.
  if (options.inputs.empty() && !options.madeUpInputs) {
    data.notes.push_back("no inputs given, so no profile and no attention maps (kiln report --input NAME=FILE.npy ...)");
  } else {
    CompileOptions profiled = options.compile;
    profiled.profile = true;
    auto fn = compile(profiled);
    if (!fn)
      return Error{fn.error()};
    for (const auto &[name, value] : options.params)
      if (Status s = fn->setParam(name, value); !s)
        return Error{s.error()};
    std::map<std::string, HostTensor> inputs = options.inputs;
    if (inputs.empty()) {
      inputs = madeUpInputs(*fn);
      data.notes.push_back("run on made-up inputs (floats uniform in [-1, 1), scalars 0.001, integers 0): "
                           "give --input NAME=FILE.npy for the model's own");
    }
    std::vector<nn::RefTensor> args;
    std::string why;
    if (modelEntry) {
      auto made = interpreterArgs(modelEntry, *fn, inputs);
      if (made)
        args = std::move(*made);
      else
        why = made.error();
    }
    for (int i = 0; i < std::max(1, options.profileRuns); ++i)
      if (auto ran = fn->run(inputs); !ran)
        return Error{ran.error()};
    auto profile = fn->profile();
    if (!profile)
      return Error{profile.error()};
    data.profileJson = profile->json(fn->numThreads() > 0 ? fn->numThreads() : kiln_num_threads());
    if (modelEntry && why.empty())
      report::computeAttentionMaps(modelEntry, args, sources, data, why);
    if (!why.empty())
      data.notes.push_back("no attention maps: " + why);
  }

  // 4. The page.
  data.sources = sources.files();
  return report::writeHtml(data);
}

} // namespace

Result<std::string> reportHtml(const std::string &mlirSource, const std::string &sourceName,
                               const ReportOptions &options) {
  ParsedSource parsed(mlirSource, sourceName);
  if (!parsed.module)
    return parsed.error("cannot parse " + sourceName);
  return buildReport(
      parsed.module, sourceName,
      [&](const CompileOptions &o) { return Function::compileSource(mlirSource, sourceName, o); }, options,
      [&](const std::string &fallback) { return parsed.error(fallback); });
}

Result<std::string> reportHtml(const Graph &graph, const ReportOptions &options) {
  if (Status s = graph.status(); !s)
    return Error{s.error()};
  OwningOpRef<ModuleOp> module = finishedModule(graph);
  prepareContext(*module->getContext());
  CollectedDiagnostics diagnostics(*module->getContext());
  return buildReport(
      module, graph.name(), [&](const CompileOptions &o) { return Function::compile(graph, o); }, options,
      [&](const std::string &fallback) { return diagnostics.error(fallback); });
}

Status writeReport(const Graph &graph, const std::string &path, const ReportOptions &options) {
  auto html = reportHtml(graph, options);
  if (!html)
    return Error{html.error()};
  std::ofstream out(path, std::ios::binary);
  out << *html;
  if (!out)
    return Error{"cannot write the report to '" + path + "'"};
  return Status{};
}

} // namespace kiln
