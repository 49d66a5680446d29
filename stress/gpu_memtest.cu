// gpu.memtest's device side: allocate most of free memory, write and check
// the patterns of gpu_patterns.h with grid-stride kernels and 16-byte
// vector accesses, record the first wrong words.
#include <cuda_runtime.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gpu_device.h"
#include "gpu_mem.h"
#include "gpu_patterns.h"

#define MT_MAX_CHUNKS 4096
#define MT_CHUNK_FALLBACK (256ULL << 20) // when one allocation fails
#define MT_ALIGN (2ULL << 20)
#define MT_MAX_RECORD 64

struct mt_record {
  unsigned long long count;
  struct gpat_error errs[MT_MAX_RECORD];
};

struct mt_chunk {
  ulonglong2 *p;
  uint64_t words; // 8-byte words, even
  uint64_t first; // index of its first word in the tested range
};

struct kiln_gpumt {
  int dev;
  int blocks, threads;
  struct mt_chunk chunk[MT_MAX_CHUNKS];
  int nchunks;
  uint64_t words;
  struct mt_record *rec; // device
};

__global__ void mt_write(ulonglong2 *p, uint64_t pairs, uint64_t first,
                         int kind, uint64_t pass, uint64_t seed) {
  uint64_t stride = (uint64_t)gridDim.x * blockDim.x;
  for (uint64_t i = (uint64_t)blockIdx.x * blockDim.x + threadIdx.x; i < pairs;
       i += stride) {
    uint64_t w = 2 * i, a = (uint64_t)(uintptr_t)(p + i);
    ulonglong2 v;
    v.x = gpat_value(kind, pass, first + w, a, seed);
    v.y = gpat_value(kind, pass, first + w + 1, a + 8, seed);
    p[i] = v;
  }
}

__device__ static void mt_note(struct mt_record *rec, uint64_t index,
                               uint64_t want, uint64_t got) {
  unsigned long long k = atomicAdd(&rec->count, 1ULL);
  if (k < MT_MAX_RECORD) {
    rec->errs[k].index = index;
    rec->errs[k].expected = want;
    rec->errs[k].actual = got;
  }
}

__global__ void mt_check(ulonglong2 *p, uint64_t pairs, uint64_t first,
                         int kind, uint64_t pass, uint64_t seed, int write_next,
                         int down, struct mt_record *rec) {
  uint64_t stride = (uint64_t)gridDim.x * blockDim.x;
  for (uint64_t j = (uint64_t)blockIdx.x * blockDim.x + threadIdx.x; j < pairs;
       j += stride) {
    uint64_t i = down ? pairs - 1 - j : j;
    uint64_t w = 2 * i, a = (uint64_t)(uintptr_t)(p + i);
    ulonglong2 v = p[i];
    uint64_t want;
    if (gpat_check_word(kind, pass, first + w, a, seed, v.x, &want))
      mt_note(rec, first + w, want, v.x);
    if (gpat_check_word(kind, pass, first + w + 1, a + 8, seed, v.y, &want))
      mt_note(rec, first + w + 1, want, v.y);
    if (write_next) {
      v.x = gpat_value(kind, pass ^ 1, first + w, a, seed);
      v.y = gpat_value(kind, pass ^ 1, first + w + 1, a + 8, seed);
      p[i] = v;
    }
  }
}

// kiln_cuda_fail, except that an uncorrectable ECC error is the memory
// failing: KILN_GPUMT_ECC_UNCORRECTABLE (a FAIL), why still says what.
static int mt_fail(cudaError_t e, const char *what, char *why, size_t n) {
  int rc = kiln_cuda_fail(e, what, why, n);
  return e == cudaErrorECCUncorrectable ? KILN_GPUMT_ECC_UNCORRECTABLE : rc;
}

static void release(struct kiln_gpumt *h) {
  for (int i = 0; i < h->nchunks; i++)
    cudaFree(h->chunk[i].p);
  if (h->rec)
    cudaFree(h->rec);
  free(h);
}

extern "C" int kiln_gpumt_open(const char *bus_id, double share,
                               struct kiln_gpumt **out,
                               struct kiln_gpu_mem_info *info, char *why,
                               size_t n) {
  *out = NULL;
  memset(info, 0, sizeof *info);
  int dev = 0;
  cudaDeviceProp p;
  struct kiln_gpumt *h = (struct kiln_gpumt *)kiln_cuda_open_handle(
      bus_id, sizeof *h, &dev, &p, info->name, sizeof info->name, why, n);
  if (!h)
    return -1;
  h->dev = dev;
  cudaError_t e;
  h->threads = 256;
  int per_sm = 0;
  cudaOccupancyMaxActiveBlocksPerMultiprocessor(&per_sm, mt_check, h->threads,
                                                0);
  h->blocks = p.multiProcessorCount * (per_sm > 0 ? per_sm : 4);
  size_t free_b = 0, total_b = 0;
  if ((e = cudaMalloc(&h->rec, sizeof *h->rec)) != cudaSuccess ||
      (e = cudaMemGetInfo(&free_b, &total_b)) != cudaSuccess) {
    release(h);
    return kiln_cuda_fail(e, "cudaMemGetInfo", why, n);
  }
  info->free_bytes = free_b;
  info->total_bytes = total_b;
  uint64_t want = (uint64_t)((double)free_b * share) / MT_ALIGN * MT_ALIGN;
  if (want == 0) {
    release(h);
    snprintf(why, n, "%.0f%% of %zu free bytes is nothing to test", share * 100,
             free_b);
    return -1;
  }
  void *one = NULL;
  if (cudaMalloc(&one, want) == cudaSuccess) {
    h->chunk[0].p = (ulonglong2 *)one;
    h->chunk[0].words = want / 8;
    h->nchunks = 1;
  } else {
    cudaGetLastError(); // an allocation failure is not sticky
    uint64_t got = 0;
    while (got < want && h->nchunks < MT_MAX_CHUNKS) {
      uint64_t sz =
          want - got < MT_CHUNK_FALLBACK ? want - got : MT_CHUNK_FALLBACK;
      void *c = NULL;
      if ((e = cudaMalloc(&c, sz)) != cudaSuccess) {
        release(h);
        snprintf(why, n,
                 "cannot allocate %.0f%% of free memory (%llu of %llu MiB "
                 "in %llu MiB chunks): %s",
                 share * 100, (unsigned long long)(got >> 20),
                 (unsigned long long)(want >> 20),
                 (unsigned long long)(MT_CHUNK_FALLBACK >> 20),
                 cudaGetErrorString(e));
        return -1;
      }
      h->chunk[h->nchunks].p = (ulonglong2 *)c;
      h->chunk[h->nchunks].words = sz / 8;
      h->chunk[h->nchunks].first = got / 8;
      h->nchunks++;
      got += sz;
    }
    want = got;
  }
  h->words = want / 8;
  info->bytes = want;
  info->chunks = h->nchunks;
  *out = h;
  return 0;
}

