/* Trains the neuron y = sigmoid(a x + b) on the L1 loss from plain C, with a
 * training step compiled ahead of time by
 *   kiln compile neuron_loss.mlir --train-step --optimizer sgd --emit=static-lib -o libneuron_step.a
 * No kiln, LLVM or MLIR at run time. Exits 0 when a, b reach 2, -1 (within 0.05). */
#define _POSIX_C_SOURCE 200112L /* posix_memalign */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "neuron_step.h"

static void *buffer(size_t bytes) {
  void *p = NULL;
  return posix_memalign(&p, NEURON_STEP_ALIGNMENT, bytes ? bytes : 64) == 0 ? p : NULL;
}

int main(void) {
  void *buffers[NEURON_STEP_NUM_TENSORS];
  for (int i = 0; i < NEURON_STEP_NUM_TENSORS; ++i)
    buffers[i] = buffer((size_t)neuron_step_tensors[i].bytes);
  float *x = buffers[NEURON_STEP_x], *label = buffers[NEURON_STEP_label];
  float *a = buffers[NEURON_STEP_a], *b = buffers[NEURON_STEP_b];
  float *lr = buffers[NEURON_STEP_lr], *loss = buffers[NEURON_STEP_loss];
  void *workspace = buffer((size_t)neuron_step_workspace_size());
  neuron_step_context ctx = {0};
  unsigned state = 3;
  for (int i = 0; i < NEURON_STEP_x_COUNT; ++i) {
    state = state * 1664525u + 1013904223u;
    x[i] = -4.0f + 8.0f * (float)(state >> 8) / 16777216.0f;
    label[i] = 1.0f / (1.0f + expf(-(2.0f * x[i] - 1.0f)));
  }
  if (neuron_step_init_params(buffers, 0) != 0)
    return 1;
  printf("start: a = %.4f, b = %.4f\n", a[0], b[0]);
  for (int step = 1; step <= 2000; ++step) {
    *lr = 4.0f * powf(0.998f, (float)step); /* the L1 gradient does not shrink: the step does */
    int status = neuron_step(buffers, &ctx, workspace);
    if (status != 0) {
      fprintf(stderr, "step %d: %s\n", step, neuron_step_strerror(status));
      return 1;
    }
    if (step % 500 == 0)
      printf("step %4d: a = %.4f, b = %.4f, loss = %.6f\n", step, a[0], b[0], *loss);
  }
  int ok = fabsf(a[0] - 2.0f) < 0.05f && fabsf(b[0] + 1.0f) < 0.05f;
  printf("%s\n", ok ? "converged to a = 2, b = -1" : "did NOT converge");
  return ok ? 0 : 1;
}
