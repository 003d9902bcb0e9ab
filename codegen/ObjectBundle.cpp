//===- ObjectBundle.cpp - several relocatable objects as one byte string -===//
#include "codegen/ObjectBundle.h"

#include "llvm/Support/Endian.h"

namespace kiln {

static constexpr llvm::StringLiteral kMagic = "KILNOBJ1";

std::string bundleObjects(const std::vector<std::string> &objects) {
  if (objects.size() == 1)
    return objects.front();
  std::string out(kMagic);
  char word[8];
  llvm::support::endian::write32le(word, uint32_t(objects.size()));
  out.append(word, 4);
  for (const std::string &o : objects) {
    llvm::support::endian::write64le(word, uint64_t(o.size()));
    out.append(word, 8);
    out += o;
  }
  return out;
}

llvm::Expected<std::vector<llvm::StringRef>> unbundleObjects(llvm::StringRef bytes) {
  if (!bytes.starts_with(kMagic))
    return std::vector<llvm::StringRef>{bytes};
  auto broken = [] {
    return llvm::createStringError(llvm::inconvertibleErrorCode(), "a truncated or inconsistent object bundle");
  };
  llvm::StringRef rest = bytes.drop_front(kMagic.size());
  if (rest.size() < 4)
    return broken();
  uint32_t count = llvm::support::endian::read32le(rest.data());
  rest = rest.drop_front(4);
  std::vector<llvm::StringRef> objects;
  for (uint32_t i = 0; i < count; ++i) {
    if (rest.size() < 8)
      return broken();
    uint64_t size = llvm::support::endian::read64le(rest.data());
    rest = rest.drop_front(8);
    if (size > rest.size())
      return broken();
    objects.push_back(rest.take_front(size));
    rest = rest.drop_front(size);
  }
  if (!rest.empty() || objects.empty())
    return broken();
  return objects;
}

} // namespace kiln