extern "C" int kiln_gpumt_write(struct kiln_gpumt *h, int kind, uint64_t pass,
                                uint64_t seed, char *why, size_t n) {
  for (int i = 0; i < h->nchunks; i++)
    mt_write<<<h->blocks, h->threads>>>(h->chunk[i].p, h->chunk[i].words / 2,
                                        h->chunk[i].first, kind, pass, seed);
  cudaError_t e = cudaGetLastError();
  if (e == cudaSuccess)
    e = cudaDeviceSynchronize();
  return e == cudaSuccess ? 0 : mt_fail(e, "pattern write kernel", why, n);
}

extern "C" int kiln_gpumt_check(struct kiln_gpumt *h, int kind, uint64_t pass,
                                uint64_t seed, int write_next, int down,
                                uint64_t *errors, struct gpat_error *errs,
                                size_t max, size_t *recorded, char *why,
                                size_t n) {
  *errors = 0;
  *recorded = 0;
  cudaError_t e = cudaMemset(h->rec, 0, sizeof h->rec->count);
  if (e != cudaSuccess)
    return mt_fail(e, "cudaMemset", why, n);
  for (int k = 0; k < h->nchunks; k++) {
    int i = down ? h->nchunks - 1 - k : k;
    mt_check<<<h->blocks, h->threads>>>(h->chunk[i].p, h->chunk[i].words / 2,
                                        h->chunk[i].first, kind, pass, seed,
                                        write_next, down, h->rec);
  }
  if ((e = cudaGetLastError()) != cudaSuccess ||
      (e = cudaDeviceSynchronize()) != cudaSuccess)
    return mt_fail(e, "pattern check kernel", why, n);
  static struct mt_record rec;
  if ((e = cudaMemcpy(&rec, h->rec, sizeof rec, cudaMemcpyDeviceToHost)) !=
      cudaSuccess)
    return mt_fail(e, "cudaMemcpy of the error record", why, n);
  *errors = rec.count;
  size_t got = rec.count < MT_MAX_RECORD ? (size_t)rec.count : MT_MAX_RECORD;
  if (got > max)
    got = max;
  memcpy(errs, rec.errs, got * sizeof *errs);
  *recorded = got;
  return 0;
}

static const struct mt_chunk *chunk_of(const struct kiln_gpumt *h,
                                       uint64_t index) {
  for (int i = 0; i < h->nchunks; i++)
    if (index >= h->chunk[i].first &&
        index < h->chunk[i].first + h->chunk[i].words)
      return &h->chunk[i];
  return NULL;
}

extern "C" uint64_t kiln_gpumt_address(const struct kiln_gpumt *h,
                                       uint64_t index) {
  const struct mt_chunk *c = chunk_of(h, index);
  return c ? (uint64_t)(uintptr_t)c->p + 8 * (index - c->first) : 0;
}

extern "C" uint64_t kiln_gpumt_words(const struct kiln_gpumt *h) {
  return h->words;
}

extern "C" int kiln_gpumt_read(struct kiln_gpumt *h, uint64_t index,
                               uint64_t *value, char *why, size_t n) {
  uint64_t a = kiln_gpumt_address(h, index);
  if (!a) {
    snprintf(why, n, "word %llu is outside the tested memory",
             (unsigned long long)index);
    return -1;
  }
  cudaError_t e =
      cudaMemcpy(value, (const void *)(uintptr_t)a, 8, cudaMemcpyDeviceToHost);
  return e == cudaSuccess ? 0 : mt_fail(e, "cudaMemcpy of one word", why, n);
}

extern "C" int kiln_gpumt_flip(struct kiln_gpumt *h, uint64_t index,
                               uint64_t mask, char *why, size_t n) {
  uint64_t v;
  if (kiln_gpumt_read(h, index, &v, why, n))
    return -1;
  v ^= mask;
  cudaError_t e = cudaMemcpy((void *)(uintptr_t)kiln_gpumt_address(h, index),
                             &v, 8, cudaMemcpyHostToDevice);
  return e == cudaSuccess ? 0 : mt_fail(e, "cudaMemcpy of one word", why, n);
}

extern "C" void kiln_gpumt_close(struct kiln_gpumt *h) {
  if (h)
    release(h);
}
