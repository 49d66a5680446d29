/* Host-side view of gpu.power's CUDA load (C linkage), in
 * stress/gpu_power.cu. Built only with CUDA=1.
 *
 * The load: one kernel, launched back to back in short launches, whose
 * blocks keep the tensor cores (FP16 MMA chains, FP32 accumulate), the FP32
 * pipes (FMA chains) and device memory (a streaming copy over buffers far
 * larger than L2) busy at once. Every result is stored, so no work can be
 * elided.
 *
 * Every function returns 0 on success, 1 when no usable driver or device
 * is present (reason in why: a SKIP), -1 on a CUDA error (reason in why: an
 * ERROR). */
#ifndef KILN_GPU_POWER_H
#define KILN_GPU_POWER_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct kiln_gpupow;

struct kiln_gpupow_info {
  char name[256];
  int sms;
  int blocks, threads;             /* per launch */
  int compute_warps, memory_warps; /* per block */
  long iters;                      /* compute-loop iterations per launch */
  double launch_ms;                /* one launch, as calibrated */
  uint64_t stream_bytes;           /* the copy's two buffers together */
};

struct kiln_gpupow_stats {
  uint64_t launches;
  double gpu_ms; /* summed launch times */
  double flops;  /* tensor and FMA work done */
  double bytes;  /* the copy's bytes read plus written */
};

/* Opens the GPU at bus_id, allocates the load's buffers and calibrates a
 * launch to take about launch_ms. */
int kiln_gpupow_open(const char *bus_id, double launch_ms,
                     struct kiln_gpupow **out, struct kiln_gpupow_info *info,
                     char *why, size_t n);
/* Keeps two launches queued and waits for the older one to finish: returns
 * after about one launch, the GPU still busy with the next. */
int kiln_gpupow_step(struct kiln_gpupow *h, char *why, size_t n);
/* Waits for the queued launches; what was done in *st. */
int kiln_gpupow_finish(struct kiln_gpupow *h, struct kiln_gpupow_stats *st,
                       char *why, size_t n);
void kiln_gpupow_close(struct kiln_gpupow *h);

#ifdef __cplusplus
}
#endif

#endif
