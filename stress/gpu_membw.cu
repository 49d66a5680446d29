// gpu.membw's device side: two buffers over most of free memory, a copy
// kernel with 16-byte loads and stores timed with CUDA events, and a check
// that the copies moved the data unchanged.
#include <cuda_runtime.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gpu_device.h"
#include "gpu_mem.h"
#include "gpu_patterns.h"

#define BW_ALIGN (2ULL << 20)

struct bw_check {
  unsigned long long count;
  struct gpat_error first;
  unsigned long long first_addr;
};

struct kiln_gpubw {
  ulonglong2 *buf[2];
  uint64_t pairs; // 16-byte elements per buffer
  uint64_t seed;
  int blocks, threads;
  int dir; // next copy: buf[dir] -> buf[!dir]
  cudaEvent_t t0, t1;
  bool events;
  struct bw_check *chk; // device
};

__global__ void bw_fill(ulonglong2 *p, uint64_t pairs, uint64_t seed) {
  uint64_t stride = (uint64_t)gridDim.x * blockDim.x;
  for (uint64_t i = (uint64_t)blockIdx.x * blockDim.x + threadIdx.x; i < pairs;
       i += stride) {
    ulonglong2 v;
    v.x = gpat_value(GPAT_RANDOM, 0, 2 * i, 0, seed);
    v.y = gpat_value(GPAT_RANDOM, 0, 2 * i + 1, 0, seed);
    p[i] = v;
  }
}

// Every load feeds a store to global memory, so nothing can be elided;
// __restrict__ and 16-byte types let the compiler issue LDG.128/STG.128.
__global__ void bw_copy(const ulonglong2 *__restrict__ in,
                        ulonglong2 *__restrict__ out, uint64_t pairs) {
  uint64_t stride = (uint64_t)gridDim.x * blockDim.x;
  for (uint64_t i = (uint64_t)blockIdx.x * blockDim.x + threadIdx.x; i < pairs;
       i += stride)
    out[i] = in[i];
}

__global__ void bw_verify(const ulonglong2 *p, uint64_t pairs, uint64_t seed,
                          struct bw_check *chk) {
  uint64_t stride = (uint64_t)gridDim.x * blockDim.x;
  for (uint64_t i = (uint64_t)blockIdx.x * blockDim.x + threadIdx.x; i < pairs;
       i += stride) {
    ulonglong2 v = p[i];
    for (int h = 0; h < 2; h++) {
      uint64_t got = h ? v.y : v.x, want;
      if (!gpat_check_word(GPAT_RANDOM, 0, 2 * i + h, 0, seed, got, &want))
        continue;
      if (atomicAdd(&chk->count, 1ULL) == 0) {
        chk->first.index = 2 * i + h;
        chk->first.expected = want;
        chk->first.actual = got;
        chk->first_addr = (unsigned long long)(uintptr_t)(p + i) + 8 * h;
      }
    }
  }
}

static void release(struct kiln_gpubw *h) {
  for (int i = 0; i < 2; i++)
    if (h->buf[i])
      cudaFree(h->buf[i]);
  if (h->chk)
    cudaFree(h->chk);
  if (h->events) {
    cudaEventDestroy(h->t0);
    cudaEventDestroy(h->t1);
  }
  free(h);
}

extern "C" int kiln_gpubw_open(const char *bus_id, double share, uint64_t seed,
                               struct kiln_gpubw **out,
                               struct kiln_gpu_mem_info *info, char *why,
                               size_t n) {
  *out = NULL;
  memset(info, 0, sizeof *info);
  int dev = 0;
  cudaDeviceProp p;
  struct kiln_gpubw *h = (struct kiln_gpubw *)kiln_cuda_open_handle(
      bus_id, sizeof *h, &dev, &p, info->name, sizeof info->name, why, n);
  if (!h)
    return -1;
  h->seed = seed;
  h->threads = 512;
  int per_sm = 0;
  cudaOccupancyMaxActiveBlocksPerMultiprocessor(&per_sm, bw_copy, h->threads,
                                                0);
  h->blocks = p.multiProcessorCount * (per_sm > 0 ? per_sm : 2);
  cudaError_t e;
  if ((e = cudaMalloc(&h->chk, sizeof *h->chk)) != cudaSuccess) {
    release(h);
    return kiln_cuda_fail(e, "cudaMalloc", why, n);
  }
  size_t free_b = 0, total_b = 0;
  if ((e = cudaMemGetInfo(&free_b, &total_b)) != cudaSuccess) {
    release(h);
    return kiln_cuda_fail(e, "cudaMemGetInfo", why, n);
  }
  info->free_bytes = free_b;
  info->total_bytes = total_b;
  uint64_t half = (uint64_t)((double)free_b * share / 2) / BW_ALIGN * BW_ALIGN;
  if (half == 0) {
    release(h);
    snprintf(why, n, "%.0f%% of %zu free bytes is too little", share * 100,
             free_b);
    return -1;
  }
  for (int i = 0; i < 2; i++)
    if ((e = cudaMalloc(&h->buf[i], half)) != cudaSuccess) {
      release(h);
      snprintf(why, n, "cannot allocate 2 x %llu MiB (%.0f%% of free): %s",
               (unsigned long long)(half >> 20), share * 100,
               cudaGetErrorString(e));
      return -1;
    }
  h->pairs = half / 16;
  info->bytes = 2 * half;
  info->chunks = 2;
  if ((e = cudaEventCreate(&h->t0)) != cudaSuccess ||
      (e = cudaEventCreate(&h->t1)) != cudaSuccess) {
    release(h);
    return kiln_cuda_fail(e, "cudaEventCreate", why, n);
  }
  h->events = true;
  bw_fill<<<h->blocks, h->threads>>>(h->buf[0], h->pairs, seed);
  if ((e = cudaGetLastError()) != cudaSuccess ||
      (e = cudaDeviceSynchronize()) != cudaSuccess) {
    release(h);
    return kiln_cuda_fail(e, "fill kernel", why, n);
  }
  *out = h;
  return 0;
}

