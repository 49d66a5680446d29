// pcie.bw's device side: two pinned host buffers and two device buffers,
// one stream per direction, copies timed with CUDA events.
#include <cuda_runtime.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gpu_device.h"
#include "gpu_xfer.h"

struct kiln_pciebw {
  int dev;
  size_t bytes;
  void *src, *dst;        // pinned host
  void *da, *db;          // device: H2D's destination, D2H's source
  cudaStream_t stream[2]; // [0] H2D, [1] D2H
  bool have_stream[2];
  cudaEvent_t start, end[2];
  bool have_event[3];
  enum kiln_xfer_dir dir; // of the copy started last
  bool pending;
};

static void release(struct kiln_pciebw *h) {
  // Errors here cannot change the step's result any more.
  if (h->pending) {
    for (int i = 0; i < 2; i++)
      if (h->have_stream[i])
        cudaStreamSynchronize(h->stream[i]);
  }
  if (h->have_event[0])
    cudaEventDestroy(h->start);
  for (int i = 0; i < 2; i++) {
    if (h->have_event[i + 1])
      cudaEventDestroy(h->end[i]);
    if (h->have_stream[i])
      cudaStreamDestroy(h->stream[i]);
  }
  if (h->da)
    cudaFree(h->da);
  if (h->db)
    cudaFree(h->db);
  if (h->src)
    cudaFreeHost(h->src);
  if (h->dst)
    cudaFreeHost(h->dst);
  free(h);
}

extern "C" int kiln_pciebw_open(const char *bus_id, size_t bytes,
                                struct kiln_pciebw **out,
                                struct kiln_pciebw_info *info, char *why,
                                size_t n) {
  *out = NULL;
  memset(info, 0, sizeof *info);
  int dev = 0;
  cudaDeviceProp p;
  struct kiln_pciebw *h = (struct kiln_pciebw *)kiln_cuda_open_handle(
      bus_id, sizeof *h, &dev, &p, info->name, sizeof info->name, why, n);
  if (!h)
    return -1;
  if (bytes == 0) {
    free(h);
    snprintf(why, n, "copy size is 0");
    return -1;
  }
  h->dev = dev;
  h->bytes = bytes;
  // Pinned host memory: allocated and locked by the calling thread, so the
  // pages land on the node that thread runs on.
  cudaError_t e;
  if ((e = cudaHostAlloc(&h->src, bytes, cudaHostAllocDefault)) !=
          cudaSuccess ||
      (e = cudaHostAlloc(&h->dst, bytes, cudaHostAllocDefault)) !=
          cudaSuccess) {
    release(h);
    snprintf(why, n, "cannot pin 2 x %zu MiB of host memory: %s", bytes >> 20,
             cudaGetErrorString(e));
    return -1;
  }
  if ((e = cudaMalloc(&h->da, bytes)) != cudaSuccess ||
      (e = cudaMalloc(&h->db, bytes)) != cudaSuccess) {
    release(h);
    snprintf(why, n, "cannot allocate 2 x %zu MiB on the GPU: %s", bytes >> 20,
             cudaGetErrorString(e));
    return -1;
  }
  for (int i = 0; i < 2; i++) {
    if ((e = cudaStreamCreateWithFlags(&h->stream[i], cudaStreamNonBlocking)) !=
        cudaSuccess) {
      release(h);
      return kiln_cuda_fail(e, "cudaStreamCreate", why, n);
    }
    h->have_stream[i] = true;
  }
  if ((e = cudaEventCreate(&h->start)) != cudaSuccess) {
    release(h);
    return kiln_cuda_fail(e, "cudaEventCreate", why, n);
  }
  h->have_event[0] = true;
  for (int i = 0; i < 2; i++) {
    if ((e = cudaEventCreate(&h->end[i])) != cudaSuccess) {
      release(h);
      return kiln_cuda_fail(e, "cudaEventCreate", why, n);
    }
    h->have_event[i + 1] = true;
  }
  info->bytes = bytes;
  info->src = h->src;
  info->dst = h->dst;
  info->copy_engines = p.asyncEngineCount;
  *out = h;
  return 0;
}

