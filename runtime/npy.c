/*===- npy.c - read and write NumPy .npy files ---------------------------===*
 *
 * Format (numpy.lib.format): the magic "\x93NUMPY", a major and a minor
 * version byte, a little-endian header length (uint16 for version 1.0,
 * uint32 for 2.0 and 3.0), an ASCII (3.0: UTF-8) Python dict literal
 *   {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }
 * padded with spaces and ended by '\n', then the raw array data.
 *
 * The reader faces files from anywhere (and a fuzzer), so it never trusts
 * a length from the file: it learns the file size first, bounds every
 * allocation by it, parses the header with an explicit end pointer (the
 * header may contain NUL bytes) and checks every integer for overflow.
 *
 *===----------------------------------------------------------------------===*/
/* fseeko/ftello are POSIX; they give 64-bit offsets where long is 32-bit. */
#define _POSIX_C_SOURCE 200809L

#include "kiln_rt.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

/* Array data is read and written as raw bytes: the host must be
 * little-endian, like every dtype kiln accepts. */
#if defined(__BYTE_ORDER__) && defined(__ORDER_LITTLE_ENDIAN__) &&                                 \
    __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "kiln's .npy support assumes a little-endian host"
#endif

static const unsigned char kMagic[6] = {0x93, 'N', 'U', 'M', 'P', 'Y'};

/* numpy itself refuses headers over 10000 bytes unless told otherwise; a
 * generous fixed cap keeps a hostile 4 GiB header length from allocating. */
#define NPY_MAX_HEADER (1u << 20)

#define SUPPORTED_DTYPES "kiln reads <f4, <f8, <i4, <i8, |b1"

/* Lets the compiler check every set_err format against its arguments. */
#if defined(__GNUC__)
#define KILN_PRINTF(fmt_index, first_arg) __attribute__((format(printf, fmt_index, first_arg)))
#else
#define KILN_PRINTF(fmt_index, first_arg)
#endif

/* Writes one line "<path>: <reason>" into err; always NUL-terminated. */
KILN_PRINTF(4, 5)
static void set_err(char *err, size_t err_size, const char *path, const char *fmt, ...) {
  if (!err || err_size == 0)
    return;
  int n = snprintf(err, err_size, "%s: ", path ? path : "(null)");
  if (n < 0) {
    err[0] = '\0';
    return;
  }
  if ((size_t)n >= err_size)
    return; /* the path alone filled the buffer; snprintf terminated it */
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err + n, err_size - (size_t)n, fmt, ap);
  va_end(ap);
  /* Keep it one line even if the path contains a newline. */
  for (char *c = err; *c; ++c)
    if (*c == '\n' || *c == '\r')
      *c = ' ';
}

/* Copies text from the file into buf for an error message: at most 32
 * characters, non-printable bytes as '?', so a hostile header can neither
 * break the one-line message nor flood it. */
static const char *quote_bytes(char *buf, size_t buf_size, const char *s, size_t len) {
  size_t max = buf_size - 4; /* room for "..." and NUL */
  size_t i = 0;
  for (; i < len && i < max && i < 32; ++i) {
    unsigned char c = (unsigned char)s[i];
    buf[i] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
  }
  buf[i] = '\0';
  if (i < len)
    memcpy(buf + i, "...", 4);
  return buf;
}

/* ---- header dict parser ----------------------------------------------- */

typedef struct cursor {
  const char *p;
  const char *end;
} cursor;

static void skip_ws(cursor *c) {
  while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r'))
    ++c->p;
}

/* Consumes `ch` after optional whitespace; 1 if it was there. */
static int accept_char(cursor *c, char ch) {
  skip_ws(c);
  if (c->p < c->end && *c->p == ch) {
    ++c->p;
    return 1;
  }
  return 0;
}

static int is_ident_char(char ch) {
  return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
         ch == '_';
}

/* Consumes the Python keyword `word` (True/False) as a whole token. */
static int accept_word(cursor *c, const char *word) {
  skip_ws(c);
  size_t n = strlen(word);
  if ((size_t)(c->end - c->p) < n || memcmp(c->p, word, n) != 0)
    return 0;
  if (c->p + n < c->end && is_ident_char(c->p[n]))
    return 0;
  c->p += n;
  return 1;
}

