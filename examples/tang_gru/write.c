/* The Tang GRU's one-step model compiled ahead of time, writing from C:
 *
 *   tang_gru_write DIR PROMPT LENGTH [TEMPERATURE SEED]
 *
 * DIR holds what kiln-tang-gru wrote: vocabulary.txt (one character per
 * line in id order; "\n" is written as the two characters \n) and the
 * weights of the artifact this program links, tang_gru (one
 * character and the layers' hidden states -> the next character's logits
 * and the new states). The loop over characters lives here: the prompt is
 * read a character at a time, then LENGTH characters are written, each the
 * most likely one (no TEMPERATURE, or 0) or sampled at TEMPERATURE with a
 * generator seeded by SEED. Stops early at the poems' separator '%'.
 * Exit status 1 with a message on any error. */
#include "../common/aot_host.h"

#include <math.h>

#include "tang_gru.h"

static void fail(const char *what, const char *detail) {
  fprintf(stderr, "tang_gru_write: %s%s\n", what, detail ? detail : "");
  exit(1);
}

static char (*tokens)[MAX_TOKEN_BYTES];
static long vocabSize;

static void readVocabulary(const char *dir) {
  char path[4096];
  snprintf(path, sizeof path, "%s/vocabulary.txt", dir);
  tokens = calloc(TANG_GRU_logits_COUNT, sizeof *tokens);
  vocabSize = read_tokens(path, tokens, TANG_GRU_logits_COUNT, 0, NULL, 0);
  if (vocabSize < 0)
    fail("cannot read the vocabulary (or a line too long, or more characters than the model's logits) in ", path);
  if (vocabSize != TANG_GRU_logits_COUNT)
    fail("the vocabulary's size differs from the model's logits in ", path);
}

/* xorshift64*: a uniform number in [0, 1). */
static double uniform(unsigned long long *state) {
  *state ^= *state >> 12;
  *state ^= *state << 25;
  *state ^= *state >> 27;
  return (double)((*state * 2685821657736338717ULL) >> 11) / 9007199254740992.0;
}

int main(int argc, char **argv) {
  if (argc != 4 && argc != 6) {
    fprintf(stderr, "usage: tang_gru_write DIR PROMPT LENGTH [TEMPERATURE SEED]\n");
    return 2;
  }
  const char *dir = argv[1], *prompt = argv[2];
  long length = atol(argv[3]);
  double temperature = argc == 6 ? atof(argv[4]) : 0;
  unsigned long long rng = argc == 6 ? strtoull(argv[5], NULL, 10) * 2654435761ULL + 1 : 1;
  if (length < 1 || temperature < 0)
    fail("LENGTH must be positive and TEMPERATURE not negative", NULL);
  readVocabulary(dir);
  void *b[TANG_GRU_NUM_TENSORS];
  for (int i = 0; i < TANG_GRU_NUM_TENSORS; ++i)
    b[i] = aligned_buffer((size_t)tang_gru_tensors[i].bytes);
  char path[4096];
  snprintf(path, sizeof path, "%s/libtang_gru.a.weights", dir);
  int32_t status = tang_gru_load_weights(b, path);
  if (status != 0)
    fail(tang_gru_strerror(status), path);
  void *workspace = aligned_buffer((size_t)tang_gru_workspace_size());
  memset(b[TANG_GRU_h0], 0, (size_t)TANG_GRU_h0_BYTES);
  int64_t *id = b[TANG_GRU_id];
  /* A poem starts after the separator line, as in the training text. */
  char text[4096];
  snprintf(text, sizeof text, "%%\n%s", prompt);
  for (const char *c = text; *c;) {
    int bytes = utf8_length((const unsigned char *)c);
    if (bytes == 0 || (*id = token_id(tokens, vocabSize, 0, c, bytes)) < 0)
      fail("a character the model has never seen (or not UTF-8) in ", prompt);
    if ((status = tang_gru(b, NULL, workspace)) != 0)
      fail(tang_gru_strerror(status), NULL);
    memcpy(b[TANG_GRU_h0], b[TANG_GRU_h], (size_t)TANG_GRU_h0_BYTES);
    c += bytes;
  }
  fputs(prompt, stdout);
  double *p = malloc(sizeof(double) * (size_t)vocabSize);
  for (long i = 0; i < length; ++i) {
    const float *logits = b[TANG_GRU_logits];
    long next = 0;
    for (long v = 1; v < vocabSize; ++v)
      if (logits[v] > logits[next])
        next = v;
    if (temperature > 0) {
      double top = logits[next] / temperature, sum = 0;
      for (long v = 0; v < vocabSize; ++v)
        sum += p[v] = exp(logits[v] / temperature - top);
      double pick = uniform(&rng) * sum;
      for (next = 0; next + 1 < vocabSize && (pick -= p[next]) > 0; ++next)
        ;
    }
    if (strcmp(tokens[next], "%") == 0)
      break;
    fputs(tokens[next], stdout);
    *id = next;
    if ((status = tang_gru(b, NULL, workspace)) != 0)
      fail(tang_gru_strerror(status), NULL);
    memcpy(b[TANG_GRU_h0], b[TANG_GRU_h], (size_t)TANG_GRU_h0_BYTES);
  }
  putchar('\n');
  return 0;
}
