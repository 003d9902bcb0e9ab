//===- ObjectBundleTest.cpp - several objects carried as one string -------===//
#include "codegen/ObjectBundle.h"

#include <gtest/gtest.h>

using namespace kiln;

TEST(ObjectBundle, OneObjectIsItselfAndReadsBackAsOne) {
  std::string elf = std::string("\x7f" "ELF", 4) + std::string("\0rest", 5);
  EXPECT_EQ(bundleObjects({elf}), elf);
  auto parts = unbundleObjects(elf);
  ASSERT_TRUE(bool(parts)) << llvm::toString(parts.takeError());
  ASSERT_EQ(parts->size(), 1u);
  EXPECT_EQ((*parts)[0], elf);
}

TEST(ObjectBundle, SeveralObjectsRoundTripInOrder) {
  std::vector<std::string> objects{std::string("a\0b", 3), "", "third object"};
  std::string bundle = bundleObjects(objects);
  auto parts = unbundleObjects(bundle);
  ASSERT_TRUE(bool(parts)) << llvm::toString(parts.takeError());
  ASSERT_EQ(parts->size(), 3u);
  for (size_t i = 0; i < 3; ++i)
    EXPECT_EQ((*parts)[i].str(), objects[i]);
}

TEST(ObjectBundle, TruncatedOrPaddedBundleIsAnError) {
  std::string bundle = bundleObjects({"first", "second"});
  for (size_t cut : {size_t(9), size_t(12), size_t(20), bundle.size() - 1}) {
    auto parts = unbundleObjects(llvm::StringRef(bundle).take_front(cut));
    ASSERT_FALSE(bool(parts)) << "cut at " << cut;
    EXPECT_EQ(llvm::toString(parts.takeError()), "a truncated or inconsistent object bundle");
  }
  auto padded = unbundleObjects(bundle + "x");
  ASSERT_FALSE(bool(padded));
  llvm::consumeError(padded.takeError());
}
