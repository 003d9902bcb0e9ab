/* Two models, compiled ahead of time, linked into one program: the neuron
 * and the MLP classifier (its weights from an external file). */
#define _POSIX_C_SOURCE 200112L /* posix_memalign */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mlp.h"
#include "neuron.h"

static void *buffer(size_t bytes) {
  void *p = NULL;
  return posix_memalign(&p, 64, bytes ? bytes : 64) == 0 ? p : NULL;
}

int main(int argc, char **argv) {
  const char *weights = argc > 1 ? argv[1] : NULL;
  void *nb[NEURON_NUM_TENSORS], *mb[MLP_NUM_TENSORS];
  for (int i = 0; i < NEURON_NUM_TENSORS; ++i)
    nb[i] = buffer((size_t)neuron_tensors[i].bytes);
  for (int i = 0; i < MLP_NUM_TENSORS; ++i)
    mb[i] = buffer((size_t)mlp_tensors[i].bytes);
  float *x = nb[NEURON_x];
  for (int i = 0; i < NEURON_x_COUNT; ++i)
    x[i] = (float)i - 3.0f;
  if (neuron_init_params(nb, 0) != 0 || neuron(nb, NULL, buffer((size_t)neuron_workspace_size())) != 0)
    return 1;
  printf("neuron:");
  for (int i = 0; i < NEURON_y_COUNT; ++i)
    printf(" %.4f", ((float *)nb[NEURON_y])[i]);
  printf("\n");
  if (mlp_init_params(mb, 0) != 0)
    return 1;
  if (weights) {
    int32_t loaded = mlp_load_weights(mb, weights);
    if (loaded != 0) {
      fprintf(stderr, "mlp_load_weights(%s): %s\n", weights, mlp_strerror(loaded));
      return 1;
    }
  }
  float *img = mb[MLP_x];
  for (int i = 0; i < MLP_x_COUNT; ++i)
    img[i] = (float)((i * 37) % 255) / 255.0f;
  int status = mlp(mb, NULL, buffer((size_t)mlp_workspace_size()));
  if (status != 0) {
    fprintf(stderr, "mlp: %s\n", mlp_strerror(status));
    return 1;
  }
  const float *p = mb[MLP_probs];
  double sum = 0;
  for (int i = 0; i < 10; ++i)
    sum += p[i];
  printf("mlp: first row of probabilities sums to %.6f\n", sum);
  printf("errors: %s / %s\n", neuron_strerror(NEURON_ERR_INDEX_RANGE), mlp_strerror(MLP_ERR_MISALIGNED));
  return 0;
}