/* A '...' or "..." literal without escapes (numpy never writes any; a
 * backslash or a line break means the header is not one we understand). */
static int parse_string(cursor *c, const char **s, size_t *len) {
  skip_ws(c);
  if (c->p >= c->end || (*c->p != '\'' && *c->p != '"'))
    return 0;
  char q = *c->p;
  const char *start = c->p + 1;
  for (const char *e = start; e < c->end; ++e) {
    if (*e == '\\' || *e == '\n' || *e == '\r')
      return 0;
    if (*e == q) {
      *s = start;
      *len = (size_t)(e - start);
      c->p = e + 1;
      return 1;
    }
  }
  return 0;
}

/* A decimal integer with an optional sign and Python 2's 'L' suffix (old
 * numpy wrote "(3L, 4L)"). Returns 0 if there is no integer, -1 if it does
 * not fit in int64_t. */
static int parse_int(cursor *c, int64_t *value, int *negative) {
  skip_ws(c);
  *negative = 0;
  if (c->p < c->end && (*c->p == '-' || *c->p == '+')) {
    *negative = *c->p == '-';
    ++c->p;
  }
  if (c->p >= c->end || *c->p < '0' || *c->p > '9')
    return 0;
  uint64_t v = 0;
  int overflow = 0;
  while (c->p < c->end && *c->p >= '0' && *c->p <= '9') {
    unsigned d = (unsigned)(*c->p - '0');
    if (v > ((uint64_t)INT64_MAX - d) / 10)
      overflow = 1; /* keep consuming digits so the error is about size */
    else
      v = v * 10 + d;
    ++c->p;
  }
  if (c->p < c->end && (*c->p == 'L' || *c->p == 'l'))
    ++c->p;
  if (overflow)
    return -1;
  *value = (int64_t)v;
  return 1;
}

typedef struct header_info {
  const char *descr;
  size_t descr_len;
  int fortran_order;
  int32_t rank;
  int64_t shape[KILN_MAX_RANK];
  int have_descr, have_fortran, have_shape;
} header_info;

/* Parses "(d0, d1, ...)" (also "()", "(d0,)" and a trailing comma). */
static int32_t parse_shape(cursor *c, header_info *h, const char *path, char *err,
                           size_t err_size) {
  if (!accept_char(c, '(')) {
    set_err(err, err_size, path, "malformed header: 'shape' is not a tuple");
    return KILN_ERR_FORMAT;
  }
  int32_t rank = 0;
  if (accept_char(c, ')')) {
    h->rank = 0;
    return KILN_OK;
  }
  for (;;) {
    int64_t dim = 0;
    int negative = 0;
    int r = parse_int(c, &dim, &negative);
    if (r == 0) {
      set_err(err, err_size, path, "malformed header: 'shape' must be a tuple of integers");
      return KILN_ERR_FORMAT;
    }
    if (r < 0) {
      set_err(err, err_size, path, "malformed header: dimension %d of 'shape' is too large",
              (int)rank);
      return KILN_ERR_FORMAT;
    }
    if (negative && dim != 0) {
      set_err(err, err_size, path, "malformed header: negative dimension -%lld in 'shape'",
              (long long)dim);
      return KILN_ERR_FORMAT;
    }
    /* Count past the limit (without storing) so the message gives the rank. */
    if (rank < KILN_MAX_RANK)
      h->shape[rank] = dim;
    if (rank < INT32_MAX)
      ++rank;
    if (accept_char(c, ',')) {
      if (accept_char(c, ')'))
        break;
      continue;
    }
    if (accept_char(c, ')'))
      break;
    set_err(err, err_size, path, "malformed header: expected ',' or ')' in 'shape'");
    return KILN_ERR_FORMAT;
  }
  if (rank > KILN_MAX_RANK) {
    set_err(err, err_size, path, "shape has rank %d; kiln supports at most rank %d", (int)rank,
            KILN_MAX_RANK);
    return KILN_ERR_FORMAT;
  }
  h->rank = rank;
  return KILN_OK;
}

/* Parses the whole header dict: exactly the keys 'descr', 'fortran_order'
 * and 'shape' (as numpy requires), in any order, with free whitespace and
 * an optional trailing comma; only whitespace may follow the '}'. */
