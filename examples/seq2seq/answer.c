/* The seq2seq model compiled ahead of time, answering greedily from C:
 *
 *   seq2seq_answer DIR SOURCE...
 *
 * DIR holds what kiln-seq2seq wrote: vocabulary.txt (a first line
 * "target_length N", then one token per line in id order: <pad>, <s>,
 * </s>, then one character per line) and the weights of the two artifacts
 * this program links: s2s_encode (source ids and mask -> encoder states,
 * attention keys, the decoder's initial state) and s2s_step (one decoder
 * step: previous token, state, encoder states -> logits, next state,
 * attention). The greedy loop lives here, as the issue allows: the
 * compiled step is called once per written character. Prints one answer
 * per SOURCE; exit status 1 with a message on any error (a character the
 * model has never seen, a source too long, unreadable weights). */
#include "../common/aot_host.h"

#include "s2s_encode.h"
#include "s2s_step.h"

enum { PAD = 0, START = 1, END = 2 };

static void fail(const char *what, const char *detail) {
  fprintf(stderr, "seq2seq_answer: %s%s\n", what, detail ? detail : "");
  exit(1);
}

static char (*tokens)[MAX_TOKEN_BYTES];
static long vocabSize, targetLength;

static void readVocabulary(const char *dir) {
  char path[4096], header[64];
  snprintf(path, sizeof path, "%s/vocabulary.txt", dir);
  tokens = calloc(S2S_STEP_logits_COUNT, sizeof *tokens);
  vocabSize = read_tokens(path, tokens, S2S_STEP_logits_COUNT, 1, header, sizeof header);
  if (vocabSize < 0)
    fail("cannot read the vocabulary (or a line too long, or more tokens than the model's logits) in ", path);
  if (sscanf(header, "target_length %ld", &targetLength) != 1 || targetLength < 1)
    fail("no 'target_length N' line at the top of ", path);
  if (vocabSize != S2S_STEP_logits_COUNT)
    fail("the vocabulary's size differs from the model's logits in ", path);
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: seq2seq_answer DIR SOURCE...\n");
    return 2;
  }
  const char *dir = argv[1];
  readVocabulary(dir);
  const long S = S2S_ENCODE_source_COUNT; /* the padded source length (batch 1) */

  /* The encoder's buffers, then the step's: the step reads the encoder's
   * states, keys and mask where the encoder left them. */
  void *enc[S2S_ENCODE_NUM_TENSORS], *step[S2S_STEP_NUM_TENSORS];
  for (int i = 0; i < S2S_ENCODE_NUM_TENSORS; ++i)
    enc[i] = aligned_buffer((size_t)s2s_encode_tensors[i].bytes);
  for (int i = 0; i < S2S_STEP_NUM_TENSORS; ++i)
    step[i] = aligned_buffer((size_t)s2s_step_tensors[i].bytes);
  step[S2S_STEP_states] = enc[S2S_ENCODE_states];
  step[S2S_STEP_keys] = enc[S2S_ENCODE_keys];
  step[S2S_STEP_source_mask] = enc[S2S_ENCODE_source_mask];
  char path[4096];
  int32_t status;
  snprintf(path, sizeof path, "%s/libs2s_encode.a.weights", dir);
  if ((status = s2s_encode_load_weights(enc, path)) != 0)
    fail(s2s_encode_strerror(status), path);
  snprintf(path, sizeof path, "%s/libs2s_step.a.weights", dir);
  if ((status = s2s_step_load_weights(step, path)) != 0)
    fail(s2s_step_strerror(status), path);
  void *encWorkspace = aligned_buffer((size_t)s2s_encode_workspace_size());
  void *stepWorkspace = aligned_buffer((size_t)s2s_step_workspace_size());

  for (int a = 2; a < argc; ++a) {
    int64_t *ids = enc[S2S_ENCODE_source];
    float *mask = enc[S2S_ENCODE_source_mask];
    memset(ids, 0, sizeof(int64_t) * (size_t)S);
    memset(mask, 0, sizeof(float) * (size_t)S);
    long length = 0;
    for (const char *c = argv[a]; *c;) {
      int bytes = utf8_length((const unsigned char *)c);
      if (bytes == 0)
        fail("not UTF-8: ", argv[a]);
      long id = token_id(tokens, vocabSize, END + 1, c, bytes);
      if (id < 0)
        fail("a character the model has never seen in ", argv[a]);
      if (length == S)
        fail("longer than the model's sources: ", argv[a]);
      ids[length] = id;
      mask[length++] = 1;
      c += bytes;
    }
    if (length == 0)
      fail("an empty source", NULL);
    if ((status = s2s_encode(enc, NULL, encWorkspace)) != 0)
      fail(s2s_encode_strerror(status), NULL);
    memcpy(step[S2S_STEP_h], enc[S2S_ENCODE_h], (size_t)S2S_STEP_h_BYTES);
    int64_t *previous = step[S2S_STEP_previous];
    *previous = START;
    for (long t = 0; t < targetLength; ++t) {
      if ((status = s2s_step(step, NULL, stepWorkspace)) != 0)
        fail(s2s_step_strerror(status), NULL);
      const float *logits = step[S2S_STEP_logits];
      long best = 0;
      for (long v = 1; v < vocabSize; ++v)
        if (logits[v] > logits[best])
          best = v;
      if (best <= END)
        break;
      fputs(tokens[best], stdout);
      *previous = best;
      memcpy(step[S2S_STEP_h], step[S2S_STEP_next_h], (size_t)S2S_STEP_h_BYTES);
    }
    putchar('\n');
  }
  return 0;
}
