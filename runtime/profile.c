/* The clock of the per-kernel profile and the numerics bisector's probes
 * (kiln-profile-kernels). */
#define _POSIX_C_SOURCE 199309L /* clock_gettime under -std=c99 */
#include "kiln_rt.h"

#include <time.h>

int64_t kiln_profile_now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

/* The numerics bisector's probes (kiln-profile-kernels with check). */
static kiln_check_receiver check_receiver;
static void *check_user;

void kiln_set_check_probe(kiln_check_receiver receiver, void *user) {
  check_receiver = receiver;
  check_user = user;
}

void kiln_check_probe(int64_t kernel, int64_t slot, int64_t aligned, int64_t offset) {
  if (check_receiver)
    check_receiver(check_user, kernel, slot, (const void *)(intptr_t)aligned, offset);
}
