//===- TestUtil.h - shared helpers of the numeric tests ---------*- C++ -*-===//
#ifndef KILN_TESTS_TESTUTIL_H
#define KILN_TESTS_TESTUTIL_H

#include "kiln/kiln.h"
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <string>

namespace kiln::test {

/// Uniform values in [lo, hi], never exactly zero (zeros hide bugs).
inline HostTensor randomTensor(DType dtype, const Shape &shape, double lo, double hi,
                               uint32_t seed) {
  HostTensor t(dtype, shape);
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> dist(lo, hi);
  for (int64_t i = 0; i < t.size(); ++i) {
    double v = dist(rng);
    while (v == 0.0)
      v = dist(rng);
    t.set(i, v);
  }
  return t;
}

/// Checks |got - want| <= atol + rtol * |want| elementwise (NaN matches NaN).
inline ::testing::AssertionResult allClose(const HostTensor &got, const HostTensor &want,
                                           double rtol, double atol) {
  if (got.shape() != want.shape())
    return ::testing::AssertionFailure() << "shape " << shapeString(got.shape()) << " vs "
                                         << shapeString(want.shape());
  double worst = 0;
  int64_t worstAt = -1, bad = 0;
  for (int64_t i = 0; i < got.size(); ++i) {
    double g = got.at(i), w = want.at(i);
    if (std::isnan(g) && std::isnan(w))
      continue;
    if (std::isinf(w) && g == w)
      continue;
    double err = std::fabs(g - w), allowed = atol + rtol * std::fabs(w);
    if (!(err <= allowed)) {
      ++bad;
      if (!(err / allowed <= worst)) {
        worst = err / allowed;
        worstAt = i;
      }
    }
  }
  if (!bad)
    return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << bad << " of " << got.size() << " elements differ; worst at " << worstAt << ": got "
         << got.at(worstAt) << ", want " << want.at(worstAt) << " (rtol " << rtol << ", atol "
         << atol << ")";
}

} // namespace kiln::test

#endif
