//===- SourceLimits.cpp - limits on model text checked before parsing -----===//
#include "ir/SourceLimits.h"

#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/Location.h"

namespace kiln::nn {

mlir::LogicalResult checkNesting(llvm::StringRef text, llvm::StringRef sourceName,
                                 mlir::MLIRContext *context) {
  int depth = 0;
  unsigned line = 1, column = 1;
  bool inString = false, inComment = false;
  for (size_t i = 0; i < text.size(); ++i, ++column) {
    char c = text[i];
    if (c == '\n') {
      ++line;
      column = 0;
      inComment = false;
      inString = false; // MLIR strings do not span lines
      continue;
    }
    if (inComment)
      continue;
    if (inString) {
      if (c == '\\')
        ++i, ++column; // the escaped character
      else if (c == '"')
        inString = false;
      continue;
    }
    if (c == '"') {
      inString = true;
    } else if (c == '/' && i + 1 < text.size() && text[i + 1] == '/') {
      inComment = true;
    } else if (c == '(' || c == '[' || c == '{' || c == '<') {
      if (++depth > kMaxNesting)
        return mlir::emitError(mlir::FileLineColLoc::get(context, sourceName, line, column))
               << "the text nests deeper than " << kMaxNesting
               << " brackets here (kiln's limit, docs/reliability.md)";
    } else if (c == '-' && i + 1 < text.size() && text[i + 1] == '>') {
      ++i, ++column; // an arrow, not a closing '>'
    } else if ((c == ')' || c == ']' || c == '}' || c == '>') && depth > 0) {
      --depth;
    }
  }
  return mlir::success();
}

} // namespace kiln::nn
