/*===- kiln_rt.h - kiln's C runtime: the ABI of compiled functions -------===*
 *
 * JIT code and AOT artifacts link this runtime; it includes no LLVM or MLIR
 * header and needs only libc and libm. docs/abi.md describes the calling
 * convention that compiled functions follow.
 *
 *===----------------------------------------------------------------------===*/
#ifndef KILN_RT_H
#define KILN_RT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Every runtime symbol carries the runtime's version, kiln_rt1_<name>: the
 * names used below are macros for them, so code built against one version
 * of the runtime never binds to another's. (AOT artifacts also make the
 * runtime inside them local.) */
#define KILN_RT_VERSION 1
#define kiln_strerror kiln_rt1_strerror
#define kiln_dtype_size kiln_rt1_dtype_size
#define kiln_dtype_name kiln_rt1_dtype_name
#define kiln_context_init kiln_rt1_context_init
#define kiln_alloc kiln_rt1_alloc
#define kiln_free kiln_rt1_free
#define kiln_npy_read kiln_rt1_npy_read
#define kiln_npy_write kiln_rt1_npy_write
#define kiln_npy_free kiln_rt1_npy_free
#define kiln_init_normal kiln_rt1_init_normal
#define kiln_init_uniform kiln_rt1_init_uniform
#define kiln_init_fill kiln_rt1_init_fill
#define kiln_parallel_for kiln_rt1_parallel_for
#define kiln_parallel_begin kiln_rt1_parallel_begin
#define kiln_parallel_end kiln_rt1_parallel_end
#define kiln_num_threads kiln_rt1_num_threads
#define kiln_profile_now kiln_rt1_profile_now
#define kiln_check_probe kiln_rt1_check_probe
#define kiln_set_check_probe kiln_rt1_set_check_probe

/* Every buffer passed to a compiled function is aligned to this many bytes. */
#define KILN_ALIGNMENT 64

/* Element types. Booleans (i1) are stored one byte per element. */
typedef enum kiln_dtype {
  KILN_F32 = 0,
  KILN_F64 = 1,
  KILN_I32 = 2,
  KILN_I64 = 3,
  KILN_BOOL = 4,
} kiln_dtype;

/* Return codes of compiled functions and runtime calls. */
typedef enum kiln_status {
  KILN_OK = 0,
  KILN_ERR_NULL_BUFFER = 1,    /* a buffer pointer is NULL */
  KILN_ERR_MISALIGNED = 2,     /* a buffer is not KILN_ALIGNMENT-aligned */
  KILN_ERR_INDEX_RANGE = 3,    /* an index or label is out of range */
  KILN_ERR_OUT_OF_MEMORY = 4,  /* an allocation failed */
  KILN_ERR_IO = 5,             /* a file could not be opened, read or written */
  KILN_ERR_FORMAT = 6,         /* a file is not in the expected format */
  KILN_ERR_DTYPE = 7,          /* an unsupported or mismatched element type */
  KILN_ERR_SHAPE = 8,          /* a mismatched shape */
  KILN_ERR_INVALID_ARGUMENT = 9,
  KILN_ERR_VERSION = 10,       /* a file written for another format version */
  KILN_ERR_CHECKSUM = 11,      /* a file's contents do not match its checksum */
} kiln_status;

/* A short, static description of a status code. */
const char *kiln_strerror(int32_t status);

/* Size in bytes of one element of `dtype` (0 for an unknown dtype). */
size_t kiln_dtype_size(kiln_dtype dtype);
/* "f32", "f64", "i32", "i64", "bool". */
const char *kiln_dtype_name(kiln_dtype dtype);

/* The per-caller context of a compiled function. One context per calling
 * thread makes calls reentrant. `status` is where generated code records a
 * run-time error (first error wins); the entry function returns it. With
 * KILN_ERR_INDEX_RANGE, error_site says which of the model's checks failed
 * (NAME_error_site(error_site) names its op and source position) and
 * error_index the offending index, outside [0, error_bound). */
typedef struct kiln_context {
  int32_t status;
  int32_t num_threads; /* 0: the runtime's default */
  int32_t error_site;  /* 1-based; 0: none */
  int32_t reserved0;
  int64_t error_index;
  int64_t error_bound;
  void *reserved[3];   /* for later versions */
} kiln_context;