extern "C" int kiln_pciebw_prime(struct kiln_pciebw *h, char *why, size_t n) {
  cudaError_t e;
  if ((e = cudaMemcpy(h->da, h->src, h->bytes, cudaMemcpyHostToDevice)) !=
          cudaSuccess ||
      (e = cudaMemcpy(h->db, h->src, h->bytes, cudaMemcpyHostToDevice)) !=
          cudaSuccess)
    return kiln_cuda_fail(e, "cudaMemcpy host to device", why, n);
  return 0;
}

extern "C" int kiln_pciebw_start(struct kiln_pciebw *h, enum kiln_xfer_dir dir,
                                 char *why, size_t n) {
  cudaStream_t up = h->stream[0], down = h->stream[1];
  cudaError_t e = cudaSuccess;
  h->dir = dir;
  h->pending = true;
  switch (dir) {
  case KILN_XFER_H2D:
    if ((e = cudaEventRecord(h->start, up)) != cudaSuccess ||
        (e = cudaMemcpyAsync(h->da, h->src, h->bytes, cudaMemcpyHostToDevice,
                             up)) != cudaSuccess ||
        (e = cudaEventRecord(h->end[0], up)) != cudaSuccess)
      return kiln_cuda_fail(e, "host-to-device copy", why, n);
    break;
  case KILN_XFER_D2H:
    if ((e = cudaEventRecord(h->start, down)) != cudaSuccess ||
        (e = cudaMemcpyAsync(h->dst, h->db, h->bytes, cudaMemcpyDeviceToHost,
                             down)) != cudaSuccess ||
        (e = cudaEventRecord(h->end[1], down)) != cudaSuccess)
      return kiln_cuda_fail(e, "device-to-host copy", why, n);
    break;
  case KILN_XFER_BIDIR:
    // Both copies start after `start` and the H2D stream's end waits for
    // the D2H copy too: start -> end[0] spans both.
    if ((e = cudaEventRecord(h->start, up)) != cudaSuccess ||
        (e = cudaStreamWaitEvent(down, h->start, 0)) != cudaSuccess ||
        (e = cudaMemcpyAsync(h->da, h->src, h->bytes, cudaMemcpyHostToDevice,
                             up)) != cudaSuccess ||
        (e = cudaMemcpyAsync(h->dst, h->db, h->bytes, cudaMemcpyDeviceToHost,
                             down)) != cudaSuccess ||
        (e = cudaEventRecord(h->end[1], down)) != cudaSuccess ||
        (e = cudaStreamWaitEvent(up, h->end[1], 0)) != cudaSuccess ||
        (e = cudaEventRecord(h->end[0], up)) != cudaSuccess)
      return kiln_cuda_fail(e, "bidirectional copy", why, n);
    break;
  default: snprintf(why, n, "unknown copy direction %d", (int)dir); return -1;
  }
  return 0;
}

extern "C" int kiln_pciebw_finish(struct kiln_pciebw *h, double *bytes,
                                  double *ms, char *why, size_t n) {
  cudaEvent_t end = h->dir == KILN_XFER_D2H ? h->end[1] : h->end[0];
  cudaError_t e = cudaEventSynchronize(end);
  h->pending = false;
  if (e != cudaSuccess)
    return kiln_cuda_fail(e, "copy", why, n);
  float t = 0;
  if ((e = cudaEventElapsedTime(&t, h->start, end)) != cudaSuccess)
    return kiln_cuda_fail(e, "cudaEventElapsedTime", why, n);
  *bytes = (h->dir == KILN_XFER_BIDIR ? 2.0 : 1.0) * (double)h->bytes;
  *ms = t;
  return 0;
}

extern "C" int kiln_pciebw_fetch(struct kiln_pciebw *h, char *why, size_t n) {
  // The timed copies ran on non-blocking streams: wait for them first.
  cudaError_t e = cudaDeviceSynchronize();
  if (e == cudaSuccess)
    e = cudaMemcpy(h->dst, h->da, h->bytes, cudaMemcpyDeviceToHost);
  if (e != cudaSuccess)
    return kiln_cuda_fail(e, "cudaMemcpy device to host", why, n);
  return 0;
}

extern "C" void kiln_pciebw_close(struct kiln_pciebw *h) {
  if (h)
    release(h);
}
