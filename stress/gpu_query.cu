// Device query and a tiny kernel: proves the CUDA build and launch path.
#include <cuda_runtime.h>
#include <stdio.h>
#include <string.h>

#include "gpu.h"
#include "gpu_device.h"

// Each thread writes its own index; the host checks every element, so a
// broken launch or copy cannot pass.
__global__ void write_indices(unsigned *out, unsigned n) {
  unsigned i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n)
    out[i] = i * 2654435761u;
}

extern "C" int kiln_cuda_query(const char *bus_id, struct kiln_gpu_info *out,
                               char *why, size_t n) {
  memset(out, 0, sizeof *out);
  int dev = 0;
  cudaDeviceProp p;
  int rc = kiln_cuda_open(bus_id, &dev, &p, why, n);
  if (rc)
    return rc;
  cudaError_t e;
  snprintf(out->name, sizeof out->name, "%s", p.name);
  cudaDeviceGetPCIBusId(out->bus_id, sizeof out->bus_id, dev);
  out->cc_major = p.major;
  out->cc_minor = p.minor;
  out->sm_count = p.multiProcessorCount;
  size_t free_b = 0, total_b = 0;
  if ((e = cudaMemGetInfo(&free_b, &total_b)) != cudaSuccess)
    return kiln_cuda_fail(e, "cudaMemGetInfo", why, n);
  out->mem_total_gib = (double)total_b / (1u << 30);
  out->mem_free_gib = (double)free_b / (1u << 30);
  cudaDriverGetVersion(&out->driver_version);
  cudaRuntimeGetVersion(&out->runtime_version);

  const unsigned len = 1u << 20;
  unsigned *d = NULL;
  if ((e = cudaMalloc(&d, len * sizeof *d)) != cudaSuccess)
    return kiln_cuda_fail(e, "cudaMalloc", why, n);
  cudaEvent_t t0, t1;
  cudaEventCreate(&t0);
  cudaEventCreate(&t1);
  cudaEventRecord(t0);
  write_indices<<<(len + 255) / 256, 256>>>(d, len);
  cudaEventRecord(t1);
  e = cudaEventSynchronize(t1);
  float ms = 0;
  cudaEventElapsedTime(&ms, t0, t1);
  out->kernel_ms = ms;
  static unsigned host[1u << 20];
  if (e == cudaSuccess)
    e = cudaMemcpy(host, d, len * sizeof *d, cudaMemcpyDeviceToHost);
  cudaFree(d);
  if (e != cudaSuccess)
    return kiln_cuda_fail(e, "check kernel", why, n);
  for (unsigned i = 0; i < len; i++)
    if (host[i] != i * 2654435761u) {
      snprintf(why, n, "check kernel wrote %#x at index %u, expected %#x",
               host[i], i, i * 2654435761u);
      return -2;
    }
  return 0;
}
