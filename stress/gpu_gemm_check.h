/* gpu.gemm's host-testable logic: one definition of the result check
 * shared by the device comparison kernel (stress/gpu_gemm.cu) and the host
 * unit test, plus the module's parameter parsing, rate arithmetic and its
 * watch over NVML's clocks during load (stress/gpu_gemm_check.c).
 *
 * The check. A GEMM of the same inputs with the same cuBLAS algorithm on
 * the same GPU is bitwise reproducible, so every result is compared with
 * the type's first one (the reference) and equal bits pass at once. Bits
 * that differ pass only within a tolerance, per output type, on the value:
 *
 *     |actual - expected| <= abs + rel * |expected|
 *
 *   output    rel     abs     a mantissa bit flip of a value |x| >= 1
 *   double    1e-12   1e-12   passes in bits 0-12, fails from bit 14 up
 *   float     1e-6    1e-6    passes in bits 0-3, fails from bit 5 up
 *   bfloat16  2^-7    2^-7    passes in bit 0 (the last), fails from bit 2
 *
 * (FP64 outputs double; FP32 and TF32 float; BF16 and FP8 bfloat16.) Any
 * exponent or sign bit of a value of magnitude >= 1 fails (a GEMM of
 * n x n values uniform in [-1, 1] gives results of about sqrt(n / 9)); a
 * NaN or infinity that the reference does not hold bit for bit fails. The
 * tolerance absorbs a benign rounding difference, should cuBLAS ever not
 * reproduce a result exactly (counted apart, as inexact); silent data
 * corruption flips bits far above it. */
#ifndef KILN_GPU_GEMM_CHECK_H
#define KILN_GPU_GEMM_CHECK_H

#ifndef __cplusplus
#include <stdbool.h>
#endif
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "gpu_gemm.h"

#ifndef KILN_HD
#ifdef __CUDACC__
#define KILN_HD __host__ __device__
#else
#define KILN_HD
#endif
#endif

/* The result's encoding. */
enum gemm_out { GEMM_OUT_F64, GEMM_OUT_F32, GEMM_OUT_BF16 };

KILN_HD static inline int gemm_out_kind(int type) {
  switch (type) {
  case KILN_GEMM_FP64: return GEMM_OUT_F64;
  case KILN_GEMM_FP32:
  case KILN_GEMM_TF32: return GEMM_OUT_F32;
  default: return GEMM_OUT_BF16;
  }
}

/* Bytes of one result element. */
KILN_HD static inline int gemm_out_bytes(int type) {
  switch (gemm_out_kind(type)) {
  case GEMM_OUT_F64: return 8;
  case GEMM_OUT_F32: return 4;
  default: return 2;
  }
}

/* Bytes of one input element. */
KILN_HD static inline int gemm_in_bytes(int type) {
  switch (type) {
  case KILN_GEMM_FP64: return 8;
  case KILN_GEMM_FP32:
  case KILN_GEMM_TF32: return 4;
  case KILN_GEMM_BF16: return 2;
  default: return 1;
  }
}

KILN_HD static inline const char *gemm_type_name(int type) {
  switch (type) {
  case KILN_GEMM_FP64: return "fp64";
  case KILN_GEMM_FP32: return "fp32";
  case KILN_GEMM_TF32: return "tf32";
  case KILN_GEMM_BF16: return "bf16";
  case KILN_GEMM_FP8: return "fp8";
  default: return "unknown";
  }
}

struct gemm_tol {
  double rel, abs;
};

KILN_HD static inline struct gemm_tol gemm_tolerance(int type) {
  struct gemm_tol t;
  switch (gemm_out_kind(type)) {
  case GEMM_OUT_F64: t.rel = 1e-12, t.abs = 1e-12; break;
  case GEMM_OUT_F32: t.rel = 1e-6, t.abs = 1e-6; break;
  default: t.rel = 1.0 / 128, t.abs = 1.0 / 128; break;
  }
  return t;
}

/* An element's bits (low bytes of bits, in the type's output encoding) as
 * a double; exact for every encoding. */
KILN_HD static inline double gemm_value(int type, uint64_t bits) {
  switch (gemm_out_kind(type)) {
  case GEMM_OUT_F64: {
    double d;
    memcpy(&d, &bits, sizeof d);
    return d;
  }
  case GEMM_OUT_F32: {
    uint32_t u = (uint32_t)bits;
    float f;
    memcpy(&f, &u, sizeof f);
    return (double)f;
  }
  default: {
    uint32_t u = (uint32_t)(bits & 0xffffu) << 16; /* bfloat16: top half */
    float f;
    memcpy(&f, &u, sizeof f);
    return (double)f;
  }
  }
}

KILN_HD static inline bool gemm_close(double expected, double actual,
                                      struct gemm_tol t) {
  /* Written so that NaN on either side fails: every comparison with a
   * NaN is false. An infinite expected value would make the tolerance
   * infinite: it passes only when equal. */
  double d = actual - expected;
  double mag = expected < 0 ? -expected : expected;
  if (!(mag <= 1.7976931348623157e308)) /* infinite or NaN */
    return expected == actual;
  if (d < 0)
    d = -d;
  return d <= t.abs + t.rel * mag;
}

/* Whether an element (actual) passes against the reference's (expected). */
KILN_HD static inline bool gemm_bits_ok(int type, uint64_t expected,
                                        uint64_t actual) {
  if (expected == actual)
    return true;
  return gemm_close(gemm_value(type, expected), gemm_value(type, actual),
                    gemm_tolerance(type));
}

