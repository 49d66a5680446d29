/* `kiln version`: kiln's version, and the CUDA runtime built in with the
 * NVIDIA driver it needs and the cuBLAS libraries it loads at run time
 * (words after the command are ignored). */
#include <stdio.h>

#include "cli/cli.h"
#include "kiln/gpu_access.h"

/* The CUDA runtime built in says which drivers the GPU steps can use. */
int cmd_version(int argc, char **argv) {
  printf("kiln %s\n", KILN_VERSION);
  int cuda = kiln_cuda_built_version();
  if (cuda <= 0) {
    printf("built without CUDA: GPU steps are an ERROR where NVIDIA GPUs are "
           "on the bus\n");
    return 0;
  }
  char blas[64], lt[64];
  kiln_cuda_lib_soname("libcublas", blas, sizeof blas);
  kiln_cuda_lib_soname("libcublasLt", lt, sizeof lt);
  int driver = kiln_cuda_min_driver(cuda);
  printf("built with CUDA runtime %d.%d: ", cuda / 1000, cuda % 1000 / 10);
  if (driver > 0)
    printf("needs NVIDIA driver %d or newer", driver);
  else
    printf("needs the NVIDIA driver CUDA %d.%d needs (see its release notes)",
           cuda / 1000, cuda % 1000 / 10);
  printf("; loads %s and %s at run time\n", blas, lt);
  return 0;
}
