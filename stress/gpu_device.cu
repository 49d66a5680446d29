// See gpu_device.h.
#include <stdio.h>
#include <stdlib.h>

#include "gpu_device.h"
#include "kiln/gpu_access.h"

int kiln_cuda_fail(cudaError_t e, const char *what, char *why, size_t n) {
  snprintf(why, n, "%s: %s", what, cudaGetErrorString(e));
  return -1;
}

int kiln_cuda_usable(char *why, size_t n) {
  int count = 0;
  cudaError_t e = cudaGetDeviceCount(&count);
  if (e == cudaErrorInsufficientDriver) {
    // The parent checked this through NVML; say it again with CUDA's
    // own numbers in case NVML could not tell.
    int driver = 0;
    cudaDriverGetVersion(&driver);
    int min = kiln_cuda_min_driver(CUDART_VERSION);
    if (driver <= 0)
      snprintf(why, n,
               "CUDA finds no NVIDIA driver (libcuda.so.1 missing or the "
               "driver not loaded); this kiln's CUDA %d.%d runtime needs "
               "driver %d or newer",
               CUDART_VERSION / 1000, CUDART_VERSION % 1000 / 10, min);
    else
      snprintf(why, n,
               "CUDA driver too old: the driver supports CUDA %d.%d, this "
               "kiln was built with the CUDA %d.%d runtime, which needs "
               "driver %d or newer",
               driver / 1000, driver % 1000 / 10, CUDART_VERSION / 1000,
               CUDART_VERSION % 1000 / 10, min);
    return -1;
  }
  if (e == cudaErrorNoDevice || e == cudaErrorInitializationError ||
      (e == cudaSuccess && count == 0)) {
    // Only GPUs on the PCI bus get steps: CUDA not seeing one is an error.
    snprintf(why, n,
             "CUDA sees no usable GPU (%s) although one is on the PCI bus: "
             "driver not loaded, GPU not bound to it, or CUDA_VISIBLE_DEVICES "
             "hides it",
             e == cudaSuccess ? "no device" : cudaGetErrorString(e));
    return -1;
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

void *kiln_cuda_open_handle(const char *bus_id, size_t size, int *dev,
                            cudaDeviceProp *prop, char *name, size_t name_n,
                            char *why, size_t n) {
  if (kiln_cuda_open(bus_id, dev, prop, why, n))
    return NULL;
  snprintf(name, name_n, "%s", prop->name);
  void *h = calloc(1, size);
  if (!h)
    snprintf(why, n, "out of host memory");
  return h;
}