extern "C" int kiln_gpubw_copy(struct kiln_gpubw *h, double *bytes, double *ms,
                               char *why, size_t n) {
  cudaEventRecord(h->t0);
  bw_copy<<<h->blocks, h->threads>>>(h->buf[h->dir], h->buf[!h->dir], h->pairs);
  cudaEventRecord(h->t1);
  cudaError_t e = cudaGetLastError();
  if (e == cudaSuccess)
    e = cudaEventSynchronize(h->t1);
  if (e != cudaSuccess)
    return kiln_cuda_fail(e, "copy kernel", why, n);
  float t = 0;
  if ((e = cudaEventElapsedTime(&t, h->t0, h->t1)) != cudaSuccess)
    return kiln_cuda_fail(e, "cudaEventElapsedTime", why, n);
  h->dir = !h->dir;
  *bytes = 2.0 * 16.0 * (double)h->pairs;
  *ms = t;
  return 0;
}

extern "C" int kiln_gpubw_verify(struct kiln_gpubw *h, uint64_t *errors,
                                 struct gpat_error *first, uint64_t *first_addr,
                                 char *why, size_t n) {
  struct bw_check c;
  memset(&c, 0, sizeof c);
  cudaError_t e = cudaMemset(h->chk, 0, sizeof *h->chk);
  // Before the first copy only buf[0] holds the pattern.
  for (int i = 0; i < 2 && e == cudaSuccess; i++) {
    bw_verify<<<h->blocks, h->threads>>>(h->buf[i], h->pairs, h->seed, h->chk);
    e = cudaGetLastError();
  }
  if (e == cudaSuccess)
    e = cudaMemcpy(&c, h->chk, sizeof c, cudaMemcpyDeviceToHost);
  if (e != cudaSuccess)
    return kiln_cuda_fail(e, "verify kernel", why, n);
  *errors = c.count;
  *first = c.first;
  *first_addr = c.first_addr;
  return 0;
}

extern "C" void kiln_gpubw_close(struct kiln_gpubw *h) {
  if (h)
    release(h);
}

extern "C" int kiln_gpubw_memcpy_ref(struct kiln_gpubw *h, double *bytes,
                                     double *ms, char *why, size_t n) {
  uint64_t size = 16 * h->pairs;
  cudaError_t e = cudaEventRecord(h->t0);
  if (e == cudaSuccess)
    e = cudaMemcpyAsync(h->buf[!h->dir], h->buf[h->dir], size,
                        cudaMemcpyDeviceToDevice, 0);
  if (e == cudaSuccess)
    e = cudaEventRecord(h->t1);
  if (e == cudaSuccess)
    e = cudaEventSynchronize(h->t1);
  if (e != cudaSuccess)
    return kiln_cuda_fail(e, "cudaMemcpyAsync device to device", why, n);
  float t = 0;
  if ((e = cudaEventElapsedTime(&t, h->t0, h->t1)) != cudaSuccess)
    return kiln_cuda_fail(e, "cudaEventElapsedTime", why, n);
  h->dir = !h->dir;
  *bytes = 2.0 * (double)size;
  *ms = t;
  return 0;
}

extern "C" int kiln_gpu_mem_clock(const char *bus_id, int *clock_khz,
                                  int *bus_bits, char *why, size_t n) {
  *clock_khz = *bus_bits = 0;
  int count = 0, dev = 0;
  cudaError_t e = cudaGetDeviceCount(&count);
  if (e != cudaSuccess || count == 0) {
    snprintf(why, n, "no usable CUDA device: %s",
             e == cudaSuccess ? "none found" : cudaGetErrorString(e));
    return 1;
  }
  if ((e = cudaDeviceGetByPCIBusId(&dev, bus_id)) != cudaSuccess)
    return kiln_cuda_fail(e, bus_id, why, n);
  // cudaDeviceProp's memoryClockRate is gone in CUDA 13; the attributes
  // remain, and a driver may answer 0 for them.
  e = cudaDeviceGetAttribute(clock_khz, cudaDevAttrMemoryClockRate, dev);
  if (e != cudaSuccess || *clock_khz <= 0) {
    snprintf(why, n, "the driver does not report the memory clock (%s)",
             e != cudaSuccess ? cudaGetErrorString(e) : "it reads 0");
    *clock_khz = 0;
    return 1;
  }
  e = cudaDeviceGetAttribute(bus_bits, cudaDevAttrGlobalMemoryBusWidth, dev);
  if (e != cudaSuccess || *bus_bits <= 0) {
    snprintf(why, n, "the driver does not report the memory bus width (%s)",
             e != cudaSuccess ? cudaGetErrorString(e) : "it reads 0");
    *bus_bits = 0;
    return 1;
  }
  return 0;
}