void kiln_context_init(kiln_context *ctx);

/* The entry point every compiled function exposes (docs/abi.md):
 * `buffers` holds one pointer per argument (inputs and parameters, in
 * argument order) followed by one per result; all caller-owned, row-major,
 * contiguous and KILN_ALIGNMENT-aligned. Returns KILN_OK or a kiln_status. */
typedef int32_t (*kiln_entry_fn)(void *const *buffers, kiln_context *ctx, void *workspace);

/* Aligned storage (KILN_ALIGNMENT). Free with kiln_free. */
void *kiln_alloc(size_t bytes);
void kiln_free(void *ptr);

/* ---- .npy files (format versions 1.0-3.0, C order, little-endian) ----- */

#define KILN_MAX_RANK 16

typedef struct kiln_npy {
  kiln_dtype dtype;
  int32_t rank;
  int64_t shape[KILN_MAX_RANK];
  void *data; /* KILN_ALIGNMENT-aligned; owned: release with kiln_npy_free */
} kiln_npy;

/* Reads `path` into `out`. On failure returns a kiln_status and writes a
 * one-line reason (naming the file) into `err` (at most `err_size` bytes). */
int32_t kiln_npy_read(const char *path, kiln_npy *out, char *err, size_t err_size);
/* Writes a C-order array; same error convention. */
int32_t kiln_npy_write(const char *path, kiln_dtype dtype, int32_t rank, const int64_t *shape,
                       const void *data, char *err, size_t err_size);
void kiln_npy_free(kiln_npy *npy);

/* ---- parameter initializers (deterministic for a seed, JIT and AOT alike) */

/* Fills `count` elements of `dtype` (f32 or f64) from N(mean, std^2). */
void kiln_init_normal(void *data, kiln_dtype dtype, int64_t count, double mean, double std,
                      uint64_t seed);
/* Fills from U[low, high). */
void kiln_init_uniform(void *data, kiln_dtype dtype, int64_t count, double low, double high,
                       uint64_t seed);
/* Fills with one value. */
void kiln_init_fill(void *data, kiln_dtype dtype, int64_t count, double value);

/* ---- parallel loops (parallel.c) -------------------------------------- */

/* The default thread count of compiled functions: KILN_NUM_THREADS if set
 * (a positive integer), else the CPUs this process may run on.
 * kiln_context.num_threads overrides it per call (0 keeps the default). */
int kiln_num_threads(void);

/* Called by generated code, not by users. A compiled function brackets
 * its body with begin/end; end returns KILN_OK or the first error of its
 * parallel loops (KILN_ERR_OUT_OF_MEMORY when scratch could not be had). */
typedef void (*kiln_loop_body)(int64_t begin, int64_t end, void *args, void *scratch);
void kiln_parallel_begin(const kiln_context *ctx);
int32_t kiln_parallel_end(void);
/* Runs body(begin, end, args, scratch) over [0, iterations) in contiguous
 * chunks, one per thread; each thread's scratch holds scratch_bytes
 * (KILN_ALIGNMENT-aligned) for the chunk's private buffers. */
void kiln_parallel_for(kiln_loop_body body, int64_t iterations, void *args, int64_t scratch_bytes);

/* ---- the per-kernel profile (profile.c) ------------------------------ */

/* Called by code compiled with --profile around each kernel: a monotonic
 * clock in nanoseconds. */
int64_t kiln_profile_now(void);

/* Called by code compiled for the numerics bisector (`kiln run --check`)
 * after each kernel, once per buffer it wrote: the kernel's and the probe's
 * place in the kernel table, the buffer's aligned address and its offset in
 * elements. Passes them to the receiver set below; none set, a no-op. */
void kiln_check_probe(int64_t kernel, int64_t slot, int64_t aligned, int64_t offset);
typedef void (*kiln_check_receiver)(void *user, int64_t kernel, int64_t slot, const void *aligned,
                                    int64_t offset);
/* The receiver of the probes (null: none). Process-wide: one checked call
 * at a time (kiln::Function::check holds a lock). */
void kiln_set_check_probe(kiln_check_receiver receiver, void *user);

#ifdef __cplusplus
}
#endif

#endif /* KILN_RT_H */
