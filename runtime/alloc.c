/*===- alloc.c - KILN_ALIGNMENT-aligned storage --------------------------===*
 *
 * Compiled code may use aligned vector loads on every buffer, so all
 * runtime-owned storage comes from here.
 *
 *===----------------------------------------------------------------------===*/
/* posix_memalign is POSIX, not ISO C; -std=c11 hides it without this. */
#define _POSIX_C_SOURCE 200809L

#include "kiln_rt.h"

#include <stdint.h>
#include <stdlib.h>

void *kiln_alloc(size_t bytes) {
  /* Round up to a whole number of KILN_ALIGNMENT blocks: aligned_alloc
   * requires it, and kernels that process a full vector past the last
   * element then stay inside the allocation. A request for 0 bytes still
   * gets one block so the pointer is valid, unique and freeable. */
  if (bytes > SIZE_MAX - (KILN_ALIGNMENT - 1))
    return NULL;
  size_t rounded = (bytes + (KILN_ALIGNMENT - 1)) & ~(size_t)(KILN_ALIGNMENT - 1);
  if (rounded == 0)
    rounded = KILN_ALIGNMENT;
  void *p = NULL;
  if (posix_memalign(&p, KILN_ALIGNMENT, rounded) != 0)
    return NULL;
  return p;
}

void kiln_free(void *ptr) {
  /* posix_memalign memory is released with free(); NULL is a no-op. */
  free(ptr);
}