/* A bit that gpu.sdc flips: the exponent's second-highest bit, which
 * scales a result of magnitude about 1..1000 by 2^64 or more (or 2^512). */
KILN_HD static inline int gemm_sdc_bit(int type) {
  switch (gemm_out_kind(type)) {
  case GEMM_OUT_F64: return 61;
  case GEMM_OUT_F32: return 29;
  default: return 13;
  }
}

#ifdef __cplusplus
extern "C" {
#endif

#include "kiln/nvml.h" /* C linkage for nvcc too */

/* ---- parameters -------------------------------------------------------- */

/* "fp64,fp32,tf32,bf16,fp8" (any of them, any order, case and spaces
 * ignored) as a mask of 1 << KILN_GEMM_*; false with why on an unknown
 * or empty list. */
bool gemm_parse_types(const char *s, unsigned *mask, char *why, size_t n);
/* The matrix size: 256..32768, a multiple of 64 (vector loads, cuBLASLt's
 * FP8 alignment). */
bool gemm_check_size(long size, char *why, size_t n);
/* check_every: "auto" (0) or a count 1..1000000. */
bool gemm_parse_every(const char *s, long *every, char *why, size_t n);

/* ---- arithmetic -------------------------------------------------------- */

/* 2 n^3 floating-point operations in ms, as TFLOP/s (0 for ms <= 0). */
double gemm_tflops(int size, double ms);
/* check_every = auto: check every k-th result with k the smallest that
 * keeps the comparisons' time under budget (a share, 0.02) of the GEMMs'
 * time, 1..64; 1 when either time is unknown. */
long gemm_auto_every(double gemm_ms, double check_ms, double budget);
/* The median of v (sorted in place); 0 for none. */
double gemm_median(double *v, size_t n);
/* GEMMs to queue for about target_s of work, at most left_s, 1..max. */
int gemm_batch_size(double gemm_ms, double target_s, double left_s, int max);

/* The FAIL message of a miscompare: GPU, type, element (row, col),
 * expected, actual and iteration, and the totals. */
void gemm_miscompare_message(char *out, size_t n, const char *bus,
                             const char *gpu, int type, int size,
                             const struct kiln_gemm_check *c);

/* ---- clocks during load ------------------------------------------------ */

/* What the samples taken during load showed. Times are seconds since the
 * step's start; a phase is the KILN_GEMM_* type then running. Clock-event
 * reasons are decoded by the NVML layer's table (kiln/nvml.h); those of
 * the GPU protecting itself (KILN_NVML_CLOCKS_PROTECTING) fail only when
 * held for `reason_hold` seconds, never on one sample. */
struct gemm_watch {
  double share; /* SM clock under share * max is low */
  int hold;     /* consecutive low samples that make a drop */
  unsigned max_mhz;
  unsigned min_mhz; /* lowest SM clock sampled */
  size_t clock_samples, reason_samples;
  /* reasons */
  unsigned long long seen; /* every reason seen */
  unsigned count[KILN_NVML_CLOCK_REASONS];
  double first_at[KILN_NVML_CLOCK_REASONS];
  int first_phase[KILN_NVML_CLOCK_REASONS];
  struct kiln_nvml_hold held; /* the protecting reasons, held */
  int run_phase;              /* the phase its current run began in */
  int held_phase;             /* ... and its first held run */
  /* the current run of low samples */
  int low_run;
  double low_since;
  int low_phase;
  unsigned low_min;
  /* drops: runs of at least hold low samples; the first one's extent */
  int drops;
  bool in_first;
  double drop_from, drop_to;
  int drop_phase, drop_samples;
  unsigned drop_mhz;
};

/* share and hold: the SM clock drop's; reason_hold: seconds a protecting
 * reason must last to fail. */
void gemm_watch_init(struct gemm_watch *w, double share, int hold,
                     double reason_hold);
/* One sample's clock event reasons. Returns the protecting reasons seen
 * now for the first time (for a warning; the verdict waits for a hold). */
unsigned long long gemm_watch_reasons(struct gemm_watch *w, double t, int phase,
                                      unsigned long long mask);
/* One sample's SM clock, and the maximum (0: unknown, keep the last).
 * True when a drop has just held (hold low samples in a row). */
bool gemm_watch_clock(struct gemm_watch *w, double t, int phase, unsigned mhz,
                      unsigned max_mhz);
/* The first protecting run that held, and each protecting reason's
 * count: "HW slowdown held for 2.5 s from 12.5 s (fp64 GEMMs, 6 samples
 * in a row); 1 such episode; HW slowdown in 7 of 40 samples, first at
 * 12.5 s (fp64 GEMMs)"; "" when none held. Returns the reasons of the
 * first held run (0: none held, PASS). */
unsigned long long gemm_watch_fail_text(const struct gemm_watch *w, char *out,
                                        size_t n);
/* The protecting reasons seen that never held: "HW slowdown in 1 of 40
 * samples, first at 12.5 s (fp64 GEMMs)"; "" when none. Returns them. */
unsigned long long gemm_watch_brief_text(const struct gemm_watch *w, char *out,
                                         size_t n);
/* The first drop: "SM clock down to 700 MHz, under 50% of its 1980 MHz
 * maximum, for 3 samples from 4.0 s to 5.0 s (bf16 GEMMs); 2 drops in
 * all"; "" when none held. */
bool gemm_watch_drop_text(const struct gemm_watch *w, char *out, size_t n);

#ifdef __cplusplus
}
#endif

#endif
