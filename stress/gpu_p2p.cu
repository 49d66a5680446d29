// gpu.p2p's device side: a source and a destination buffer on every GPU,
// peer access enabled where CUDA allows it, timed cudaMemcpyPeerAsync copies
// and a pointer-chasing kernel for latency.
#include <cuda_runtime.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gpu_device.h"
#include "gpu_xfer.h"
#include "gpu_xfer_math.h"

// The latency chain: CHAIN_WORDS 32-bit indices on each GPU, each pointing
// CHAIN_STEP words on (odd, so one cycle through all of them; 16 KiB apart,
// so no two consecutive loads share a line or a page).
#define CHAIN_WORDS (1u << 16)
#define CHAIN_STEP 4099u

struct p2p_gpu {
  int dev;
  char name[256];
  void *src, *dst;
  uint32_t *chain, *sink;
  cudaStream_t stream;
  cudaEvent_t t0, t1;
  bool have_stream, have_events;
};

struct kiln_p2p {
  size_t n, bytes;
  struct p2p_gpu *g;
  signed char *direct; // n * n
  char (*note)[128];   // n * n
};

static double now_s(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

// One thread; every load's address is the previous load's value, and the
// loads are volatile, so each one goes over the link and waits for the last.
__global__ void p2p_chase(const volatile uint32_t *chain, int loads,
                          uint32_t *sink) {
  uint32_t i = 0;
  for (int k = 0; k < loads; k++)
    i = chain[i];
  *sink = i;
}

static void release(struct kiln_p2p *h) {
  for (size_t i = 0; h->g && i < h->n; i++) {
    struct p2p_gpu *g = &h->g[i];
    if (cudaSetDevice(g->dev) != cudaSuccess)
      continue;
    if (g->have_stream) {
      cudaStreamSynchronize(g->stream);
      cudaStreamDestroy(g->stream);
    }
    if (g->have_events) {
      cudaEventDestroy(g->t0);
      cudaEventDestroy(g->t1);
    }
    if (g->src)
      cudaFree(g->src);
    if (g->dst)
      cudaFree(g->dst);
    if (g->chain)
      cudaFree(g->chain);
    if (g->sink)
      cudaFree(g->sink);
  }
  free(h->g);
  free(h->direct);
  free(h->note);
  free(h);
}

static int open_gpu(struct p2p_gpu *g, const char *bus, size_t bytes,
                    const uint32_t *chain, char *why, size_t wn) {
  cudaDeviceProp p;
  if (kiln_cuda_select(bus, &g->dev, &p, why, wn) != 0)
    return -1;
  cudaError_t e;
  snprintf(g->name, sizeof g->name, "%s", p.name);
  if ((e = cudaMalloc(&g->src, bytes)) != cudaSuccess ||
      (e = cudaMalloc(&g->dst, bytes)) != cudaSuccess) {
    snprintf(why, wn, "GPU %s: cannot allocate 2 x %zu MiB: %s", bus,
             bytes >> 20, cudaGetErrorString(e));
    return -1;
  }
  if ((e = cudaMalloc(&g->chain, CHAIN_WORDS * sizeof *chain)) != cudaSuccess ||
      (e = cudaMalloc(&g->sink, sizeof *g->sink)) != cudaSuccess)
    return kiln_cuda_fail(e, "cudaMalloc", why, wn);
  if ((e = cudaMemset(g->src, 0x5a, bytes)) != cudaSuccess ||
      (e = cudaMemset(g->dst, 0, bytes)) != cudaSuccess ||
      (e = cudaMemcpy(g->chain, chain, CHAIN_WORDS * sizeof *chain,
                      cudaMemcpyHostToDevice)) != cudaSuccess)
    return kiln_cuda_fail(e, "initialising buffers", why, wn);
  if ((e = cudaStreamCreateWithFlags(&g->stream, cudaStreamNonBlocking)) !=
      cudaSuccess)
    return kiln_cuda_fail(e, "cudaStreamCreate", why, wn);
  g->have_stream = true;
  if ((e = cudaEventCreate(&g->t0)) != cudaSuccess)
    return kiln_cuda_fail(e, "cudaEventCreate", why, wn);
  if ((e = cudaEventCreate(&g->t1)) != cudaSuccess) {
    cudaEventDestroy(g->t0);
    return kiln_cuda_fail(e, "cudaEventCreate", why, wn);
  }
  g->have_events = true;
  if ((e = cudaDeviceSynchronize()) != cudaSuccess)
    return kiln_cuda_fail(e, "cudaDeviceSynchronize", why, wn);
  return 0;
}

extern "C" int kiln_p2p_open(const char (*bus_ids)[16], size_t n, size_t bytes,
                             void (*tick)(void *ctx), void *ctx,
                             struct kiln_p2p **out, char *why, size_t wn) {
  *out = NULL;
  int rc = kiln_cuda_usable(why, wn);
  if (rc)
    return rc;
  if (bytes < 4) {
    snprintf(why, wn, "copy size %zu is too small", bytes);
    return -1;
  }
  struct kiln_p2p *h = (struct kiln_p2p *)calloc(1, sizeof *h);
  uint32_t *chain = (uint32_t *)malloc(CHAIN_WORDS * sizeof *chain);
  if (h) {
    h->g = (struct p2p_gpu *)calloc(n, sizeof *h->g);
    h->direct = (signed char *)calloc(n * n, 1);
    h->note = (char(*)[128])calloc(n * n, sizeof *h->note);
  }
  if (!h || !chain || !h->g || !h->direct || !h->note) {
    free(chain);
    if (h)
      release(h);
    snprintf(why, wn, "out of host memory");
    return -1;
  }
  h->n = n;
  h->bytes = bytes;
  for (uint32_t k = 0; k < CHAIN_WORDS; k++)
    chain[k] = (k + CHAIN_STEP) % CHAIN_WORDS;
  for (size_t i = 0; i < n; i++) {
    int rc = open_gpu(&h->g[i], bus_ids[i], bytes, chain, why, wn);
    if (rc != 0) {
      free(chain);
      release(h);
      return rc;
    }
    if (tick)
      tick(ctx);
  }
  free(chain);
  cudaError_t e;
  for (size_t i = 0; i < n; i++) {
    if ((e = cudaSetDevice(h->g[i].dev)) != cudaSuccess) {
      release(h);
      return kiln_cuda_fail(e, bus_ids[i], why, wn);
    }
    for (size_t j = 0; j < n; j++) {
      if (i == j)
        continue;
      int can = 0;
      char *note = h->note[i * n + j];
      e = cudaDeviceCanAccessPeer(&can, h->g[i].dev, h->g[j].dev);
      if (e != cudaSuccess) {
        snprintf(note, 128, "cudaDeviceCanAccessPeer: %s",
                 cudaGetErrorString(e));
        cudaGetLastError();
        continue;
      }
      if (!can) {
        snprintf(note, 128, "no peer access");
        continue;
      }
      e = cudaDeviceEnablePeerAccess(h->g[j].dev, 0);
      if (e == cudaSuccess || e == cudaErrorPeerAccessAlreadyEnabled) {
        h->direct[i * n + j] = 1;
      } else {
        snprintf(note, 128, "cudaDeviceEnablePeerAccess: %s",
                 cudaGetErrorString(e));
      }
      cudaGetLastError(); // enabling errors are not sticky: clear them
    }
  }
  *out = h;
  return 0;
}

extern "C" const char *kiln_p2p_name(const struct kiln_p2p *h, size_t i) {
  return h->g[i].name;
}

extern "C" int kiln_p2p_direct(const struct kiln_p2p *h, size_t i, size_t j,
                               const char **note) {
  *note = h->note[i * h->n + j];
  return h->direct[i * h->n + j];
}

extern "C" int kiln_p2p_copy(struct kiln_p2p *h, size_t i, size_t j,
                             double *bytes, double *ms, char *why, size_t wn) {
  struct p2p_gpu *a = &h->g[i], *b = &h->g[j];
  cudaError_t e;
  if ((e = cudaSetDevice(a->dev)) != cudaSuccess)
    return kiln_cuda_fail(e, "cudaSetDevice", why, wn);
  bool direct = h->direct[i * h->n + j];
  double t0 = now_s();
  if ((e = cudaEventRecord(a->t0, a->stream)) != cudaSuccess ||
      (e = cudaMemcpyPeerAsync(b->dst, b->dev, a->src, a->dev, h->bytes,
                               a->stream)) != cudaSuccess ||
      (e = cudaEventRecord(a->t1, a->stream)) != cudaSuccess ||
      (e = cudaStreamSynchronize(a->stream)) != cudaSuccess)
    return kiln_cuda_fail(e, "cudaMemcpyPeerAsync", why, wn);
  double wall = now_s() - t0;
  float t = 0;
  if ((e = cudaEventElapsedTime(&t, a->t0, a->t1)) != cudaSuccess)
    return kiln_cuda_fail(e, "cudaEventElapsedTime", why, wn);
  // A staged copy may run partly outside the stream's view: time it on the
  // host, to its completion.
  *ms = direct ? t : wall * 1e3;
  *bytes = (double)h->bytes;
  return 0;
}

extern "C" int kiln_p2p_latency(struct kiln_p2p *h, size_t i, size_t j,
                                int reps, int loads, double *us, bool *chase,
                                char *why, size_t wn) {
  struct p2p_gpu *a = &h->g[i], *b = &h->g[j];
  cudaError_t e;
  if (reps < 1)
    reps = 1;
  if (loads < 1)
    loads = 1;
  if ((e = cudaSetDevice(a->dev)) != cudaSuccess)
    return kiln_cuda_fail(e, "cudaSetDevice", why, wn);
  *chase = h->direct[i * h->n + j];
  int runs = *chase ? reps : 10 * reps;
  double *v = (double *)calloc((size_t)runs, sizeof *v);
  if (!v) {
    snprintf(why, wn, "out of host memory");
    return -1;
  }
  for (int r = 0; r < runs; r++) {
    if (*chase) {
      float t = 0;
      if ((e = cudaEventRecord(a->t0, a->stream)) != cudaSuccess)
        break;
      p2p_chase<<<1, 1, 0, a->stream>>>(b->chain, loads, a->sink);
      if ((e = cudaGetLastError()) != cudaSuccess ||
          (e = cudaEventRecord(a->t1, a->stream)) != cudaSuccess ||
          (e = cudaEventSynchronize(a->t1)) != cudaSuccess ||
          (e = cudaEventElapsedTime(&t, a->t0, a->t1)) != cudaSuccess)
        break;
      v[r] = (double)t * 1e3 / loads;
    } else {
      double t0 = now_s();
      if ((e = cudaMemcpyPeerAsync(b->dst, b->dev, a->src, a->dev, 4,
                                   a->stream)) != cudaSuccess ||
          (e = cudaStreamSynchronize(a->stream)) != cudaSuccess)
        break;
      v[r] = (now_s() - t0) * 1e6;
    }
  }
  if (e != cudaSuccess) {
    free(v);
    return kiln_cuda_fail(
        e, *chase ? "pointer-chase kernel" : "4-byte peer copy", why, wn);
  }
  *us = kiln_xfer_median(v, (size_t)runs);
  free(v);
  return 0;
}

extern "C" void kiln_p2p_close(struct kiln_p2p *h) {
  if (h)
    release(h);
}
