/*===- driver.c - a compiled model under ThreadSanitizer ------------------===*
 *
 * Built by test_tsan.sh with -DMODEL_HEADER="NAME.h" -DPREFIX=NAME against
 * an artifact from `kiln compile --sanitize=thread`, so the kernels, the
 * runtime's thread pool and this driver are all instrumented. It calls the
 * model with 1 to 4 threads (the results must be bit-identical: reductions
 * are never split), then from two threads at once, each with its own
 * buffers and workspace (one of them gets the pool, the other runs alone).
 * A data race anywhere makes ThreadSanitizer fail the run (exit 66); a
 * different result exits 1. With -DSHARE_WORKSPACE the two callers share
 * one workspace, a race ThreadSanitizer must report (the check that the
 * kernels really are instrumented).
 *
 *===----------------------------------------------------------------------===*/
#include MODEL_HEADER

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)
#define FN(suffix) CAT(PREFIX, suffix)
#define STR_(x) #x
#define STR(x) STR_(x)

enum { NUM = sizeof(FN(_tensors)) / sizeof(FN(_tensors)[0]) };

typedef struct run {
  void *buffers[NUM];
  void *workspace;
  int threads;
  int calls;
  int status;
} run;

static void *aligned(size_t bytes) {
  void *p = NULL;
  if (posix_memalign(&p, 64, bytes ? bytes : 64) != 0) {
    fprintf(stderr, "out of memory\n");
    exit(1);
  }
  memset(p, 0, bytes ? bytes : 64);
  return p;
}

/* Buffers with the model's initial parameters and deterministic inputs in
 * [-1, 1) (booleans 0/1, integers small and non-negative). */
static void prepare(run *r, int threads, int calls) {
  for (int i = 0; i < NUM; ++i) {
    const FN(_tensor) *t = &FN(_tensors)[i];
    r->buffers[i] = aligned((size_t)t->bytes);
    if (t->kind != 0) /* parameters: below; outputs: zeros */
      continue;
    if (strcmp(t->name, "lr") == 0) { /* a training step's learning rate */
      *(float *)r->buffers[i] = 0.01f;
      continue;
    }
    uint32_t s = 12345u + 977u * (uint32_t)i;
    for (int64_t k = 0; k < t->count; ++k) {
      s = s * 1664525u + 1013904223u;
      double u = (s >> 8) / 16777216.0;
      if (t->dtype == 0)
        ((float *)r->buffers[i])[k] = (float)(2 * u - 1);
      else if (t->dtype == 1)
        ((double *)r->buffers[i])[k] = 2 * u - 1;
      else if (t->dtype == 2)
        ((int32_t *)r->buffers[i])[k] = (int32_t)(u * 2);
      else if (t->dtype == 3)
        ((int64_t *)r->buffers[i])[k] = (int64_t)(u * 2);
      else
        ((uint8_t *)r->buffers[i])[k] = u < 0.5;
    }
  }
  if (FN(_init_params)(r->buffers, 0) != 0) {
    fprintf(stderr, "init_params failed\n");
    exit(1);
  }
  r->workspace = aligned((size_t)FN(_workspace_size)());
  r->threads = threads;
  r->calls = calls;
  r->status = 0;
}

static void *call(void *arg) {
  run *r = arg;
  for (int c = 0; c < r->calls && r->status == 0; ++c) {
    FN(_context) ctx;
    memset(&ctx, 0, sizeof ctx);
    ctx.num_threads = r->threads;
    r->status = PREFIX(r->buffers, &ctx, r->workspace);
  }
  return NULL;
}

/* Every output and (for training steps) every updated parameter. */
static int same(const run *a, const run *b) {
  for (int i = 0; i < NUM; ++i)
    if (FN(_tensors)[i].kind != 0 &&
        memcmp(a->buffers[i], b->buffers[i], (size_t)FN(_tensors)[i].bytes) != 0) {
      fprintf(stderr, "%s differs between %d and %d threads\n", FN(_tensors)[i].name, a->threads,
              b->threads);
      return 0;
    }
  return 1;
}

static void release(run *r) {
  for (int i = 0; i < NUM; ++i)
    free(r->buffers[i]);
  free(r->workspace);
}

int main(void) {
  enum { CALLS = 3 };
  run one;
  prepare(&one, 1, CALLS);
  call(&one);
  if (one.status != 0) {
    fprintf(stderr, "call failed: %s\n", FN(_strerror)(one.status));
    return 1;
  }
  int ok = 1;
  for (int threads = 2; threads <= 4; ++threads) {
    run many;
    prepare(&many, threads, CALLS);
    call(&many);
    ok &= many.status == 0 && same(&one, &many);
    release(&many);
  }
  /* Two callers at once. */
  run a, b;
  prepare(&a, 2, CALLS);
  prepare(&b, 3, CALLS);
#ifdef SHARE_WORKSPACE
  /* The planted bug the test must see reported: two calls at once on one
   * workspace (the ABI says one workspace serves one call at a time). */
  free(b.workspace);
  b.workspace = a.workspace;
#endif
  pthread_t ta, tb;
  pthread_create(&ta, NULL, call, &a);
  pthread_create(&tb, NULL, call, &b);
  pthread_join(ta, NULL);
  pthread_join(tb, NULL);
  ok &= a.status == 0 && b.status == 0 && same(&one, &a) && same(&one, &b);
  release(&a);
#ifdef SHARE_WORKSPACE
  b.workspace = NULL;
#endif
  release(&b);
  release(&one);
  printf("%s: %s\n", STR(PREFIX), ok ? "same bits on 1-4 threads and two concurrent callers"
                                              : "FAILED");
  return ok ? 0 : 1;
}
