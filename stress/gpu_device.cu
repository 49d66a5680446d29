// See gpu_device.h.
#include <stdio.h>

#include "gpu_device.h"

int kiln_cuda_fail(cudaError_t e, const char *what, char *why, size_t n) {
  snprintf(why, n, "%s: %s", what, cudaGetErrorString(e));
  return -1;
}

int kiln_cuda_usable(char *why, size_t n) {
  int count = 0;
  cudaError_t e = cudaGetDeviceCount(&count);
  if (e == cudaErrorNoDevice || e == cudaErrorInsufficientDriver ||
      e == cudaErrorInitializationError || (e == cudaSuccess && count == 0)) {
    snprintf(why, n, "no usable CUDA device: %s",
             e == cudaSuccess ? "none found" : cudaGetErrorString(e));
    return 1;
  }
  return e == cudaSuccess ? 0 : kiln_cuda_fail(e, "cudaGetDeviceCount", why, n);
}

int kiln_cuda_select(const char *bus_id, int *dev, cudaDeviceProp *prop,
                     char *why, size_t n) {
  *dev = 0;
  cudaError_t e;
  if (bus_id && (e = cudaDeviceGetByPCIBusId(dev, bus_id)) != cudaSuccess)
    return kiln_cuda_fail(e, bus_id, why, n);
  if ((e = cudaSetDevice(*dev)) != cudaSuccess)
    return kiln_cuda_fail(e, "cudaSetDevice", why, n);
  if (prop && (e = cudaGetDeviceProperties(prop, *dev)) != cudaSuccess)
    return kiln_cuda_fail(e, "cudaGetDeviceProperties", why, n);
  return 0;
}

int kiln_cuda_open(const char *bus_id, int *dev, cudaDeviceProp *prop,
                   char *why, size_t n) {
  int rc = kiln_cuda_usable(why, n);
  return rc ? rc : kiln_cuda_select(bus_id, dev, prop, why, n);
}
