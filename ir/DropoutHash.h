//===- DropoutHash.h - nn.dropout's counter-based mask -----------*- C++ -*-===//
//
// One definition of the mask for the reference interpreter and the lowering
// (passes/lowering/NNToLinalg.cpp builds the same arithmetic as IR): element
// i is kept when the top 24 bits of SplitMix64's finalizer over
// seed * kSeedMul ^ step * kStepMul ^ i reach the threshold.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_IR_DROPOUTHASH_H
#define KILN_IR_DROPOUTHASH_H

#include <cstdint>

namespace kiln::nn::dropout {

constexpr uint64_t kSeedMul = 0x9E3779B97F4A7C15ull, kStepMul = 0xD1B54A32D192ED03ull;
constexpr uint64_t kMix1 = 0xBF58476D1CE4E5B9ull, kMix2 = 0x94D049BB133111EBull;
constexpr int kBits = 24;

/// Elements whose 24-bit draw is below this are dropped.
inline uint64_t threshold(double rate) { return uint64_t(rate * double(uint64_t(1) << kBits)); }

inline uint64_t draw(uint64_t seed, uint64_t step, uint64_t index) {
  uint64_t z = (seed * kSeedMul) ^ (step * kStepMul) ^ index;
  z = (z ^ (z >> 30)) * kMix1;
  z = (z ^ (z >> 27)) * kMix2;
  z ^= z >> 31;
  return z >> (64 - kBits);
}

} // namespace kiln::nn::dropout

#endif
