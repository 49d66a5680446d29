// Opening a GPU for the CUDA modules (stress/*.cu): one place says why
// CUDA cannot drive a GPU, so every module says it the same way. A GPU step
// exists only for a GPU on the PCI bus, so every such cause is an ERROR
// (the parent's check, gpu_access.h, catches most of them before the run).
// C++ (nvcc) only.
#ifndef KILN_GPU_DEVICE_H
#define KILN_GPU_DEVICE_H

#include <cuda_runtime.h>
#include <stddef.h>

// "what: CUDA's error text" into why; returns -1 (an ERROR).
int kiln_cuda_fail(cudaError_t e, const char *what, char *why, size_t n);

// 0 when CUDA has a device; -1 when it has none or cannot start (why: the
// driver too old for the runtime, with both versions and the driver
// needed; no device seen; or CUDA's error).
int kiln_cuda_usable(char *why, size_t n);

// Makes the GPU at bus_id ("0000:1b:00.0"; NULL: device 0) the current
// device: its ordinal in *dev and, when prop is not NULL, its properties.
// 0, or -1 with "BUS: error", "cudaSetDevice: error" or
// "cudaGetDeviceProperties: error" in why.
int kiln_cuda_select(const char *bus_id, int *dev, cudaDeviceProp *prop,
                     char *why, size_t n);

// kiln_cuda_usable, then kiln_cuda_select: 0, or -1 (an ERROR).
int kiln_cuda_open(const char *bus_id, int *dev, cudaDeviceProp *prop,
                   char *why, size_t n);

// kiln_cuda_open, the device's name into name[name_n], then a zeroed
// handle of `size` bytes from calloc (the caller frees it): the opening of
// every module's handle. NULL, with why ("out of host memory", or
// kiln_cuda_open's: an ERROR), when any of it fails.
void *kiln_cuda_open_handle(const char *bus_id, size_t size, int *dev,
                            cudaDeviceProp *prop, char *name, size_t name_n,
                            char *why, size_t n);

#endif