static int32_t parse_header(const char *text, size_t len, header_info *h, const char *path,
                            char *err, size_t err_size) {
  cursor c = {text, text + len};
  memset(h, 0, sizeof *h);
  if (!accept_char(&c, '{')) {
    set_err(err, err_size, path, "malformed header: expected a '{' dict");
    return KILN_ERR_FORMAT;
  }
  for (;;) {
    if (accept_char(&c, '}'))
      break;
    const char *key;
    size_t key_len;
    if (!parse_string(&c, &key, &key_len)) {
      set_err(err, err_size, path, "malformed header: expected a quoted key or '}'");
      return KILN_ERR_FORMAT;
    }
    if (!accept_char(&c, ':')) {
      set_err(err, err_size, path, "malformed header: expected ':' after a key");
      return KILN_ERR_FORMAT;
    }
    char quoted[40];
    if (key_len == 5 && memcmp(key, "descr", 5) == 0 && !h->have_descr) {
      if (!parse_string(&c, &h->descr, &h->descr_len)) {
        set_err(err, err_size, path,
                "unsupported dtype: 'descr' is not a simple type string (structured dtypes are "
                "not supported; " SUPPORTED_DTYPES ")");
        return KILN_ERR_DTYPE;
      }
      h->have_descr = 1;
    } else if (key_len == 13 && memcmp(key, "fortran_order", 13) == 0 && !h->have_fortran) {
      if (accept_word(&c, "True"))
        h->fortran_order = 1;
      else if (accept_word(&c, "False"))
        h->fortran_order = 0;
      else {
        set_err(err, err_size, path, "malformed header: 'fortran_order' is not True or False");
        return KILN_ERR_FORMAT;
      }
      h->have_fortran = 1;
    } else if (key_len == 5 && memcmp(key, "shape", 5) == 0 && !h->have_shape) {
      int32_t st = parse_shape(&c, h, path, err, err_size);
      if (st != KILN_OK)
        return st;
      h->have_shape = 1;
    } else {
      set_err(err, err_size, path, "malformed header: unexpected or repeated key '%s'",
              quote_bytes(quoted, sizeof quoted, key, key_len));
      return KILN_ERR_FORMAT;
    }
    if (accept_char(&c, ','))
      continue;
    if (accept_char(&c, '}'))
      break;
    set_err(err, err_size, path, "malformed header: expected ',' or '}' after a value");
    return KILN_ERR_FORMAT;
  }
  skip_ws(&c);
  if (c.p != c.end) {
    set_err(err, err_size, path, "malformed header: unexpected text after the dict");
    return KILN_ERR_FORMAT;
  }
  if (!h->have_descr || !h->have_fortran || !h->have_shape) {
    set_err(err, err_size, path, "malformed header: missing key '%s'",
            !h->have_descr ? "descr" : !h->have_fortran ? "fortran_order" : "shape");
    return KILN_ERR_FORMAT;
  }
  return KILN_OK;
}

/* Maps a descr to a kiln dtype. Multi-byte types must say '<': '=' and '|'
 * would mean "the writer's byte order", which the file does not record.
 * For one-byte booleans every byte-order character means the same thing. */
static int32_t descr_to_dtype(const char *d, size_t n, kiln_dtype *out, const char *path,
                              char *err, size_t err_size) {
  static const struct {
    const char *descr;
    kiln_dtype dtype;
  } table[] = {{"<f4", KILN_F32}, {"<f8", KILN_F64}, {"<i4", KILN_I32}, {"<i8", KILN_I64}};
  for (size_t i = 0; i < sizeof table / sizeof table[0]; ++i)
    if (n == 3 && memcmp(d, table[i].descr, 3) == 0) {
      *out = table[i].dtype;
      return KILN_OK;
    }
  if (n == 3 && (d[0] == '|' || d[0] == '<' || d[0] == '>' || d[0] == '=') && d[1] == 'b' &&
      d[2] == '1') {
    *out = KILN_BOOL;
    return KILN_OK;
  }
  char quoted[40];
  quote_bytes(quoted, sizeof quoted, d, n);
  if (n > 0 && (d[0] == '>' || d[0] == '!'))
    set_err(err, err_size, path, "big-endian dtype '%s' is not supported (" SUPPORTED_DTYPES ")",
            quoted);
  else
    set_err(err, err_size, path, "unsupported dtype '%s' (" SUPPORTED_DTYPES ")", quoted);
  return KILN_ERR_DTYPE;
}

