//===- ReportData.h - what `kiln report` shows, as plain data ---*- C++ -*-===//
//
// Collected by CompileRecorder (phases, passes, decisions), GraphSvg (the
// picture), the profiler and AttentionMaps; written out by HtmlReport. The
// link between everything is SourceLine: a line of one of the sources.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_REPORT_REPORTDATA_H
#define KILN_REPORT_REPORTDATA_H

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace kiln::report {

/// A file the model's locations name. Where it is no readable text (an
/// ONNX model; a file that is gone), its lines are made from the names in
/// the locations (an ONNX node's name and op type on the node's line).
struct SourceFile {
  std::string path;
  std::vector<std::string> lines;
  bool synthesized = false;
};

/// A line of sources[file], 1-based.
struct SourceLine {
  int file = 0;
  int line = 0;
  bool operator<(const SourceLine &o) const { return file != o.file ? file < o.file : line < o.line; }
  bool operator==(const SourceLine &o) const { return file == o.file && line == o.line; }
};

struct PassRecord {
  std::string name;
  double seconds = 0;
};

/// The module after one phase.
struct PhaseRecord {
  std::string name, summary;
  double seconds = 0;
  std::vector<PassRecord> passes;
  std::string ir;          // printed without locations, large constants elided
  size_t fullBytes = 0;    // before a cut at irLimitBytes
  bool truncated = false;
  int64_t ops = 0;
  /// The IR lines (1-based) that begin an op, each with its source lines.
  std::vector<std::pair<int, std::vector<SourceLine>>> lineSources;
};

/// One fusion or tiling remark (`--explain-fusion`).
struct Decision {
  std::string phase;
  std::vector<SourceLine> sources;
  std::string message;
};

struct AttentionMap {
  std::string title;                // "nn.softmax at model.mlir:12:9, head 2"
  std::vector<SourceLine> sources;
  int64_t rows = 0, cols = 0;        // queries x keys
  std::vector<float> weights;        // rows x cols, each row summing to 1
  bool perStep = false;              // rows are a scan's steps
};

struct ReportData {
  std::string model, entry, version, targetCpu, hostCpu, options, commandLine, created;
  std::vector<SourceFile> sources;
  std::vector<PhaseRecord> phases;
  std::vector<Decision> decisions;
  std::string graphSvg, graphLayout; // inline <svg>; "dot" or "kiln"
  /// The picture's nodes (their SVG ids) and the source lines of each.
  std::vector<std::pair<std::string, std::vector<SourceLine>>> graphNodes;
  std::string profileJson;           // Profile::json, or empty
  std::vector<AttentionMap> attention;
  std::vector<std::string> positionLabels, stepLabels;
  std::vector<std::string> notes;    // what is missing and why
};

} // namespace kiln::report

#endif
