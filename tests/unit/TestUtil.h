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

/// "tensor<2x3xf32>": a type in the MLIR text a test writes.
inline std::string tensorTypeText(const Shape &shape, const char *element) {
  std::string text = "tensor<";
  for (int64_t d : shape)
    text += std::to_string(d) + "x";
  return text + element + ">";
}

/// Compiles the kiln IR `source` and runs it on `inputs`; expects each
/// result to match the reference interpreter's within `tol` (relative and
/// absolute). `what` names the results in failure messages.
inline void expectMatchesReference(const std::string &source, const std::string &name,
                                   const std::vector<HostTensor> &inputs, double tol,
                                   const std::vector<std::string> &what) {
  auto want = runReference(source, name, inputs);
  ASSERT_TRUE(want.ok()) << want.error() << "\n" << source;
  auto fn = Function::compileSource(source, name);
  ASSERT_TRUE(fn.ok()) << fn.error() << "\n" << source;
  auto got = fn->run(inputs);
  ASSERT_TRUE(got.ok()) << got.error();
  ASSERT_EQ(got->size(), what.size());
  for (size_t r = 0; r < what.size(); ++r)
    EXPECT_TRUE(allClose((*got)[r], (*want)[r], tol, tol)) << what[r] << " of " << name << "\n" << source;
}

} // namespace kiln::test

#endif
