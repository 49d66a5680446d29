// gpu.power's load: tensor-core MMA chains, FP32 FMA chains and a streaming
// copy over device memory in the same blocks, launched back to back in
// short launches (see stress/gpu_power.h).
#include <cuda_fp16.h>
#include <cuda_runtime.h>
#include <mma.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gpu_device.h"
#include "gpu_power.h"

using namespace nvcuda;

#define PW_THREADS 256
#define PW_WARPS (PW_THREADS / 32)
#define PW_MEM_WARPS 2 // per block: the streaming copy
#define PW_COMPUTE_WARPS (PW_WARPS - PW_MEM_WARPS)
#define PW_ACC 4    // independent MMA accumulators per compute warp
#define PW_FMA 8    // independent FMA chains per compute thread
#define PW_TILES 64 // distinct 16x16 A and B tiles the warps start from
#define PW_UNROLL 4 // 16-byte copies per copying thread between looks at done
// Each buffer of the copy: far above any L2 (H100: 50 MB).
#define PW_STREAM_HALF (256ULL << 20)
#define PW_MIN_ITERS 16L
#define PW_MAX_ITERS (1L << 28)
#define PW_QUEUE 2 // launches kept queued

struct pw_args {
  const __half *a, *b;       // PW_TILES tiles of 16x16 each
  float *out;                // 256 floats per compute warp of the grid
  float *fout;               // one float per compute thread of the grid
  unsigned long long *moved; // 16-byte elements the copy moved
  uint64_t pairs;            // 16-byte elements per copy buffer
  uint64_t offset;           // where this launch's copy starts
  long iters;
  float m, z; // FMA chain x = x * m + z (m = -1: bounded, never folded)
};

struct kiln_gpupow {
  struct pw_args p;
  __half *ab;
  float *out, *fout;
  unsigned long long *moved;
  ulonglong2 *buf[2];
  int dir;
  int blocks;
  cudaEvent_t start[PW_QUEUE], end[PW_QUEUE];
  int nevents;
  int head, inflight; // next slot to launch into; launches queued
  struct kiln_gpupow_stats st;
};

__device__ static uint64_t pw_mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// Random halves in [-1, 1) (toggling bits draw more power than zeros) and
// random words in both copy buffers.
__global__ void pw_fill(__half *ab, uint64_t nab, ulonglong2 *b0,
                        ulonglong2 *b1, uint64_t pairs) {
  uint64_t stride = (uint64_t)gridDim.x * blockDim.x;
  uint64_t tid = (uint64_t)blockIdx.x * blockDim.x + threadIdx.x;
  for (uint64_t i = tid; i < nab; i += stride)
    ab[i] = __float2half((float)(pw_mix(i) >> 40) / 8388608.0f - 1.0f);
  for (uint64_t i = tid; i < pairs; i += stride) {
    b0[i] = make_ulonglong2(pw_mix(4 * i), pw_mix(4 * i + 1));
    b1[i] = make_ulonglong2(pw_mix(4 * i + 2), pw_mix(4 * i + 3));
  }
}

