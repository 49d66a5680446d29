/* Host-side view of the CUDA code in the stress/ .cu files (C linkage).
 * Built only with CUDA=1; the GPU modules SKIP "built without CUDA" otherwise.
 */
#ifndef KILN_GPU_H
#define KILN_GPU_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

struct kiln_gpu_info {
  char name[256];
  char bus_id[32];
  int cc_major, cc_minor;
  int sm_count;
  double mem_total_gib;
  double mem_free_gib;
  int driver_version; /* e.g. 12040 */
  int runtime_version;
  double kernel_ms; /* a small kernel's round trip, proving launch works */
};

/* Queries the GPU at bus_id through the CUDA runtime and runs a check
 * kernel on it. Returns 0; 1 when no usable driver or device is present
 * (reason in why: a SKIP); -1 on a CUDA error (an ERROR). */
int kiln_cuda_query(const char *bus_id, struct kiln_gpu_info *out, char *why,
                    size_t n);

#ifdef __cplusplus
}
#endif

#endif
