/*===- parallel.c - the thread pool behind compiled parallel loops --------===*
 *
 * kiln-parallelize-loops turns each parallel tile loop into a call of
 * kiln_parallel_for with an outlined body. The iterations are split into one
 * contiguous chunk per thread; the calling thread runs the first chunk, the
 * pool's workers the others. Iterations never share a reduction, so every
 * thread count gives bit-identical results.
 *
 * The pool starts on first use with (threads - 1) workers; KILN_NUM_THREADS
 * sets the default thread count (else the CPUs this process may run on) and
 * kiln_context.num_threads overrides it per call. One parallel loop runs on
 * the pool at a time: a second caller (another thread calling a compiled
 * function meanwhile) runs its loop on its own thread, with the same result.
 *
 *===----------------------------------------------------------------------===*/
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "kiln_rt.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>

#define MAX_THREADS 256

typedef struct scratch {
  void *data;
  size_t size;
} scratch;

/* A scratch buffer of at least `bytes` (KILN_ALIGNMENT-aligned); grows
 * only, so steady-state calls allocate nothing. NULL when out of memory. */
static void *scratch_get(scratch *s, size_t bytes) {
  if (bytes == 0)
    return s->data;
  if (s->size >= bytes)
    return s->data;
  void *fresh = kiln_alloc(bytes);
  if (!fresh)
    return NULL;
  kiln_free(s->data);
  s->data = fresh;
  s->size = bytes;
  return fresh;
}

typedef struct job {
  kiln_loop_body body;
  int64_t iterations;
  void *args;
  size_t scratch_bytes;
  int threads;
} job;

static int64_t chunk_begin(const job *j, int t) { return j->iterations * t / j->threads; }

static struct {
  pthread_mutex_t busy; /* held by the one caller whose loop is on the pool */
  pthread_mutex_t lock; /* guards generation, pending, the condition variables */
  pthread_cond_t wake, done;
  job current;
  unsigned generation;
  atomic_uint generation_seen; /* generation, readable without the lock */
  atomic_int pending;          /* chunks handed to workers and not yet finished */
  atomic_char failed[MAX_THREADS]; /* chunks a worker could not run (no scratch) */
  int workers;
  unsigned started_at[MAX_THREADS]; /* the generation when each worker was made */
  pthread_t threads[MAX_THREADS];
  scratch scratches[MAX_THREADS];
} pool = {.busy = PTHREAD_MUTEX_INITIALIZER,
          .lock = PTHREAD_MUTEX_INITIALIZER,
          .wake = PTHREAD_COND_INITIALIZER,
          .done = PTHREAD_COND_INITIALIZER};

/* Per calling thread: its requested count, its error, its scratch, and
 * whether it is one of the pool's workers (a worker runs nested loops alone).
 * initial-exec: no __tls_get_addr, so AOT artifacts need only libc. */
#define THREAD_LOCAL _Thread_local __attribute__((tls_model("initial-exec")))
static THREAD_LOCAL int requested_threads;
static THREAD_LOCAL int32_t loop_status;
static THREAD_LOCAL scratch caller_scratch;
static THREAD_LOCAL int is_worker;

/* Frees a calling thread's scratch when the thread exits. */
static pthread_key_t scratch_key;
static pthread_once_t scratch_key_once = PTHREAD_ONCE_INIT;
static void free_scratch(void *s) {
  kiln_free(((scratch *)s)->data);
  ((scratch *)s)->data = NULL;
  ((scratch *)s)->size = 0;
}
static void make_scratch_key(void) { pthread_key_create(&scratch_key, free_scratch); }
static void *caller_scratch_get(size_t bytes) {
  if (caller_scratch.size < bytes) {
    pthread_once(&scratch_key_once, make_scratch_key);
    pthread_setspecific(scratch_key, &caller_scratch);
  }
  return scratch_get(&caller_scratch, bytes);
}

static int default_threads(void) {
  static int cached;
  if (cached)
    return cached;
  int n = 0;
  const char *env = getenv("KILN_NUM_THREADS");
  if (env && *env) {
    char *end;
    long v = strtol(env, &end, 10);
    if (*end == '\0' && v > 0)
      n = v > MAX_THREADS ? MAX_THREADS : (int)v;
  }
  if (n == 0) {
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0)
      n = CPU_COUNT(&set);
    if (n <= 0)
      n = (int)sysconf(_SC_NPROCESSORS_ONLN);
    if (n <= 0)
      n = 1;
    if (n > MAX_THREADS)
      n = MAX_THREADS;
  }
  cached = n;
  return n;
}

