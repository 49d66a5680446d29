/* What gpu.gemm's checking costs: the same BF16 GEMM (cuBLAS, n x n, on
 * CUDA device 0) in batches of plain cuBLAS GEMMs (nothing but the GEMMs
 * queued, the batch timed whole) and in batches through kiln's checking
 * path (each GEMM timed with its own events, every k-th result compared
 * with the reference on the device, k as gpu.gemm's check_every = auto
 * picks it), alternating, for SECONDS. The rate of a batch is 2 n^3 per
 * GEMM over the batch's whole time, comparisons included; the best batch
 * of each counts.
 *
 *   gpu_gemm_bench [SIZE [SECONDS]]     (8192, 10)
 *
 * Prints gemm_bf16_cublas_tflops, gemm_bf16_kiln_tflops and
 * gemm_bf16_ratio. Target: ratio >= 0.95 (checking costs at most 5%).
 * Exits 0 when met or skipped ("gpu.gemm: SKIP (reason)": no GPU, no
 * cuBLAS, built without CUDA), 1 when missed (or a result miscompared),
 * 2 when it could not run. */
#include <stdio.h>
#include <stdlib.h>

#include "../../stress/gpu_gemm.h"
#include "../../stress/gpu_gemm_check.h"
#include "kiln/gpu_enum.h"
#include "kiln/textutil.h"

#define TARGET 0.95

#if KILN_HAVE_CUDA

static int batch(struct kiln_gemm *h, int iters, int every,
                 struct kiln_gemm_batch *b, char *why, size_t n) {
  int rc = kiln_gemm_launch(h, iters, every, why, n);
  while (rc == 0 && (rc = kiln_gemm_wait(h, 1.0, b, why, n)) == 2)
    ;
  return rc;
}

static int run(int size, double seconds) {
  char why[512];
  struct kiln_gemm *h = NULL;
  struct kiln_gemm_info info;
  /* No GPU on the bus is a SKIP; a GPU CUDA cannot open is not. */
  if (!kiln_cuda_gpus_available(why, sizeof why)) {
    printf("gpu.gemm: SKIP (%s)\n", why);
    return 0;
  }
  int rc = kiln_gemm_open(NULL, &h, &info, why, sizeof why);
  if (rc) {
    fprintf(stderr, "gpu_gemm_bench: %s\n", why);
    return 2;
  }
  struct kiln_gemm_prep prep;
  struct kiln_gemm_batch b;
  if (kiln_gemm_prepare(h, KILN_GEMM_BF16, size, 1, &prep, why, sizeof why)) {
    fprintf(stderr, "gpu_gemm_bench: BF16 %d x %d: %s\n", size, size, why);
    kiln_gemm_close(h);
    return 2;
  }
  /* A second of plain GEMMs brings the clocks up and times one GEMM. */
  double est = prep.gemm_ms, t0 = kiln_monotonic_now();
  while (kiln_monotonic_now() - t0 < 1.0) {
    int iters = gemm_batch_size(est, 0.25, 1.0, KILN_GEMM_MAX_BATCH);
    if (batch(h, iters, 0, &b, why, sizeof why)) {
      fprintf(stderr, "gpu_gemm_bench: %s\n", why);
      kiln_gemm_close(h);
      return 2;
    }
    est = b.gemm_ms / b.gemms;
  }
  long every = gemm_auto_every(est, prep.check_ms, 0.02);
  int iters = gemm_batch_size(est, 0.25, 1e9, KILN_GEMM_MAX_BATCH);
  double best_plain = 0, best_kiln = 0;
  int rounds = 0;
  t0 = kiln_monotonic_now();
  while (rounds < 3 || kiln_monotonic_now() - t0 < seconds) {
    for (int checked = 0; checked < 2; checked++) {
      if (batch(h, iters, checked ? (int)every : 0, &b, why, sizeof why)) {
        fprintf(stderr, "gpu_gemm_bench: %s\n", why);
        kiln_gemm_close(h);
        return 2;
      }
      double r = gemm_tflops(size, b.total_ms / b.gemms);
      double *best = checked ? &best_kiln : &best_plain;
      if (r > *best)
        *best = r;
    }
    rounds++;
  }
  struct kiln_gemm_check c;
  rc = kiln_gemm_check_last(h, why, sizeof why);
  if (!rc)
    rc = kiln_gemm_read_check(h, &c, why, sizeof why);
  kiln_gemm_close(h);
  if (rc) {
    fprintf(stderr, "gpu_gemm_bench: %s\n", why);
    return 2;
  }
  double ratio = best_plain > 0 ? best_kiln / best_plain : 0;
  printf("gpu.gemm: GPU %s (%s), %s: BF16 %d x %d, %d GEMMs a batch, %d "
         "rounds; checking every %ld (comparison %.3f ms, GEMM %.3f ms); "
         "%llu results checked\n",
         info.bus, info.name, info.cublas, size, size, iters, rounds, every,
         prep.check_ms, est, (unsigned long long)c.checks);
  printf("gemm_bf16_cublas_tflops %.1f\n", best_plain);
  printf("gemm_bf16_kiln_tflops %.1f\n", best_kiln);
  printf("gemm_bf16_ratio %.3f\n", ratio);
  if (c.count) {
    printf("gpu.gemm: FAIL (%llu result elements miscompared)\n",
           (unsigned long long)c.count);
    return 1;
  }
  bool met = ratio >= TARGET;
  printf("gpu.gemm: %s (ratio %.3f, target >= %.2f)\n", met ? "PASS" : "FAIL",
         ratio, TARGET);
  return met ? 0 : 1;
}

#endif

int main(int argc, char **argv) {
  int size = argc > 1 ? atoi(argv[1]) : 8192;
  double seconds = argc > 2 ? strtod(argv[2], NULL) : 10;
  char why[256] = "";
  if (argc > 3 || !gemm_check_size(size, why, sizeof why) || !(seconds > 0)) {
    fprintf(stderr, "usage: gpu_gemm_bench [SIZE [SECONDS]]%s%s\n",
            why[0] ? ": " : "", why);
    return 2;
  }
#if KILN_HAVE_CUDA
  return run(size, seconds);
#else
  printf("gpu.gemm: SKIP (built without CUDA)\n");
  return 0;
#endif
}
