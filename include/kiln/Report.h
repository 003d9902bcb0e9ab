//===- kiln/Report.h - one HTML page that shows what the compiler did -*- C++ -*-===//
//
// `kiln report` and its C++ form: compiles a model phase by phase and writes
// one self-contained HTML file (no network, everything inline) with the
// model's source, every phase's IR linked to the source lines each op came
// from, the passes and their times, the graph, every fusion and tiling
// decision, and, given inputs, the per-kernel profile and the attention
// maps. docs/report.md says what the page shows and how it is tested.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_REPORT_H
#define KILN_REPORT_H

#include "kiln/Function.h"
#include "kiln/Graph.h"
#include "kiln/HostTensor.h"
#include "kiln/Status.h"

#include <map>
#include <string>
#include <vector>

namespace kiln {

struct ReportOptions {
  /// What to compile: the entry, a gradient or training step, the target.
  /// The recorded compilation turns on explainFusion itself and never uses
  /// the object cache (the profiled run's compilation may).
  CompileOptions compile;
  /// Inputs by name (every input of the compiled function): with them the
  /// model is run, `profileRuns` times with the per-kernel profiler, and
  /// the attention maps are computed by the reference interpreter.
  std::map<std::string, HostTensor> inputs;
  /// Without inputs: run the model with made-up ones for the profile
  /// (floats uniform in [-1, 1), scalars 0.001 (a learning rate), integers
  /// and booleans 0), the page saying so.
  bool madeUpInputs = false;
  /// Parameter values by name (trained weights); the others keep their
  /// initializers.
  std::map<std::string, HostTensor> params;
  int profileRuns = 5;
  /// Labels of the attention maps' positions (e.g. the characters of the
  /// input text), one per position; empty: the positions' numbers.
  std::vector<std::string> positionLabels;
  /// Labels of the rows of a map made by a scan (one row per step: the
  /// characters a decoder wrote); empty: positionLabels.
  std::vector<std::string> stepLabels;
  /// The graph's layout: "auto" (Graphviz's dot when installed, else
  /// kiln's own layered layout), "dot" or "kiln".
  std::string graphLayout = "auto";
  /// Each phase's IR beyond this many bytes is cut, with a note.
  size_t irLimitBytes = size_t(2) << 20;
  /// Where to look for source files the locations name by relative paths
  /// (besides the current directory). A path that does not resolve as
  /// given is also tried without its leading "../" steps (a build
  /// directory's relative __FILE__, e.g. "../examples/x.h").
  std::vector<std::string> sourceDirs;
  /// Shown in the page's header: how the report was made.
  std::string commandLine;
};

/// The report of the kiln IR `mlirSource` (`sourceName` names it; the
/// text of every file the IR's locations name is read where it can be).
Result<std::string> reportHtml(const std::string &mlirSource, const std::string &sourceName,
                               const ReportOptions &options = {});
/// The report of a model built with the C++ API: its locations name the
/// user's C++ files, which the page shows.
Result<std::string> reportHtml(const Graph &graph, const ReportOptions &options = {});

/// reportHtml written to `path`.
Status writeReport(const Graph &graph, const std::string &path, const ReportOptions &options = {});

} // namespace kiln

#endif
