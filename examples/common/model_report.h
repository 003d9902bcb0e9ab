//===- model_report.h - an example's `--report FILE`: kiln report of its model ===//
//
// After training, an example writes the report of a model it built (the
// page shows the example's own C++ lines, every phase, the graph, the
// fusion and tiling decisions) with the trained weights, run on `inputs`
// (the profile; the attention maps labelled with `labels`).
//
//===----------------------------------------------------------------------===//
#pragma once

#include "kiln/Report.h"

#include <cstdio>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

/// Writes the report of `graph` (compiled as `compile` asks: a training
/// step, say) to `path`, its parameters set from `trained` (compiled with
/// the same parameters). `labels` name the attention maps' positions,
/// `stepLabels` the rows of a scan's maps.
inline bool writeModelReport(const std::string &path, const kiln::Graph &graph, const kiln::Function &trained,
                             std::map<std::string, kiln::HostTensor> inputs, std::vector<std::string> labels = {},
                             kiln::CompileOptions compile = {}, std::vector<std::string> stepLabels = {}) {
  kiln::ReportOptions options;
  options.compile = compile;
  options.inputs = std::move(inputs);
  options.positionLabels = std::move(labels);
  options.stepLabels = std::move(stepLabels);
  // The examples are compiled with paths relative to the build directory.
  options.sourceDirs = {KILN_EXAMPLES_DIR "/.."};
  for (const kiln::TensorInfo &p : trained.params())
    if (auto value = trained.param(p.name))
      options.params.emplace(p.name, std::move(*value));
  std::error_code ec;
  if (std::filesystem::path(path).has_parent_path())
    std::filesystem::create_directories(std::filesystem::path(path).parent_path(), ec);
  kiln::Status written = kiln::writeReport(graph, path, options);
  if (!written) {
    std::fprintf(stderr, "cannot write the report %s: %s\n", path.c_str(), written.error().c_str());
    return false;
  }
  std::printf("wrote the compiler's report to %s (open it in a browser)\n", path.c_str());
  return true;
}
