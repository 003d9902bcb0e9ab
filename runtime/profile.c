/* The clock of the per-kernel profile (kiln-profile-kernels). */
#define _POSIX_C_SOURCE 199309L /* clock_gettime under -std=c99 */
#include "kiln_rt.h"

#include <time.h>

int64_t kiln_profile_now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}
