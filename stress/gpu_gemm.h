/* Host-side view of gpu.gemm's CUDA code (C linkage), in
 * stress/gpu_gemm.cu. Built only with CUDA=1; the types below are usable
 * without it (stress/gpu_gemm_check.h and the unit test need them).
 *
 * cuBLAS is not linked: kiln_gemm_open() loads libcublas.so.<CUDA major>
 * (else libcublas.so) with dlopen, and libcublasLt likewise for FP8.
 *
 * Every function returns 0 on success, 1 when something needed is absent
 * (no CUDA device or driver, no cuBLAS, a type this GPU cannot run: reason
 * in why, a SKIP or for one type a note), -1 on a CUDA or cuBLAS error
 * (reason in why: an ERROR). */
#ifndef KILN_GPU_GEMM_H
#define KILN_GPU_GEMM_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The GEMM types, in the order a step runs them.
 *   FP64  double in, double out, CUBLAS_COMPUTE_64F
 *   FP32  float in, float out, CUBLAS_COMPUTE_32F (default math: no TF32)
 *   TF32  float in, float out, CUBLAS_COMPUTE_32F_FAST_TF32
 *   BF16  bfloat16 in, bfloat16 out, CUBLAS_COMPUTE_32F
 *   FP8   E4M3 in (A transposed), bfloat16 out, cuBLASLt, FP32 compute;
 *         compute capability 8.9 or newer */
enum kiln_gemm_type {
  KILN_GEMM_FP64,
  KILN_GEMM_FP32,
  KILN_GEMM_TF32,
  KILN_GEMM_BF16,
  KILN_GEMM_FP8,
  KILN_GEMM_NTYPES
};

/* Most GEMMs one kiln_gemm_launch() queues. */
#define KILN_GEMM_MAX_BATCH 256

struct kiln_gemm_info {
  char name[256]; /* the GPU's */
  char bus[32];   /* its PCI bus id as CUDA spells it */
  int cc_major, cc_minor;
  int sms;
  char cublas[64];    /* the library loaded: "libcublas.so.13" */
  int cublas_version; /* cublasGetVersion: 130001 = 13.0.1 */
  /* FP8: 1 when cuBLASLt loaded and the GPU has FP8 tensor cores; else
   * 0, with why in fp8_why. */
  int fp8;
  char fp8_why[256];
};

/* The comparison tally of the prepared type: every result checked so far
 * against the type's first result (iteration 0, the reference). */
struct kiln_gemm_check {
  uint64_t checks;  /* results compared */
  uint64_t count;   /* elements outside the tolerance, over all checks */
  uint64_t inexact; /* elements not bitwise equal but within tolerance */
  /* The first element outside the tolerance (when count > 0): its index
   * in the column-major n x n result (row = index % n, col = index / n),
   * the GEMM iteration it came from, and both values' bits (the type's
   * output encoding: double, float or bfloat16). */
  uint64_t index;
  uint64_t iteration;
  uint64_t expected_bits, actual_bits;
};

/* What kiln_gemm_prepare() timed after the reference: one GEMM and one
 * comparison of its result. */
struct kiln_gemm_prep {
  double gemm_ms, check_ms;
  uint64_t bytes; /* device memory the type took */
};

/* One batch as kiln_gemm_wait() found it done. */
struct kiln_gemm_batch {
  int gemms, checks;
  double gemm_ms;  /* GEMMs alone: the sum of each GEMM's own time */
  double total_ms; /* from the first GEMM's start to the last check's end */
  /* Each GEMM's time (valid until the next launch); every one is
   * gemm_ms / gemms when the batch checked nothing (it is timed whole). */
  const float *each_ms;
};

struct kiln_gemm;

/* Opens the GPU at bus_id ("0000:1b:00.0"; NULL: CUDA device 0), loads
 * cuBLAS and creates its handle. */
int kiln_gemm_open(const char *bus_id, struct kiln_gemm **out,
                   struct kiln_gemm_info *info, char *why, size_t n);
/* Sets up type (enum kiln_gemm_type) at size n x n: frees the previous
 * type's buffers, allocates A, B, the result and the reference, fills A
 * and B on the device with seeded values uniform in [-1, 1], computes the
 * reference (iteration 0), then one timed GEMM (iteration 1) and its timed
 * comparison. 1 for a type this GPU or cuBLAS cannot run (FP8). */
int kiln_gemm_prepare(struct kiln_gemm *h, int type, int size, uint64_t seed,
                      struct kiln_gemm_prep *prep, char *why, size_t n);
/* Queues iters (1..KILN_GEMM_MAX_BATCH) GEMMs of the prepared type and
 * returns; a result whose iteration is a multiple of every is compared
 * with the reference on the device right after it (every 0: nothing
 * checked, only the batch timed: plain cuBLAS). */
int kiln_gemm_launch(struct kiln_gemm *h, int iters, int every, char *why,
                     size_t n);
/* Waits up to timeout seconds for the queued batch: 0 when done (times in
 * *out), 2 while it still runs. */
int kiln_gemm_wait(struct kiln_gemm *h, double timeout,
                   struct kiln_gemm_batch *out, char *why, size_t n);
/* Compares the last result with the reference unless that was done, and
 * waits: so every type's final result is checked. */
int kiln_gemm_check_last(struct kiln_gemm *h, char *why, size_t n);
/* Reads the prepared type's tally (waits for queued work). */
int kiln_gemm_read_check(struct kiln_gemm *h, struct kiln_gemm_check *out,
                         char *why, size_t n);
/* gpu.sdc: the next result to be checked gets a high exponent bit of one
 * element flipped between its GEMM and its check; that element's row and
 * column. Needs a prepared type. */
void kiln_gemm_inject(struct kiln_gemm *h, uint64_t *row, uint64_t *col);
void kiln_gemm_close(struct kiln_gemm *h);

#ifdef __cplusplus
}
#endif

#endif