/* product(shape) * itemsize, or -1 if it overflows int64_t or size_t. A
 * zero dimension makes the product 0 whatever the other dimensions are. */
static int64_t byte_count(int32_t rank, const int64_t *shape, size_t itemsize) {
  uint64_t total = 1;
  int overflow = 0;
  for (int32_t i = 0; i < rank; ++i) {
    uint64_t d = (uint64_t)shape[i];
    if (d == 0)
      return 0;
    if (total > (uint64_t)INT64_MAX / d)
      overflow = 1;
    else
      total *= d;
  }
  if (overflow || total > (uint64_t)INT64_MAX / itemsize)
    return -1;
  total *= itemsize;
  if (total > (uint64_t)SIZE_MAX)
    return -1;
  return (int64_t)total;
}

/* ---- reader --------------------------------------------------------------- */

/* Reads exactly n bytes or reports why not (I/O error vs. end of file). */
static int32_t read_exact(FILE *f, void *buf, size_t n, const char *what, const char *path,
                          char *err, size_t err_size) {
  if (n == 0 || fread(buf, 1, n, f) == n)
    return KILN_OK;
  if (ferror(f)) {
    set_err(err, err_size, path, "cannot read %s: %s", what, strerror(errno));
    return KILN_ERR_IO;
  }
  set_err(err, err_size, path, "file ends inside the %s", what);
  return KILN_ERR_FORMAT;
}

