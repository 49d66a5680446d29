// Opening a GPU for the CUDA modules (stress/*.cu): one place decides what
// is "no usable CUDA" (a SKIP) and what is an error, so every module says
// it the same way. C++ (nvcc) only.
#ifndef KILN_GPU_DEVICE_H
#define KILN_GPU_DEVICE_H

#include <cuda_runtime.h>
#include <stddef.h>

// "what: CUDA's error text" into why; returns -1 (an ERROR).
int kiln_cuda_fail(cudaError_t e, const char *what, char *why, size_t n);

// 0 when CUDA has a device; 1 when there is no device or driver (why: "no
// usable CUDA device: ..."); -1 on another CUDA error (why says which).
int kiln_cuda_usable(char *why, size_t n);

// Makes the GPU at bus_id ("0000:1b:00.0"; NULL: device 0) the current
// device: its ordinal in *dev and, when prop is not NULL, its properties.
// 0, or -1 with "BUS: error", "cudaSetDevice: error" or
// "cudaGetDeviceProperties: error" in why.
int kiln_cuda_select(const char *bus_id, int *dev, cudaDeviceProp *prop,
                     char *why, size_t n);

// kiln_cuda_usable, then kiln_cuda_select: 0, 1 (SKIP) or -1 (ERROR).
int kiln_cuda_open(const char *bus_id, int *dev, cudaDeviceProp *prop,
                   char *why, size_t n);

#endif
