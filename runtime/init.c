/*===- init.c - deterministic parameter initializers ---------------------===*
 *
 * A model initialised by the JIT and the same model built ahead of time
 * must start from identical parameters, so the generator is specified here
 * exactly and depends on nothing but `seed`:
 *
 *  1. Seeding (splitmix64). With x = seed, produce four 64-bit words
 *       x += 0x9E3779B97F4A7C15
 *       z  = x
 *       z  = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9
 *       z  = (z ^ (z >> 27)) * 0x94D049BB133111EB
 *       word = z ^ (z >> 31)
 *     and use them, in order, as the xoshiro256** state s[0..3]. (The
 *     state can never be all zero this way, so every seed, 0 included,
 *     is valid.)
 *  2. Generator (xoshiro256**, Blackman & Vigna):
 *       result = rotl(s[1] * 5, 7) * 9
 *       t = s[1] << 17
 *       s[2] ^= s[0];  s[3] ^= s[1];  s[1] ^= s[2];  s[0] ^= s[3]
 *       s[2] ^= t;     s[3] = rotl(s[3], 45)
 *     All arithmetic is modulo 2^64.
 *  3. Uniform double u in [0, 1): (result >> 11) * 2^-53.
 *  4. kiln_init_uniform: element i = low + (high - low) * u_i, computed in
 *     double, then converted (round to nearest) to the element type. If
 *     rounding lands on `high` the element becomes the largest value of
 *     that type below `high`, so results stay in [low, high).
 *  5. kiln_init_normal (Box-Muller, both outputs): for each pair of
 *     elements take u1 then u2 from the stream and
 *       r  = sqrt(-2 * log(1 - u1))        (1 - u1 is in (0, 1])
 *       z0 = r * cos(2*pi*u2),  z1 = r * sin(2*pi*u2)
 *     element 2k = mean + std * z0, element 2k+1 = mean + std * z1; for an
 *     odd count the last z1 is dropped. Computed in double, then converted.
 *
 * Steps 1-4 are exact integer/IEEE operations; step 5 uses libm's log,
 * sqrt, cos and sin, so values match bit for bit wherever the same runtime
 * (the same libm) runs, which is the JIT and AOT case kiln promises.
 *
 *===----------------------------------------------------------------------===*/
#include "kiln_rt.h"

#include <math.h>

/* A fused multiply-add would change the rounding of mean + std * z and so
 * the values. Clang honours this pragma; GCC ignores it but contracts only
 * in GNU modes (-std=gnu11) on FMA targets, so CMakeLists.txt also passes
 * -ffp-contract=off for this file. */
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#endif

typedef struct rng {
  uint64_t s[4];
} rng;

static uint64_t splitmix64(uint64_t *x) {
  uint64_t z = (*x += UINT64_C(0x9E3779B97F4A7C15));
  z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
  z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
  return z ^ (z >> 31);
}

static void rng_seed(rng *r, uint64_t seed) {
  uint64_t x = seed;
  for (int i = 0; i < 4; ++i)
    r->s[i] = splitmix64(&x);
}

static uint64_t rotl(uint64_t v, int k) { return (v << k) | (v >> (64 - k)); }

static uint64_t rng_next(rng *r) {
  uint64_t *s = r->s;
  uint64_t result = rotl(s[1] * 5, 7) * 9;
  uint64_t t = s[1] << 17;
  s[2] ^= s[0];
  s[3] ^= s[1];
  s[1] ^= s[2];
  s[0] ^= s[3];
  s[2] ^= t;
  s[3] = rotl(s[3], 45);
  return result;
}

/* The top 53 bits fill a double's mantissa exactly: uniform on a 2^-53
 * grid in [0, 1), never 1. */
static double rng_uniform(rng *r) { return (double)(rng_next(r) >> 11) * 0x1.0p-53; }

static void store(void *data, kiln_dtype dtype, int64_t i, double v) {
  if (dtype == KILN_F32)
    ((float *)data)[i] = (float)v;
  else
    ((double *)data)[i] = v;
}

static int is_float(kiln_dtype dtype) { return dtype == KILN_F32 || dtype == KILN_F64; }

void kiln_init_normal(void *data, kiln_dtype dtype, int64_t count, double mean, double std,
                      uint64_t seed) {
  if (!data || count <= 0 || !is_float(dtype))
    return;
  rng r;
  rng_seed(&r, seed);
  const double two_pi = 6.283185307179586476925286766559;
  for (int64_t i = 0; i < count; i += 2) {
    double u1 = rng_uniform(&r);
    double u2 = rng_uniform(&r);
    double radius = sqrt(-2.0 * log(1.0 - u1));
    double angle = two_pi * u2;
    double scaled0 = std * (radius * cos(angle));
    store(data, dtype, i, mean + scaled0);
    if (i + 1 < count) {
      double scaled1 = std * (radius * sin(angle));
      store(data, dtype, i + 1, mean + scaled1);
    }
  }
}

void kiln_init_uniform(void *data, kiln_dtype dtype, int64_t count, double low, double high,
                       uint64_t seed) {
  if (!data || count <= 0 || !is_float(dtype))
    return;
  rng r;
  rng_seed(&r, seed);
  const double width = high - low;
  for (int64_t i = 0; i < count; ++i) {
    double scaled = width * rng_uniform(&r);
    double v = low + scaled;
    if (dtype == KILN_F32) {
      float f = (float)v;
      float fh = (float)high;
      /* Rounding to float (or low + width*u in double) can reach high. */
      if (f >= fh && high > low)
        f = nextafterf(fh, -INFINITY);
      ((float *)data)[i] = f;
    } else {
      if (v >= high && high > low)
        v = nextafter(high, -INFINITY);
      ((double *)data)[i] = v;
    }
  }
}

void kiln_init_fill(void *data, kiln_dtype dtype, int64_t count, double value) {
  if (!data || count <= 0 || !is_float(dtype))
    return;
  for (int64_t i = 0; i < count; ++i)
    store(data, dtype, i, value);
}