int32_t kiln_npy_read(const char *path, kiln_npy *out, char *err, size_t err_size) {
  if (err && err_size > 0)
    err[0] = '\0';
  if (!out || !path) {
    set_err(err, err_size, path, "kiln_npy_read: null %s", !path ? "path" : "output");
    return KILN_ERR_INVALID_ARGUMENT;
  }
  /* A failed read leaves `out` empty, so kiln_npy_free on it is harmless. */
  memset(out, 0, sizeof *out);

  errno = 0;
  FILE *f = fopen(path, "rb");
  if (!f) {
    set_err(err, err_size, path, "cannot open: %s", errno ? strerror(errno) : "unknown error");
    return KILN_ERR_IO;
  }

  int32_t st = KILN_OK;
  char *header = NULL;
  void *data = NULL;
  unsigned char prefix[12];

  /* Magic and version. */
  size_t got = fread(prefix, 1, 8, f);
  if (got < 8 && ferror(f)) {
    set_err(err, err_size, path, "cannot read: %s", strerror(errno));
    st = KILN_ERR_IO;
    goto done;
  }
  if (got == 0) {
    set_err(err, err_size, path, "not a .npy file (empty file)");
    st = KILN_ERR_FORMAT;
    goto done;
  }
  if (memcmp(prefix, kMagic, got < 6 ? got : 6) != 0) {
    set_err(err, err_size, path, "not a .npy file (bad magic)");
    st = KILN_ERR_FORMAT;
    goto done;
  }
  if (got < 8) {
    set_err(err, err_size, path, "not a .npy file (truncated before the version)");
    st = KILN_ERR_FORMAT;
    goto done;
  }
  unsigned major = prefix[6], minor = prefix[7];
  if (major < 1 || major > 3 || minor != 0) {
    set_err(err, err_size, path, "unsupported .npy format version %u.%u (kiln reads 1.0-3.0)",
            major, minor);
    st = KILN_ERR_FORMAT;
    goto done;
  }

  /* Header length: uint16 in 1.0, uint32 in 2.0 and 3.0, little-endian. */
  size_t len_bytes = major == 1 ? 2 : 4;
  st = read_exact(f, prefix + 8, len_bytes, "header length", path, err, err_size);
  if (st != KILN_OK)
    goto done;
  uint64_t header_len = (uint64_t)prefix[8] | (uint64_t)prefix[9] << 8;
  if (major > 1)
    header_len |= (uint64_t)prefix[10] << 16 | (uint64_t)prefix[11] << 24;
  uint64_t data_offset = 8 + len_bytes + header_len;

  /* The file size bounds everything the header may claim. */
  if (fseeko(f, 0, SEEK_END) != 0) {
    set_err(err, err_size, path, "cannot seek (not a regular file?): %s", strerror(errno));
    st = KILN_ERR_IO;
    goto done;
  }
  off_t end = ftello(f);
  if (end < 0 || fseeko(f, (off_t)(8 + len_bytes), SEEK_SET) != 0) {
    set_err(err, err_size, path, "cannot seek (not a regular file?): %s", strerror(errno));
    st = KILN_ERR_IO;
    goto done;
  }
  uint64_t file_size = (uint64_t)end;
  if (data_offset > file_size) {
    set_err(err, err_size, path,
            "truncated header (header length %llu, but the file has %llu bytes)",
            (unsigned long long)header_len, (unsigned long long)file_size);
    st = KILN_ERR_FORMAT;
    goto done;
  }
  if (header_len > NPY_MAX_HEADER) {
    set_err(err, err_size, path, "header length %llu exceeds kiln's limit of %u bytes",
            (unsigned long long)header_len, NPY_MAX_HEADER);
    st = KILN_ERR_FORMAT;
    goto done;
  }

  header = malloc((size_t)header_len + 1);
  if (!header) {
    set_err(err, err_size, path, "out of memory reading the header");
    st = KILN_ERR_OUT_OF_MEMORY;
    goto done;
  }
  st = read_exact(f, header, (size_t)header_len, "header", path, err, err_size);
  if (st != KILN_OK)
    goto done;

  header_info h;
  st = parse_header(header, (size_t)header_len, &h, path, err, err_size);
  if (st != KILN_OK)
    goto done;
  kiln_dtype dtype;
  st = descr_to_dtype(h.descr, h.descr_len, &dtype, path, err, err_size);
  if (st != KILN_OK)
    goto done;
  if (h.fortran_order) {
    set_err(err, err_size, path,
            "fortran_order True is not supported (kiln reads C-order arrays; save with "
            "np.ascontiguousarray)");
    st = KILN_ERR_FORMAT;
    goto done;
  }

  /* The data must be exactly product(shape) * itemsize bytes. */
  int64_t nbytes = byte_count(h.rank, h.shape, kiln_dtype_size(dtype));
  if (nbytes < 0) {
    set_err(err, err_size, path, "shape is too large (byte count overflows)");
    st = KILN_ERR_FORMAT;
    goto done;
  }
  uint64_t available = file_size - data_offset;
  if (available < (uint64_t)nbytes) {
    set_err(err, err_size, path, "truncated data (expected %lld bytes, the file has %llu)",
            (long long)nbytes, (unsigned long long)available);
    st = KILN_ERR_FORMAT;
    goto done;
  }
  if (available > (uint64_t)nbytes) {
    set_err(err, err_size, path, "%llu unexpected bytes after the array data (expected %lld)",
            (unsigned long long)(available - (uint64_t)nbytes), (long long)nbytes);
    st = KILN_ERR_FORMAT;
    goto done;
  }

  /* kiln_alloc gives at least one aligned block even for 0 elements. */
  data = kiln_alloc((size_t)nbytes);
  if (!data) {
    set_err(err, err_size, path, "out of memory (%lld bytes of data)", (long long)nbytes);
    st = KILN_ERR_OUT_OF_MEMORY;
    goto done;
  }
  st = read_exact(f, data, (size_t)nbytes, "array data", path, err, err_size);
  if (st != KILN_OK)
    goto done;
  if (dtype == KILN_BOOL) {
    /* Compiled code treats i1 bytes as exactly 0 or 1. */
    unsigned char *b = data;
    for (int64_t i = 0; i < nbytes; ++i)
      b[i] = b[i] != 0;
  }

  out->dtype = dtype;
  out->rank = h.rank;
  for (int32_t i = 0; i < h.rank; ++i)
    out->shape[i] = h.shape[i];
  out->data = data;
  data = NULL;

done:
  free(header);
  kiln_free(data);
  fclose(f);
  return st;
}

void kiln_npy_free(kiln_npy *npy) {
  if (!npy)
    return;
  kiln_free(npy->data);
  npy->data = NULL;
  npy->rank = 0;
}

/* ---- writer --------------------------------------------------------------- */

static const char *dtype_descr(kiln_dtype dtype) {
  switch (dtype) {
  case KILN_F32:
    return "<f4";
  case KILN_F64:
    return "<f8";
  case KILN_I32:
    return "<i4";
  case KILN_I64:
    return "<i8";
  case KILN_BOOL:
    return "|b1";
  }
  return NULL;
}

