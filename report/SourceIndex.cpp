//===- SourceIndex.cpp - MLIR locations as lines of the model's sources ---===//
#include "report/SourceIndex.h"

#include "mlir/IR/BuiltinAttributes.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"

#include <algorithm>

using namespace mlir;

namespace kiln::report {

int SourceIndex::fileIndex(llvm::StringRef path) {
  auto [it, added] = index_.try_emplace(path, int(paths_.size()));
  if (added) {
    paths_.push_back(path.str());
    names_.emplace_back();
    lastLine_.push_back(0);
  }
  return it->second;
}

void SourceIndex::collect(Location loc, llvm::StringRef name, std::vector<SourceLine> &out) {
  if (auto file = dyn_cast<FileLineColLoc>(loc)) {
    if (file.getLine() == 0)
      return;
    SourceLine line{fileIndex(file.getFilename().getValue()), int(file.getLine())};
    if (!name.empty())
      names_[line.file].emplace(line.line, name.str());
    lastLine_[line.file] = std::max(lastLine_[line.file], line.line);
    out.push_back(line);
  } else if (auto named = dyn_cast<NameLoc>(loc)) {
    collect(named.getChildLoc(), named.getName().getValue(), out);
  } else if (auto fused = dyn_cast<FusedLoc>(loc)) {
    for (Location part : fused.getLocations())
      collect(part, name, out);
  } else if (auto call = dyn_cast<CallSiteLoc>(loc)) {
    collect(call.getCallee(), name, out);
    collect(call.getCaller(), "", out);
  } else if (auto opaque = dyn_cast<OpaqueLoc>(loc)) {
    collect(opaque.getFallbackLocation(), name, out);
  }
}

std::vector<SourceLine> SourceIndex::linesOf(Location loc) {
  std::vector<SourceLine> out;
  collect(loc, "", out);
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

std::vector<SourceLine> SourceIndex::linesNamedIn(llvm::StringRef text) const {
  std::vector<SourceLine> out;
  for (size_t f = 0; f < paths_.size(); ++f) {
    std::string prefix = paths_[f] + ":";
    for (size_t at = text.find(prefix); at != llvm::StringRef::npos; at = text.find(prefix, at + 1)) {
      llvm::StringRef rest = text.substr(at + prefix.size());
      unsigned line = 0;
      if (!rest.consumeInteger(10, line) && rest.starts_with(":") && line > 0)
        out.push_back({int(f), int(line)});
    }
  }
  return out;
}

/// Text a browser can show: no NUL bytes, valid enough UTF-8 (a binary file
/// such as an .onnx model is not).
static bool isText(llvm::StringRef s) {
  if (s.contains('\0'))
    return false;
  for (size_t i = 0; i < s.size();) {
    unsigned char c = s[i];
    int more = c < 0x80 ? 0 : (c >> 5) == 6 ? 1 : (c >> 4) == 14 ? 2 : (c >> 3) == 30 ? 3 : -1;
    if (more < 0 || i + more >= s.size())
      return false;
    for (int k = 1; k <= more; ++k)
      if ((static_cast<unsigned char>(s[i + k]) >> 6) != 2)
        return false;
    i += more + 1;
  }
  return true;
}

/// The file `path` names: as given, else under a search directory, each
/// also without leading "../" steps; "" when none is a regular file.
std::string SourceIndex::resolve(const std::string &path) const {
  llvm::StringRef stripped = path;
  while (stripped.consume_front("../"))
    ;
  std::vector<std::string> bases = {""};
  if (!llvm::sys::path::is_absolute(path))
    bases.insert(bases.end(), searchDirs_.begin(), searchDirs_.end());
  for (const std::string &base : bases)
    for (llvm::StringRef candidate : {llvm::StringRef(path), stripped}) {
      llvm::SmallString<256> full(base);
      llvm::sys::path::append(full, candidate);
      if (llvm::sys::fs::is_regular_file(full))
        return std::string(full);
    }
  return "";
}

std::vector<SourceFile> SourceIndex::files() const {
  constexpr uint64_t kMaxSourceBytes = 8 << 20;
  std::vector<SourceFile> out;
  for (size_t i = 0; i < paths_.size(); ++i) {
    SourceFile f{paths_[i], {}, false};
    std::string found = resolve(f.path);
    llvm::sys::fs::file_status status;
    bool readable = !found.empty() && !llvm::sys::fs::status(found, status) && llvm::sys::fs::is_regular_file(status) &&
                    status.getSize() <= kMaxSourceBytes;
    auto buffer = readable ? llvm::MemoryBuffer::getFile(found, /*IsText=*/true)
                           : llvm::ErrorOr<std::unique_ptr<llvm::MemoryBuffer>>(std::errc::not_supported);
    if (buffer && isText((*buffer)->getBuffer())) {
      llvm::SmallVector<llvm::StringRef> lines;
      (*buffer)->getBuffer().split(lines, '\n');
      for (llvm::StringRef l : lines)
        f.lines.push_back(l.rtrim('\r').str());
    } else {
      // No text to show: the lines the locations named, with their names.
      f.synthesized = true;
      f.lines.assign(lastLine_[i], "(no op of the IR names this line)");
      for (const auto &[line, name] : names_[i])
        f.lines[line - 1] = name;
    }
    out.push_back(std::move(f));
  }
  return out;
}

} // namespace kiln::report
