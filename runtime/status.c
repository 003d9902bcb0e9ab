/*===- status.c - status strings, dtype helpers, context setup -----------===*
 *
 * Small lookups shared by generated code, the tools and the rest of the
 * runtime. Every string returned here is static, so callers never free it
 * and it stays valid after any error path.
 *
 *===----------------------------------------------------------------------===*/
#include "kiln_rt.h"

#include <string.h>

const char *kiln_strerror(int32_t status) {
  /* A switch rather than a table: status is an int32_t that may come from
   * generated code, so any value (negative, past the enum) must be safe. */
  switch (status) {
  case KILN_OK:
    return "ok";
  case KILN_ERR_NULL_BUFFER:
    return "null buffer";
  case KILN_ERR_MISALIGNED:
    return "misaligned buffer";
  case KILN_ERR_INDEX_RANGE:
    return "index out of range";
  case KILN_ERR_OUT_OF_MEMORY:
    return "out of memory";
  case KILN_ERR_IO:
    return "I/O error";
  case KILN_ERR_FORMAT:
    return "bad file format";
  case KILN_ERR_DTYPE:
    return "unsupported or mismatched dtype";
  case KILN_ERR_SHAPE:
    return "shape mismatch";
  case KILN_ERR_INVALID_ARGUMENT:
    return "invalid argument";
  case KILN_ERR_VERSION:
    return "file written for another format version (recompile the model with this kiln)";
  case KILN_ERR_CHECKSUM:
    return "file contents do not match their checksum (damaged or changed)";
  default:
    return "unknown error";
  }
}

size_t kiln_dtype_size(kiln_dtype dtype) {
  switch (dtype) {
  case KILN_F32:
  case KILN_I32:
    return 4;
  case KILN_F64:
  case KILN_I64:
    return 8;
  case KILN_BOOL:
    return 1; /* i1 is stored one byte per element (see kiln_rt.h) */
  }
  return 0; /* a value cast from an int that is not a kiln_dtype */
}

const char *kiln_dtype_name(kiln_dtype dtype) {
  switch (dtype) {
  case KILN_F32:
    return "f32";
  case KILN_F64:
    return "f64";
  case KILN_I32:
    return "i32";
  case KILN_I64:
    return "i64";
  case KILN_BOOL:
    return "bool";
  }
  return "unknown";
}

void kiln_context_init(kiln_context *ctx) {
  /* Zero means: status KILN_OK, default thread count, no pool yet. */
  if (ctx)
    memset(ctx, 0, sizeof *ctx);
}