static void *worker_main(void *arg) {
  int index = (int)(intptr_t)arg; /* this worker runs chunk index + 1 */
  is_worker = 1;
  unsigned seen = 0;
  pthread_mutex_lock(&pool.lock);
  seen = pool.started_at[index]; /* not pool.generation: a loop may have begun */
  for (;;) {
    /* Loops of one model come in bursts: look for the next one for a
     * while (yielding the core to anyone who wants it) before sleeping. */
    pthread_mutex_unlock(&pool.lock);
    for (int spin = 0; spin < 2000 && atomic_load(&pool.generation_seen) == seen; ++spin)
      sched_yield();
    pthread_mutex_lock(&pool.lock);
    while (pool.generation == seen)
      pthread_cond_wait(&pool.wake, &pool.lock);
    seen = pool.generation;
    job j = pool.current;
    pthread_mutex_unlock(&pool.lock);
    int chunk = index + 1;
    if (chunk < j.threads) {
      void *s = scratch_get(&pool.scratches[index], j.scratch_bytes);
      if (s || j.scratch_bytes == 0)
        j.body(chunk_begin(&j, chunk), chunk_begin(&j, chunk + 1), j.args, s);
      else
        atomic_store(&pool.failed[chunk], 1); /* the caller runs it */
      if (atomic_fetch_sub(&pool.pending, 1) == 1) {
        pthread_mutex_lock(&pool.lock);
        pthread_cond_signal(&pool.done);
        pthread_mutex_unlock(&pool.lock);
      }
    }
    pthread_mutex_lock(&pool.lock);
  }
  return NULL;
}

/* A child of fork() has none of the parent's workers (only the forking
 * thread survives): it starts with an empty pool rather than wait forever
 * for threads that do not exist. The workers' scratch stays theirs to reuse. */
static void reset_after_fork(void) {
  pthread_mutex_init(&pool.busy, NULL);
  pthread_mutex_init(&pool.lock, NULL);
  pthread_cond_init(&pool.wake, NULL);
  pthread_cond_init(&pool.done, NULL);
  pool.workers = 0;
  atomic_store(&pool.pending, 0);
}
static pthread_once_t fork_handler_once = PTHREAD_ONCE_INIT;
static void install_fork_handler(void) { pthread_atfork(NULL, NULL, reset_after_fork); }

/* Starts workers until there are `wanted`; returns how many there are. */
static int grow_pool(int wanted) {
  pthread_once(&fork_handler_once, install_fork_handler);
  while (pool.workers < wanted) {
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_mutex_lock(&pool.lock);
    pool.started_at[pool.workers] = pool.generation;
    pthread_mutex_unlock(&pool.lock);
    int rc = pthread_create(&pool.threads[pool.workers], &attr, worker_main,
                            (void *)(intptr_t)pool.workers);
    pthread_attr_destroy(&attr);
    if (rc != 0)
      break; /* fewer threads, same results */
    ++pool.workers;
  }
  return pool.workers;
}

void kiln_parallel_begin(const kiln_context *ctx) {
  requested_threads = ctx ? ctx->num_threads : 0;
  loop_status = KILN_OK;
}

int32_t kiln_parallel_end(void) { return loop_status; }

int kiln_num_threads(void) { return default_threads(); }

static void run_alone(const job *j) {
  void *s = caller_scratch_get(j->scratch_bytes);
  if (!s && j->scratch_bytes != 0) {
    loop_status = KILN_ERR_OUT_OF_MEMORY;
    return;
  }
  j->body(0, j->iterations, j->args, s);
}

void kiln_parallel_for(kiln_loop_body body, int64_t iterations, void *args,
                       int64_t scratch_bytes) {
  if (iterations <= 0)
    return;
  job j = {body, iterations, args, (size_t)scratch_bytes, 1};
  int threads = requested_threads > 0 ? requested_threads : default_threads();
  if (threads > MAX_THREADS)
    threads = MAX_THREADS;
  if (threads > iterations)
    threads = (int)iterations;
  if (threads <= 1 || is_worker || pthread_mutex_trylock(&pool.busy) != 0) {
    run_alone(&j);
    return;
  }
  int workers = grow_pool(threads - 1);
  if (threads > workers + 1)
    threads = workers + 1;
  if (threads <= 1) {
    pthread_mutex_unlock(&pool.busy);
    run_alone(&j);
    return;
  }
  j.threads = threads;
  void *s = caller_scratch_get(j.scratch_bytes);
  if (!s && j.scratch_bytes != 0) {
    pthread_mutex_unlock(&pool.busy);
    loop_status = KILN_ERR_OUT_OF_MEMORY;
    return;
  }
  atomic_store(&pool.pending, threads - 1);
  for (int t = 1; t < threads; ++t)
    atomic_store(&pool.failed[t], 0);
  pthread_mutex_lock(&pool.lock);
  pool.current = j;
  ++pool.generation;
  atomic_store(&pool.generation_seen, pool.generation);
  pthread_cond_broadcast(&pool.wake);
  pthread_mutex_unlock(&pool.lock);

  j.body(chunk_begin(&j, 0), chunk_begin(&j, 1), j.args, s);

  /* Spin briefly (the chunks are equal), then sleep until the last worker. */
  for (int spin = 0; spin < 20000 && atomic_load(&pool.pending) > 0; ++spin)
    sched_yield();
  if (atomic_load(&pool.pending) > 0) {
    pthread_mutex_lock(&pool.lock);
    while (atomic_load(&pool.pending) > 0)
      pthread_cond_wait(&pool.done, &pool.lock);
    pthread_mutex_unlock(&pool.lock);
  }
  for (int t = 1; t < threads; ++t)
    if (atomic_load(&pool.failed[t]))
      j.body(chunk_begin(&j, t), chunk_begin(&j, t + 1), j.args, s);
  pthread_mutex_unlock(&pool.busy);
}