// Compute warps run `iters` rounds of MMA and FMA chains, then store their
// results; the copying warps stream src to dst until every compute warp of
// their block is done.
__global__ void __launch_bounds__(PW_THREADS, 2)
    pw_burn(struct pw_args p, const ulonglong2 *__restrict__ src,
            ulonglong2 *__restrict__ dst) {
  __shared__ int done;
  if (threadIdx.x == 0)
    done = 0;
  __syncthreads();
  int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  if (warp < PW_COMPUTE_WARPS) {
    uint64_t gw = (uint64_t)blockIdx.x * PW_COMPUTE_WARPS + warp;
    wmma::fragment<wmma::matrix_a, 16, 16, 16, __half, wmma::row_major> a;
    wmma::fragment<wmma::matrix_b, 16, 16, 16, __half, wmma::col_major> b, nb;
    wmma::fragment<wmma::accumulator, 16, 16, 16, float> c[PW_ACC];
    wmma::load_matrix_sync(a, p.a + (gw % PW_TILES) * 256, 16);
    wmma::load_matrix_sync(b, p.b + ((gw + 7) % PW_TILES) * 256, 16);
    // c += a b, then c += a (-b): the accumulators stay near where they
    // started, so the data keeps toggling instead of saturating.
    for (int t = 0; t < nb.num_elements; t++)
      nb.x[t] = __hneg(b.x[t]);
    for (int k = 0; k < PW_ACC; k++)
      wmma::fill_fragment(c[k], 0.25f * (float)k);
    float x[PW_FMA];
    for (int k = 0; k < PW_FMA; k++)
      x[k] = 1e-3f * (float)(threadIdx.x * PW_FMA + k);
    for (long i = 0; i < p.iters; i++) {
#pragma unroll
      for (int k = 0; k < PW_ACC; k++)
        wmma::mma_sync(c[k], a, b, c[k]);
#pragma unroll
      for (int k = 0; k < PW_FMA; k++)
        x[k] = fmaf(x[k], p.m, p.z);
#pragma unroll
      for (int k = 0; k < PW_ACC; k++)
        wmma::mma_sync(c[k], a, nb, c[k]);
#pragma unroll
      for (int k = 0; k < PW_FMA; k++)
        x[k] = fmaf(x[k], p.m, p.z);
    }
    for (int k = 1; k < PW_ACC; k++)
      for (int t = 0; t < c[0].num_elements; t++)
        c[0].x[t] += c[k].x[t];
    wmma::store_matrix_sync(p.out + gw * 256, c[0], 16, wmma::mem_row_major);
    float sum = 0;
    for (int k = 0; k < PW_FMA; k++)
      sum += x[k];
    p.fout[gw * 32 + lane] = sum;
    __syncwarp();
    if (lane == 0)
      atomicAdd(&done, 1);
  } else {
    uint64_t stride = (uint64_t)gridDim.x * PW_MEM_WARPS * 32;
    uint64_t i = ((uint64_t)blockIdx.x * PW_MEM_WARPS * 32 +
                  (uint64_t)(warp - PW_COMPUTE_WARPS) * 32 + lane + p.offset) %
                 p.pairs;
    unsigned long long moved = 0;
    while (*(volatile int *)&done < PW_COMPUTE_WARPS) {
      ulonglong2 v[PW_UNROLL];
      uint64_t at[PW_UNROLL];
#pragma unroll
      for (int u = 0; u < PW_UNROLL; u++) {
        at[u] = i;
        v[u] = src[i];
        i += stride;
        if (i >= p.pairs)
          i -= p.pairs;
      }
#pragma unroll
      for (int u = 0; u < PW_UNROLL; u++)
        dst[at[u]] = v[u];
      moved += PW_UNROLL;
    }
    if (moved)
      atomicAdd(p.moved, moved);
  }
}

static void release(struct kiln_gpupow *h) {
  cudaFree(h->ab);
  cudaFree(h->out);
  cudaFree(h->fout);
  cudaFree(h->moved);
  cudaFree(h->buf[0]);
  cudaFree(h->buf[1]);
  for (int i = 0; i < h->nevents; i++) {
    cudaEventDestroy(h->start[i]);
    cudaEventDestroy(h->end[i]);
  }
  free(h);
}

static void launch(struct kiln_gpupow *h, int slot) {
  cudaEventRecord(h->start[slot]);
  pw_burn<<<h->blocks, PW_THREADS>>>(h->p, h->buf[h->dir], h->buf[!h->dir]);
  cudaEventRecord(h->end[slot]);
  h->dir = !h->dir;
  // Start the next launch's copy elsewhere in the buffers.
  h->p.offset = (h->p.offset + h->p.pairs / 3 + 4099) % h->p.pairs;
}

// Waits for the launch in slot; its time in *ms.
static int wait_slot(struct kiln_gpupow *h, int slot, float *ms, char *why,
                     size_t n) {
  cudaError_t e = cudaEventSynchronize(h->end[slot]);
  if (e != cudaSuccess)
    return kiln_cuda_fail(e, "power kernel", why, n);
  if ((e = cudaEventElapsedTime(ms, h->start[slot], h->end[slot])) !=
      cudaSuccess)
    return kiln_cuda_fail(e, "cudaEventElapsedTime", why, n);
  return 0;
}

// One launch of iters, timed, outside the queue (calibration).
static int timed_launch(struct kiln_gpupow *h, long iters, float *ms, char *why,
                        size_t n) {
  h->p.iters = iters;
  launch(h, 0);
  cudaError_t e = cudaGetLastError();
  if (e != cudaSuccess)
    return kiln_cuda_fail(e, "power kernel launch", why, n);
  return wait_slot(h, 0, ms, why, n);
}

