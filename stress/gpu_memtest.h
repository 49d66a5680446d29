/* gpu.memtest's step over its device calls (stress/gpu_memtest.c): the
 * CUDA build passes the kiln_gpumt_* functions of stress/gpu_mem.h,
 * tests a fake pattern run over host memory. The calls return what those
 * functions return: 0, 1 (no usable device: its reason in why), -1 (a CUDA
 * error: ERROR) or KILN_GPUMT_ECC_UNCORRECTABLE (FAIL). */
#ifndef KILN_STRESS_GPU_MEMTEST_H
#define KILN_STRESS_GPU_MEMTEST_H

#include <stddef.h>
#include <stdint.h>

#include "gpu_mem.h"

struct kiln_step;

struct kiln_gpumt_ops {
  int (*open)(const char *bus_id, double share, struct kiln_gpumt **out,
              struct kiln_gpu_mem_info *info, char *why, size_t n);
  int (*write)(struct kiln_gpumt *h, int kind, uint64_t pass, uint64_t seed,
               char *why, size_t n);
  int (*check)(struct kiln_gpumt *h, int kind, uint64_t pass, uint64_t seed,
               int write_next, int down, uint64_t *errors,
               struct gpat_error *errs, size_t max, size_t *recorded, char *why,
               size_t n);
  uint64_t (*address)(const struct kiln_gpumt *h, uint64_t index);
  uint64_t (*words)(const struct kiln_gpumt *h);
  int (*read)(struct kiln_gpumt *h, uint64_t index, uint64_t *value, char *why,
              size_t n);
  int (*flip)(struct kiln_gpumt *h, uint64_t index, uint64_t mask, char *why,
              size_t n);
  void (*close)(struct kiln_gpumt *h);
};

/* The whole step: parameters, the GPU, NVML's ECC and remapped rows around
 * the patterns, rounds until the deadline, the measurements. */
void kiln_gpumt_run(struct kiln_step *s, const struct kiln_gpumt_ops *ops);

#endif
