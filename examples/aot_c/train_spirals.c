/* Trains an MLP classifier on two spirals from plain C with a training step
 * (Adam) compiled ahead of time, then measures accuracy with the inference
 * artifact of the same model, sharing the parameter buffers:
 *   kiln compile spirals.mlir --train-step --optimizer adam --loss loss --emit=static-lib -o libspirals_step.a
 *   kiln compile spirals.mlir --emit=static-lib -o libspirals.a
 * Exits 0 when the training accuracy is at least 95%. */
#define _POSIX_C_SOURCE 200112L /* posix_memalign */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#define PI 3.14159265358979323846

#include "spirals.h"
#include "spirals_step.h"

static void *buffer(size_t bytes) {
  void *p = NULL;
  return posix_memalign(&p, 64, bytes ? bytes : 64) == 0 ? p : NULL;
}

int main(void) {
  void *step[SPIRALS_STEP_NUM_TENSORS], *infer[SPIRALS_NUM_TENSORS];
  for (int i = 0; i < SPIRALS_STEP_NUM_TENSORS; ++i)
    step[i] = buffer((size_t)spirals_step_tensors[i].bytes);
  /* The inference artifact reads the very buffers the step trains. */
  for (int i = 0; i < SPIRALS_NUM_TENSORS; ++i)
    infer[i] = i < SPIRALS_logits ? step[i] : buffer((size_t)spirals_tensors[i].bytes);
  float *x = step[SPIRALS_STEP_x];
  int32_t *y = step[SPIRALS_STEP_y];
  const int n = SPIRALS_STEP_y_COUNT, half = n / 2;
  for (int c = 0; c < 2; ++c)
    for (int i = 0; i < half; ++i) {
      double t = 0.25 + 3.5 * PI * i / half, r = t / (3.75 * PI);
      int k = c * half + i;
      x[2 * k] = (float)(r * cos(t + c * PI));
      x[2 * k + 1] = (float)(r * sin(t + c * PI));
      y[k] = c;
    }
  if (spirals_step_init_params(step, 0) != 0)
    return 1;
  void *stepWorkspace = buffer((size_t)spirals_step_workspace_size());
  void *inferWorkspace = buffer((size_t)spirals_workspace_size());
  spirals_step_context ctx = {0};
  float *lr = step[SPIRALS_STEP_lr], *loss = step[SPIRALS_STEP_loss];
  for (int s = 1; s <= 1500; ++s) {
    *lr = 0.01f;
    int status = spirals_step(step, &ctx, stepWorkspace);
    if (status != 0) {
      fprintf(stderr, "%s\n", spirals_step_strerror(status));
      return 1;
    }
    if (s % 300 == 0)
      printf("step %4d: loss %.5f\n", s, *loss);
  }
  spirals_context ictx = {0};
  if (spirals(infer, &ictx, inferWorkspace) != 0)
    return 1;
  const float *logits = infer[SPIRALS_logits];
  int correct = 0;
  for (int k = 0; k < n; ++k)
    correct += (logits[2 * k + 1] > logits[2 * k]) == (y[k] == 1);
  printf("training accuracy: %.1f%%\n", 100.0 * correct / n);
  return correct >= 0.95 * n ? 0 : 1;
}
