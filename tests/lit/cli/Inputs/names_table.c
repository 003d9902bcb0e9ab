/* Prints the tensor table of the artifact `names` (aot-tensor-names.test). */
#include "names.h"
#include <stdio.h>
int main(void) {
  for (int i = 0; i < NAMES_NUM_TENSORS; ++i)
    printf("[%s]\n", names_tensors[i].name);
  return 0;
}