int32_t kiln_npy_write(const char *path, kiln_dtype dtype, int32_t rank, const int64_t *shape,
                       const void *data, char *err, size_t err_size) {
  if (err && err_size > 0)
    err[0] = '\0';
  if (!path) {
    set_err(err, err_size, path, "kiln_npy_write: null path");
    return KILN_ERR_INVALID_ARGUMENT;
  }
  const char *descr = dtype_descr(dtype);
  if (!descr) {
    set_err(err, err_size, path, "cannot write dtype %d (not a kiln dtype)", (int)dtype);
    return KILN_ERR_DTYPE;
  }
  if (rank < 0 || rank > KILN_MAX_RANK || (rank > 0 && !shape)) {
    set_err(err, err_size, path, "cannot write rank %d (kiln supports 0-%d)", (int)rank,
            KILN_MAX_RANK);
    return KILN_ERR_INVALID_ARGUMENT;
  }
  for (int32_t i = 0; i < rank; ++i)
    if (shape[i] < 0) {
      set_err(err, err_size, path, "cannot write negative dimension %lld",
              (long long)shape[i]);
      return KILN_ERR_SHAPE;
    }
  int64_t nbytes = byte_count(rank, shape, kiln_dtype_size(dtype));
  if (nbytes < 0) {
    set_err(err, err_size, path, "shape is too large (byte count overflows)");
    return KILN_ERR_SHAPE;
  }
  if (nbytes > 0 && !data) {
    set_err(err, err_size, path, "kiln_npy_write: null data");
    return KILN_ERR_NULL_BUFFER;
  }

  /* Version 1.0 header, in numpy's exact layout: the dict, spaces, '\n',
   * with the data starting at a multiple of 64 bytes (numpy's
   * ARRAY_ALIGN) so readers can map it aligned. 16 dimensions of at most
   * 19 digits keep the dict far below the 64 KiB a uint16 length allows. */
  char buf[1024];
  memcpy(buf, kMagic, 6);
  buf[6] = 1;
  buf[7] = 0;
  size_t pos = 10;
  pos += (size_t)snprintf(buf + pos, sizeof buf - pos,
                          "{'descr': '%s', 'fortran_order': False, 'shape': (", descr);
  for (int32_t i = 0; i < rank; ++i)
    pos += (size_t)snprintf(buf + pos, sizeof buf - pos, "%s%lld", i ? ", " : "",
                            (long long)shape[i]);
  pos += (size_t)snprintf(buf + pos, sizeof buf - pos, "%s), }", rank == 1 ? "," : "");
  size_t total = (pos + 1 + 63) / 64 * 64; /* +1 for the '\n' */
  memset(buf + pos, ' ', total - 1 - pos);
  buf[total - 1] = '\n';
  size_t header_len = total - 10;
  buf[8] = (char)(header_len & 0xff);
  buf[9] = (char)(header_len >> 8);

  errno = 0;
  FILE *f = fopen(path, "wb");
  if (!f) {
    set_err(err, err_size, path, "cannot open for writing: %s",
            errno ? strerror(errno) : "unknown error");
    return KILN_ERR_IO;
  }
  int ok = fwrite(buf, 1, total, f) == total;
  if (ok && nbytes > 0) {
    if (dtype == KILN_BOOL) {
      /* Write bools as 0/1 whatever nonzero byte the caller used. */
      const unsigned char *src = data;
      unsigned char chunk[4096];
      for (int64_t i = 0; ok && i < nbytes;) {
        size_t n = 0;
        for (; n < sizeof chunk && i < nbytes; ++n, ++i)
          chunk[n] = src[i] != 0;
        ok = fwrite(chunk, 1, n, f) == n;
      }
    } else {
      ok = fwrite(data, 1, (size_t)nbytes, f) == (size_t)nbytes;
    }
  }
  int saved_errno = errno;
  /* Buffered write errors (a full disk) may only show at fclose. */
  if (fclose(f) != 0 && ok) {
    ok = 0;
    saved_errno = errno;
  }
  if (!ok) {
    set_err(err, err_size, path, "write failed: %s",
            saved_errno ? strerror(saved_errno) : "unknown error");
    remove(path); /* do not leave a truncated file that looks valid */
    return KILN_ERR_IO;
  }
  return KILN_OK;
}