static long scale_iters(long iters, double want_ms, float got_ms) {
  double f = got_ms > 0.01 ? want_ms / got_ms : 64;
  if (f > 64)
    f = 64;
  double x = (double)iters * f;
  return x < PW_MIN_ITERS   ? PW_MIN_ITERS
         : x > PW_MAX_ITERS ? PW_MAX_ITERS
                            : (long)x;
}

// The device buffers: tiles and outputs of the compute warps, the two
// halves the memory warps stream between (smaller on a small or busy GPU),
// the launch queue's events; then the fill. 0, or -1 with h released.
static int pw_alloc(struct kiln_gpupow *h, const cudaDeviceProp *prop,
                    uint64_t *half_out, char *why, size_t n) {
  int per_sm = 0;
  cudaError_t e = cudaOccupancyMaxActiveBlocksPerMultiprocessor(
      &per_sm, pw_burn, PW_THREADS, 0);
  if (e != cudaSuccess) {
    release(h);
    return kiln_cuda_fail(e, "cudaOccupancyMaxActiveBlocksPerMultiprocessor",
                          why, n);
  }
  if (per_sm < 1)
    per_sm = 1;
  h->blocks = prop->multiProcessorCount * per_sm;
  uint64_t cwarps = (uint64_t)h->blocks * PW_COMPUTE_WARPS;
  uint64_t half = PW_STREAM_HALF;
  size_t free_b = 0, total_b = 0;
  if ((e = cudaMemGetInfo(&free_b, &total_b)) != cudaSuccess) {
    release(h);
    return kiln_cuda_fail(e, "cudaMemGetInfo", why, n);
  }
  while (half > (64ULL << 20) && 2 * half > free_b / 2)
    half /= 2; // a small or busy GPU: smaller buffers, still beyond L2
  uint64_t nab = 2ULL * PW_TILES * 256;
  if ((e = cudaMalloc(&h->ab, nab * sizeof(__half))) != cudaSuccess ||
      (e = cudaMalloc(&h->out, cwarps * 256 * sizeof(float))) != cudaSuccess ||
      (e = cudaMalloc(&h->fout, cwarps * 32 * sizeof(float))) != cudaSuccess ||
      (e = cudaMalloc(&h->moved, sizeof *h->moved)) != cudaSuccess ||
      (e = cudaMemset(h->moved, 0, sizeof *h->moved)) != cudaSuccess ||
      (e = cudaMalloc(&h->buf[0], half)) != cudaSuccess ||
      (e = cudaMalloc(&h->buf[1], half)) != cudaSuccess) {
    release(h);
    return kiln_cuda_fail(e, "cudaMalloc", why, n);
  }
  for (; h->nevents < PW_QUEUE; h->nevents++) {
    // Blocking sync: the host sleeps while it waits, not spin a core.
    if ((e = cudaEventCreate(&h->start[h->nevents])) != cudaSuccess)
      break;
    if ((e = cudaEventCreateWithFlags(&h->end[h->nevents],
                                      cudaEventBlockingSync)) != cudaSuccess) {
      cudaEventDestroy(h->start[h->nevents]);
      break;
    }
  }
  if (e != cudaSuccess) {
    release(h);
    return kiln_cuda_fail(e, "cudaEventCreate", why, n);
  }
  h->p.a = h->ab;
  h->p.b = h->ab + PW_TILES * 256;
  h->p.out = h->out;
  h->p.fout = h->fout;
  h->p.moved = h->moved;
  h->p.pairs = half / 16;
  h->p.m = -1.0f;
  h->p.z = 0.5f;
  pw_fill<<<prop->multiProcessorCount * 4, 256>>>(h->ab, nab, h->buf[0],
                                                  h->buf[1], h->p.pairs);
  if ((e = cudaGetLastError()) != cudaSuccess ||
      (e = cudaDeviceSynchronize()) != cudaSuccess) {
    release(h);
    return kiln_cuda_fail(e, "fill kernel", why, n);
  }
  *half_out = half;
  return 0;
}

