//===- ProfileData.h - the profile's counters, read (internal) --*- C++ -*-===//
#ifndef KILN_API_PROFILEDATA_H
#define KILN_API_PROFILEDATA_H

#include "kiln/Profile.h"
#include "kiln/Status.h"

namespace kiln {

/// The rows of a profiled object: `counters` and `kernelsJson` are what its
/// `<symbol>_profile_counters()` and `<symbol>_profile_kernels()` return
/// (passes/profile/ProfileKernels.cpp); an error when either is null.
Result<Profile> readProfile(const int64_t *counters, const char *kernelsJson);
/// Zeroes the counters (a no-op for an unprofiled object).
void resetProfile(int64_t *counters, const char *kernelsJson);

} // namespace kiln

#endif
