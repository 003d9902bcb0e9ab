//===- SourceIndex.h - MLIR locations as lines of the model's sources -*- C++ -*-===//
#ifndef KILN_REPORT_SOURCEINDEX_H
#define KILN_REPORT_SOURCEINDEX_H

#include "report/ReportData.h"

#include "mlir/IR/Location.h"
#include "llvm/ADT/StringMap.h"

#include <map>

namespace kiln::report {

/// Turns locations into SourceLines, registering each file the first time
/// a location names it. Fused, named and call-site locations give every
/// file:line inside them (a fused kernel: all the lines it came from).
class SourceIndex {
public:
  /// `searchDirs`: where relative paths are looked for besides the current
  /// directory (see ReportOptions::sourceDirs).
  explicit SourceIndex(std::vector<std::string> searchDirs = {}) : searchDirs_(std::move(searchDirs)) {}

  std::vector<SourceLine> linesOf(mlir::Location loc);
  /// The lines of known files that `text` names as "path:line:col" (a
  /// remark naming the ops fused into a kernel).
  std::vector<SourceLine> linesNamedIn(llvm::StringRef text) const;
  /// The files, their text read (or made from the locations' names).
  std::vector<SourceFile> files() const;

private:
  void collect(mlir::Location loc, llvm::StringRef name, std::vector<SourceLine> &out);
  int fileIndex(llvm::StringRef path);

  std::string resolve(const std::string &path) const;

  std::vector<std::string> searchDirs_;
  llvm::StringMap<int> index_;
  std::vector<std::string> paths_;
  /// Per file and line, the name a location gave it (an ONNX node's).
  std::vector<std::map<int, std::string>> names_;
  std::vector<int> lastLine_; // per file, the last line a location named
};

} // namespace kiln::report

#endif