// Calibrate: a short launch, then one near the wanted length, scaled. The
// iterations per launch in h->p.iters, the last launch's length in *ms
// over *measured iterations. 0, or -1 with h released.
static int pw_calibrate(struct kiln_gpupow *h, double launch_ms, float *ms,
                        long *measured, char *why, size_t n) {
  long iters = 256;
  *measured = iters;
  *ms = 0;
  for (int round = 0; round < 3; round++) {
    *measured = iters;
    if (timed_launch(h, *measured, ms, why, n)) {
      release(h);
      return -1;
    }
    iters = scale_iters(*measured, launch_ms, *ms);
  }
  h->p.iters = iters;
  return 0;
}

extern "C" int kiln_gpupow_open(const char *bus_id, double launch_ms,
                                struct kiln_gpupow **out,
                                struct kiln_gpupow_info *info, char *why,
                                size_t n) {
  *out = NULL;
  memset(info, 0, sizeof *info);
  int dev = 0;
  cudaDeviceProp prop;
  struct kiln_gpupow *h = (struct kiln_gpupow *)kiln_cuda_open_handle(
      bus_id, sizeof *h, &dev, &prop, info->name, sizeof info->name, why, n);
  if (!h)
    return -1;
  if (prop.major < 7) {
    free(h);
    snprintf(why, n, "%s (compute capability %d.%d) has no tensor cores",
             prop.name, prop.major, prop.minor);
    return 1;
  }
  uint64_t half = 0;
  long measured = 0;
  float ms = 0;
  if (pw_alloc(h, &prop, &half, why, n) ||
      pw_calibrate(h, launch_ms, &ms, &measured, why, n))
    return -1;
  h->head = h->inflight = 0;
  info->sms = prop.multiProcessorCount;
  info->blocks = h->blocks;
  info->threads = PW_THREADS;
  info->compute_warps = PW_COMPUTE_WARPS;
  info->memory_warps = PW_MEM_WARPS;
  info->iters = h->p.iters;
  info->launch_ms = (double)ms * (double)h->p.iters / (double)measured;
  info->stream_bytes = 2 * half;
  // The calibration's figures are not the run's.
  cudaError_t e;
  if ((e = cudaMemset(h->moved, 0, sizeof *h->moved)) != cudaSuccess) {
    release(h);
    return kiln_cuda_fail(e, "cudaMemset", why, n);
  }
  *out = h;
  return 0;
}

static void account(struct kiln_gpupow *h, float ms) {
  h->st.launches++;
  h->st.gpu_ms += ms;
  // Per compute warp and iteration: 2 x PW_ACC MMAs of 16x16x16 (2 flops
  // per multiply-add), and 2 x PW_FMA FMAs per thread.
  double per_warp = 2.0 * PW_ACC * 16 * 16 * 16 * 2 + 2.0 * PW_FMA * 32 * 2;
  h->st.flops += per_warp * (double)h->p.iters * h->blocks * PW_COMPUTE_WARPS;
}

extern "C" int kiln_gpupow_step(struct kiln_gpupow *h, char *why, size_t n) {
  while (h->inflight < PW_QUEUE) {
    launch(h, (h->head + h->inflight) % PW_QUEUE);
    cudaError_t e = cudaGetLastError();
    if (e != cudaSuccess)
      return kiln_cuda_fail(e, "power kernel launch", why, n);
    h->inflight++;
  }
  float ms = 0;
  if (wait_slot(h, h->head, &ms, why, n))
    return -1;
  account(h, ms);
  h->head = (h->head + 1) % PW_QUEUE;
  h->inflight--;
  return 0;
}

extern "C" int kiln_gpupow_finish(struct kiln_gpupow *h,
                                  struct kiln_gpupow_stats *st, char *why,
                                  size_t n) {
  while (h->inflight > 0) {
    float ms = 0;
    if (wait_slot(h, h->head, &ms, why, n))
      return -1;
    account(h, ms);
    h->head = (h->head + 1) % PW_QUEUE;
    h->inflight--;
  }
  unsigned long long moved = 0;
  cudaError_t e =
      cudaMemcpy(&moved, h->moved, sizeof moved, cudaMemcpyDeviceToHost);
  if (e != cudaSuccess)
    return kiln_cuda_fail(e, "reading the copy's count", why, n);
  h->st.bytes = 2.0 * 16.0 * (double)moved;
  *st = h->st;
  return 0;
}

extern "C" void kiln_gpupow_close(struct kiln_gpupow *h) {
  if (h)
    release(h);
}
