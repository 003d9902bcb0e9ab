//===- ObjectCache.cpp - compiled objects on disk, keyed by what made them -===//
#include "codegen/ObjectCache.h"
#include "passes/Passes.h"

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/OperationSupport.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Config/llvm-config.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/SHA256.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <dlfcn.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <vector>

namespace kiln {

namespace {

constexpr char kMagic[8] = {'K', 'I', 'L', 'N', 'O', 'B', 'J', '\0'};
constexpr uint32_t kFormatVersion = 1;
constexpr int64_t kDefaultMaxBytes = int64_t(512) << 20;
// Constants with more elements than this are weights: not put in the cache.
constexpr int64_t kLargeConstantElements = 1 << 16;

/// The fixed-size head of an entry; the object's bytes follow it.
struct Header {
  char magic[8];
  uint32_t version;
  uint32_t reserved;
  int64_t workspaceBytes;
  int64_t kernels;
  uint64_t objectBytes;
  uint8_t objectSha256[32];
};

std::array<uint8_t, 32> sha256(llvm::StringRef bytes) {
  llvm::SHA256 h;
  h.update(bytes);
  return h.final();
}

/// This build of kiln: the file its code was loaded from (libkiln.so, or
/// the executable), by size, modification time and inode, so that a
/// rebuilt kiln has another identity even at the same version.
std::string buildIdentity() {
  static const std::string identity = [] {
    std::string id = "kiln 0.1.0 built " __DATE__ " " __TIME__;
    Dl_info info;
    struct stat st;
    if (dladdr(reinterpret_cast<void *>(&buildIdentity), &info) && info.dli_fname &&
        stat(info.dli_fname, &st) == 0)
      id += " " + std::string(info.dli_fname) + " " + std::to_string(st.st_size) + " " +
            std::to_string(st.st_mtim.tv_sec) + "." + std::to_string(st.st_mtim.tv_nsec) + " " +
            std::to_string(st.st_ino);
    return id;
  }();
  return identity;
}

bool off(const char *value) {
  if (!value)
    return false;
  std::string v = llvm::StringRef(value).lower();
  return v == "off" || v == "0" || v == "no" || v == "false";
}

int64_t maxBytes() {
  if (const char *v = std::getenv("KILN_CACHE_MAX_BYTES")) {
    char *end = nullptr;
    long long n = std::strtoll(v, &end, 10);
    if (end && *end == '\0' && n >= 0)
      return n;
  }
  return kDefaultMaxBytes;
}

std::string entryPath(const std::string &dir, const std::string &key) {
  return dir + "/" + key + ".kobj";
}

/// Deletes the entries used longest ago until the folder is under 80% of
/// the limit (entries are touched when used).
void evict(const std::string &dir) {
  struct Entry {
    std::string path;
    uint64_t bytes;
    llvm::sys::TimePoint<> used;
  };
  std::vector<Entry> entries;
  uint64_t total = 0;
  std::error_code ec;
  for (llvm::sys::fs::directory_iterator it(dir, ec), end; it != end && !ec; it.increment(ec)) {
    if (llvm::sys::path::extension(it->path()) != ".kobj")
      continue;
    llvm::sys::fs::file_status st;
    if (llvm::sys::fs::status(it->path(), st))
      continue;
    entries.push_back({it->path(), st.getSize(), st.getLastModificationTime()});
    total += st.getSize();
  }
  uint64_t limit = uint64_t(maxBytes());
  if (total <= limit)
    return;
  std::sort(entries.begin(), entries.end(), [](const Entry &a, const Entry &b) { return a.used < b.used; });
  for (const Entry &e : entries) {
    if (total <= limit * 4 / 5)
      break;
    if (!llvm::sys::fs::remove(e.path))
      total -= e.bytes;
  }
}

} // namespace

std::string objectCacheDirectory(bool enabled) {
  if (!enabled || off(std::getenv("KILN_CACHE")))
    return "";
  if (const char *dir = std::getenv("KILN_CACHE_DIR"); dir && *dir)
    return dir;
  if (const char *xdg = std::getenv("XDG_CACHE_HOME"); xdg && *xdg)
    return std::string(xdg) + "/kiln";
  if (const char *home = std::getenv("HOME"); home && *home)
    return std::string(home) + "/.cache/kiln";
  return "";
}

bool holdsLargeConstants(mlir::ModuleOp module) {
  bool found = false;
  module.walk([&](mlir::Operation *op) {
    for (mlir::NamedAttribute attr : op->getAttrs())
      if (auto elements = llvm::dyn_cast<mlir::ElementsAttr>(attr.getValue()))
        if (elements.getNumElements() > kLargeConstantElements)
          found = true;
    return found ? mlir::WalkResult::interrupt() : mlir::WalkResult::advance();
  });
  return found;
}

std::string objectCacheKey(mlir::ModuleOp module, llvm::StringRef settings) {
  llvm::SHA256 h;
  auto field = [&](llvm::StringRef s) {
    h.update(std::to_string(s.size()));
    h.update(":");
    h.update(s);
  };
  field(buildIdentity());
  field(LLVM_VERSION_STRING);
  field(settings);
  std::string text;
  llvm::raw_string_ostream os(text);
  // Locations change no code; without them a comment or a moved line still
  // hits -- except where the object embeds them (run-time index checks'
  // messages name their op's source position). Elements beyond
  // kLargeConstantElements are elided: a module with such a constant is
  // never cached (holdsLargeConstants), and a parameter's initial values
  // (an imported model's weights, in the arguments' attributes) are no part
  // of the object -- printing them would cost gigabytes for a GPT-2.
  module.print(os, mlir::OpPrintingFlags().printGenericOpForm().elideLargeElementsAttrs(kLargeConstantElements));
  field(text);
  module.walk([&](mlir::Operation *op) {
    if (!kiln::hasRuntimeIndexCheck(op))
      return;
    std::string where;
    llvm::raw_string_ostream ws(where);
    op->getLoc().print(ws);
    field(where);
  });
  return llvm::toHex(h.final(), /*LowerCase=*/true);
}

std::optional<CachedObject> lookupObject(const std::string &dir, const std::string &key) {
  if (dir.empty())
    return std::nullopt;
  std::string path = entryPath(dir, key);
  auto buffer = llvm::MemoryBuffer::getFile(path, /*IsText=*/false, /*RequiresNullTerminator=*/false);
  if (!buffer)
    return std::nullopt;
  llvm::StringRef bytes = (*buffer)->getBuffer();
  Header header;
  if (bytes.size() < sizeof header)
    return std::nullopt;
  std::memcpy(&header, bytes.data(), sizeof header);
  llvm::StringRef object = bytes.drop_front(sizeof header);
  if (std::memcmp(header.magic, kMagic, sizeof kMagic) != 0 || header.version != kFormatVersion ||
      header.objectBytes != object.size() || header.workspaceBytes < 0 ||
      std::memcmp(sha256(object).data(), header.objectSha256, sizeof header.objectSha256) != 0)
    return std::nullopt; // damaged or of another format: compiled again and rewritten
  // Entries used recently are evicted last.
  utimensat(AT_FDCWD, path.c_str(), nullptr, 0); // now

  return CachedObject{object.str(), header.workspaceBytes, header.kernels};
}

void storeObject(const std::string &dir, const std::string &key, const CachedObject &entry) {
  if (dir.empty() || llvm::sys::fs::create_directories(dir))
    return;
  Header header{};
  std::memcpy(header.magic, kMagic, sizeof kMagic);
  header.version = kFormatVersion;
  header.workspaceBytes = entry.workspaceBytes;
  header.kernels = entry.kernels;
  header.objectBytes = entry.object.size();
  std::array<uint8_t, 32> digest = sha256(entry.object);
  std::memcpy(header.objectSha256, digest.data(), digest.size());
  int fd;
  llvm::SmallString<256> temp;
  if (llvm::sys::fs::createUniqueFile(dir + "/partial-%%%%%%%%.tmp", fd, temp))
    return;
  bool written;
  {
    llvm::raw_fd_ostream os(fd, /*shouldClose=*/true);
    os.write(reinterpret_cast<const char *>(&header), sizeof header);
    os << entry.object;
    os.close();
    written = !os.has_error();
    os.clear_error();
  }
  if (!written || llvm::sys::fs::rename(temp, entryPath(dir, key))) {
    llvm::sys::fs::remove(temp);
    return;
  }
  evict(dir);
}

} // namespace kiln
