/* What the examples' C host programs (seq2seq/answer.c, tang_gru/write.c)
 * share around the artifacts kiln compiles ahead of time: buffers with the
 * alignment the artifacts require, UTF-8 code points, and a vocabulary file
 * of one token per line. C99, header-only. */
#ifndef KILN_EXAMPLES_AOT_HOST_H
#define KILN_EXAMPLES_AOT_HOST_H

#define _POSIX_C_SOURCE 200112L /* posix_memalign */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { MAX_TOKEN_BYTES = 8 };

/* `bytes` (at least 64) aligned to 64, as the artifacts' buffers must be. */
static void *aligned_buffer(size_t bytes) {
  void *p = NULL;
  return posix_memalign(&p, 64, bytes ? bytes : 64) == 0 ? p : NULL;
}

/* The UTF-8 length of the code point starting at `s`, or 0 if malformed. */
static int utf8_length(const unsigned char *s) {
  int n = s[0] < 0x80 ? 1 : (s[0] >> 5) == 6 ? 2 : (s[0] >> 4) == 14 ? 3 : (s[0] >> 3) == 30 ? 4 : 0;
  for (int i = 1; i < n; ++i)
    if ((s[i] >> 6) != 2)
      return 0;
  return n;
}

/* Reads up to `capacity` tokens, one per line (after `skip_lines` header
 * lines, the first of them into `header` when not NULL), "\n" standing for
 * a newline. Returns the count, or -1 when the file cannot be read or a
 * line is too long or too many. */
static long read_tokens(const char *path, char (*tokens)[MAX_TOKEN_BYTES], long capacity, int skip_lines,
                        char *header, size_t header_size) {
  char line[64];
  FILE *f = fopen(path, "r");
  if (!f)
    return -1;
  for (int i = 0; i < skip_lines; ++i)
    if (!fgets(i == 0 && header ? header : line, i == 0 && header ? (int)header_size : (int)sizeof line, f)) {
      fclose(f);
      return -1;
    }
  long count = 0;
  while (fgets(line, sizeof line, f)) {
    line[strcspn(line, "\n")] = 0;
    if (count == capacity || strlen(line) >= MAX_TOKEN_BYTES) {
      fclose(f);
      return -1;
    }
    strcpy(tokens[count++], strcmp(line, "\\n") == 0 ? "\n" : line);
  }
  fclose(f);
  return count;
}

/* The id of the token `bytes` long at `character` among `tokens[first..]`, or -1. */
static long token_id(char (*tokens)[MAX_TOKEN_BYTES], long count, long first, const char *character, int bytes) {
  for (long id = first; id < count; ++id)
    if ((int)strlen(tokens[id]) == bytes && memcmp(tokens[id], character, (size_t)bytes) == 0)
      return id;
  return -1;
}

#endif
