/* gpu.gemm's host logic (stress/gpu_gemm_check.h, the same check the device
 * kernel runs): equal results pass, NaN and infinities the reference does
 * not hold fail, every high mantissa, exponent and sign bit flip fails and
 * the last bits pass as documented; gpu.sdc's flip is caught; parameters
 * are validated; the clock watch fails the right reasons and only drops
 * that hold; without CUDA the module SKIPs with its reason, after
 * rejecting bad parameters as an ERROR.
 *
 * And the module's CUDA-side flow on the host: stress/gpu_gemm.c is built
 * here as with CUDA, over a fake of the kiln_gemm_* API (include/kiln/
 * gpu_gemm.h) whose GEMMs take simulated time, with the fake NVML
 * (tests/fixtures/nvml): every type measured at its rate, gpu.sdc a FAIL
 * naming GPU, type and element, FP8 noted where missing, a missing cuBLAS
 * a SKIP, HW slowdown and a held SM clock drop FAILs, SW power cap not. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "../../stress/gpu_gemm_check.h"
#include "config/profile.h"
#include "core/wire.h"
#include "fake_nvml.h"
#include "harness.h"
#include "kiln/module.h"
#include "kiln/nvml.h"
#include "kiln/result.h"
#include "kiln/textutil.h"
#include "run/runner.h"

/* ---- encodings ---------------------------------------------------------- */

static uint64_t f64_bits(double d) {
  uint64_t u;
  memcpy(&u, &d, sizeof u);
  return u;
}

static uint64_t f32_bits(float f) {
  uint32_t u;
  memcpy(&u, &f, sizeof u);
  return u;
}

/* bfloat16 by truncation (exact for the values used). */
static uint64_t bf16_bits(float f) { return f32_bits(f) >> 16; }

/* The bits of v in type's output encoding. */
static uint64_t bits_of(int type, double v) {
  switch (gemm_out_kind(type)) {
  case GEMM_OUT_F64: return f64_bits(v);
  case GEMM_OUT_F32: return f32_bits((float)v);
  default: return bf16_bits((float)v);
  }
}

static uint64_t lcg_state = 0x2545f4914f6cdd1dULL;
static uint64_t lcg(void) {
  lcg_state = lcg_state * 6364136223846793005ULL + 1442695040888963407ULL;
  return lcg_state >> 11;
}

/* A value of magnitude in [1, 1024), either sign, representable in type. */
static uint64_t random_value(int type) {
  double m = 1.0 + (double)(lcg() % 1000000) / 1e6; /* [1, 2) */
  int e = (int)(lcg() % 10);
  double v = ldexp(m, e) * ((lcg() & 1) ? -1 : 1);
  return bits_of(type, v);
}

static void encodings(void **state) {
  (void)state;
  assert_int_equal(gemm_out_bytes(KILN_GEMM_FP64), 8);
  assert_int_equal(gemm_out_bytes(KILN_GEMM_FP32), 4);
  assert_int_equal(gemm_out_bytes(KILN_GEMM_TF32), 4);
  assert_int_equal(gemm_out_bytes(KILN_GEMM_BF16), 2);
  assert_int_equal(gemm_out_bytes(KILN_GEMM_FP8), 2);
  assert_int_equal(gemm_in_bytes(KILN_GEMM_FP64), 8);
  assert_int_equal(gemm_in_bytes(KILN_GEMM_TF32), 4);
  assert_int_equal(gemm_in_bytes(KILN_GEMM_BF16), 2);
  assert_int_equal(gemm_in_bytes(KILN_GEMM_FP8), 1);
  assert_string_equal(gemm_type_name(KILN_GEMM_FP64), "fp64");
  assert_string_equal(gemm_type_name(KILN_GEMM_TF32), "tf32");
  assert_string_equal(gemm_type_name(KILN_GEMM_FP8), "fp8");
  assert_string_equal(gemm_type_name(99), "unknown");
  assert_true(gemm_value(KILN_GEMM_BF16, 0x3f80) == 1.0);
  assert_true(gemm_value(KILN_GEMM_BF16, 0xc000) == -2.0);
  assert_true(gemm_value(KILN_GEMM_FP8, 0x4040) == 3.0);
  assert_true(gemm_value(KILN_GEMM_FP32, 0x40490fdbULL) == (double)3.14159274f);
  assert_true(gemm_value(KILN_GEMM_TF32, 0xbf000000ULL) == -0.5);
  assert_true(gemm_value(KILN_GEMM_FP64, f64_bits(0.1)) == 0.1);
  /* Only the low bytes count. */
  assert_true(gemm_value(KILN_GEMM_BF16, 0xffff3f80ULL) == 1.0);
}

/* ---- the check ---------------------------------------------------------- */

static void equal_bits_pass(void **state) {
  (void)state;
  for (int t = 0; t < KILN_GEMM_NTYPES; t++) {
    for (int i = 0; i < 1000; i++) {
      uint64_t v = random_value(t);
      assert_true(gemm_bits_ok(t, v, v));
    }
    /* Identical bits pass whatever they hold, a NaN included. */
    uint64_t nan = bits_of(t, NAN), inf = bits_of(t, INFINITY);
    assert_true(gemm_bits_ok(t, nan, nan));
    assert_true(gemm_bits_ok(t, inf, inf));
    /* -0 and +0 are the same number. */
    assert_true(gemm_bits_ok(t, bits_of(t, 0.0), bits_of(t, -0.0)));
  }
}

static void nan_and_infinity_fail(void **state) {
  (void)state;
  for (int t = 0; t < KILN_GEMM_NTYPES; t++) {
    uint64_t x = bits_of(t, 29.5), nan = bits_of(t, NAN);
    uint64_t inf = bits_of(t, INFINITY), ninf = bits_of(t, -INFINITY);
    assert_false(gemm_bits_ok(t, x, nan));
    assert_false(gemm_bits_ok(t, nan, x));
    assert_false(gemm_bits_ok(t, x, inf));
    assert_false(gemm_bits_ok(t, inf, x));
    assert_false(gemm_bits_ok(t, inf, ninf));
    assert_false(gemm_bits_ok(t, nan, inf));
    /* A NaN with another payload is not the reference's NaN. */
    assert_false(gemm_bits_ok(t, nan, nan ^ 1));
    assert_false(gemm_bits_ok(t, bits_of(t, 0.0), nan));
  }
}

/* The documented bounds: for |x| >= 1 a flip of mantissa bit <= pass_max
 * passes, of any bit >= fail_min (mantissa, exponent, sign) fails. */
static void check_flips(int type, int pass_max, int fail_min) {
  int bits = 8 * gemm_out_bytes(type);
  for (int i = 0; i < 2000; i++) {
    uint64_t v = random_value(type);
    for (int b = 0; b < bits; b++) {
      uint64_t f = v ^ (1ULL << b);
      bool ok = gemm_bits_ok(type, v, f);
      if (b <= pass_max && !ok)
        fail_msg("%s: flip of bit %d of %.17g fails, expected within "
                 "tolerance",
                 gemm_type_name(type), b, gemm_value(type, v));
      if (b >= fail_min && ok)
        fail_msg("%s: flip of bit %d of %.17g (to %.17g) passes",
                 gemm_type_name(type), b, gemm_value(type, v),
                 gemm_value(type, f));
    }
  }
}

static void bit_flips(void **state) {
  (void)state;
  check_flips(KILN_GEMM_FP64, 12, 14);
  check_flips(KILN_GEMM_FP32, 3, 5);
  check_flips(KILN_GEMM_TF32, 3, 5);
  check_flips(KILN_GEMM_BF16, 0, 2);
  check_flips(KILN_GEMM_FP8, 0, 2);
}

static void rounding_differences_pass(void **state) {
  (void)state;
  for (int i = 0; i < 1000; i++) {
    /* Neighbours within a binade: bits +- k ulps (the mantissa of
     * random_value is never all ones or zero plus k). */
    uint64_t d = random_value(KILN_GEMM_FP64);
    assert_true(gemm_bits_ok(KILN_GEMM_FP64, d, d + 1000));
    uint64_t f = random_value(KILN_GEMM_FP32);
    assert_true(gemm_bits_ok(KILN_GEMM_FP32, f, f + 3));
    assert_true(gemm_bits_ok(KILN_GEMM_FP32, f, f - 3));
    uint64_t h = random_value(KILN_GEMM_BF16);
    if ((h & 0x7f) != 0x7f)
      assert_true(gemm_bits_ok(KILN_GEMM_BF16, h, h + 1));
    if ((h & 0x7f) != 0)
      assert_true(gemm_bits_ok(KILN_GEMM_BF16, h, h - 1));
  }
  /* ...and a real difference does not: 1% off in BF16, 1e-5 in FP32. */
  assert_false(gemm_bits_ok(KILN_GEMM_BF16, bits_of(KILN_GEMM_BF16, 100),
                            bits_of(KILN_GEMM_BF16, 102)));
  assert_false(gemm_bits_ok(KILN_GEMM_FP32, bits_of(KILN_GEMM_FP32, 100),
                            bits_of(KILN_GEMM_FP32, 100.001)));
  assert_false(gemm_bits_ok(KILN_GEMM_FP64, bits_of(KILN_GEMM_FP64, 100),
                            bits_of(KILN_GEMM_FP64, 100 + 1e-9)));
  /* The tolerance on values directly. */
  struct gemm_tol t = gemm_tolerance(KILN_GEMM_FP32);
  assert_true(gemm_close(1000.0, 1000.0 + 1e-3, t));
  assert_false(gemm_close(1000.0, 1000.0 + 3e-3, t));
  assert_true(gemm_close(0.0, 5e-7, t));
  assert_false(gemm_close(0.0, 5e-6, t));
  assert_false(gemm_close(INFINITY, 1.0, t));
  assert_false(gemm_close(1.0, INFINITY, t));
  assert_false(gemm_close(-INFINITY, INFINITY, t));
  assert_true(gemm_close(INFINITY, INFINITY, t));
  assert_false(gemm_close(NAN, NAN, t));
}

static void sdc_flip_is_caught(void **state) {
  (void)state;
  /* gpu.sdc's bit on results as a GEMM of uniform [-1, 1] gives them. */
  static const double values[] = {30.25, -17.5, 1.0, -1.0, 0.75, 250.0};
  for (int t = 0; t < KILN_GEMM_NTYPES; t++)
    for (size_t i = 0; i < sizeof values / sizeof *values; i++) {
      uint64_t v = bits_of(t, values[i]);
      uint64_t bad = v ^ (1ULL << gemm_sdc_bit(t));
      assert_false(gemm_bits_ok(t, v, bad));
      double got = fabs(gemm_value(t, bad)), want = fabs(values[i]);
      assert_true(got > want * 1e18 || got < want * 1e-18 || isinf(got));
    }
}

/* ---- parameters --------------------------------------------------------- */

static void types_parse(void **state) {
  (void)state;
  unsigned m = 0;
  char why[256];
  assert_true(gemm_parse_types("fp64,fp32,tf32,bf16,fp8", &m, why, sizeof why));
  assert_int_equal(m, 0x1f);
  assert_true(gemm_parse_types(" BF16 , fp8", &m, why, sizeof why));
  assert_int_equal(m, (1u << KILN_GEMM_BF16) | (1u << KILN_GEMM_FP8));
  assert_true(gemm_parse_types("fp64,fp64", &m, why, sizeof why));
  assert_int_equal(m, 1u << KILN_GEMM_FP64);
  assert_false(gemm_parse_types("fp64,fp16", &m, why, sizeof why));
  assert_non_null(strstr(why, "unknown GEMM type 'fp16'"));
  assert_false(gemm_parse_types("fp", &m, why, sizeof why));
  assert_false(gemm_parse_types("fp644", &m, why, sizeof why));
  assert_false(gemm_parse_types("", &m, why, sizeof why));
  assert_non_null(strstr(why, "no GEMM type"));
  assert_false(gemm_parse_types(" , ,", &m, why, sizeof why));
  assert_false(gemm_parse_types(NULL, &m, why, sizeof why));
}

static void size_and_every(void **state) {
  (void)state;
  char why[256];
  assert_true(gemm_check_size(8192, why, sizeof why));
  assert_true(gemm_check_size(256, why, sizeof why));
  assert_true(gemm_check_size(32768, why, sizeof why));
  assert_false(gemm_check_size(100, why, sizeof why));
  assert_non_null(strstr(why, "size 100"));
  assert_false(gemm_check_size(8200, why, sizeof why));
  assert_false(gemm_check_size(65536, why, sizeof why));
  assert_false(gemm_check_size(0, why, sizeof why));
  assert_false(gemm_check_size(-8192, why, sizeof why));
  long e = -1;
  assert_true(gemm_parse_every("auto", &e, why, sizeof why));
  assert_int_equal(e, 0);
  assert_true(gemm_parse_every("AUTO", &e, why, sizeof why));
  assert_int_equal(e, 0);
  assert_true(gemm_parse_every("4", &e, why, sizeof why));
  assert_int_equal(e, 4);
  assert_true(gemm_parse_every("1", &e, why, sizeof why));
  assert_int_equal(e, 1);
  static const char *const bad[] = {"0", "-1", "x", "4x", "", "1000001"};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    assert_false(gemm_parse_every(bad[i], &e, why, sizeof why));
    assert_non_null(strstr(why, "check_every"));
  }
  assert_false(gemm_parse_every(NULL, &e, why, sizeof why));
}

/* ---- arithmetic --------------------------------------------------------- */

static void rates(void **state) {
  (void)state;
  /* 2 * 8192^3 operations in 1 ms. */
  assert_float_equal(gemm_tflops(8192, 1.0), 1099.511627776, 1e-9);
  assert_float_equal(gemm_tflops(256, 0.001), 33.554432, 1e-9);
  assert_float_equal(gemm_tflops(8192, 0), 0, 0);
  /* check_every = auto: a 0.09 ms comparison beside a 1.5 ms GEMM at 2%
   * is every 3rd result; one beside a long FP64 GEMM every one. */
  assert_int_equal(gemm_auto_every(1.5, 0.09, 0.02), 3);
  assert_int_equal(gemm_auto_every(1.5, 0.03, 0.02), 1);
  assert_int_equal(gemm_auto_every(1.5, 0.031, 0.02), 2);
  assert_int_equal(gemm_auto_every(20, 0.3, 0.02), 1);
  assert_int_equal(gemm_auto_every(0.01, 10, 0.02), 64);
  assert_int_equal(gemm_auto_every(0, 0.1, 0.02), 1);
  assert_int_equal(gemm_auto_every(1, 0, 0.02), 1);
  assert_int_equal(gemm_auto_every(NAN, 0.1, 0.02), 1);
  double v[] = {5, 1, 4, 2, 3};
  assert_float_equal(gemm_median(v, 5), 3, 0);
  assert_float_equal(v[0], 1, 0); /* sorted */
  assert_float_equal(v[4], 5, 0);
  double w[] = {4, 1, 3, 2};
  assert_float_equal(gemm_median(w, 4), 2.5, 0);
  assert_float_equal(gemm_median(NULL, 0), 0, 0);
  assert_int_equal(gemm_batch_size(1.5, 0.25, 100, 256), 166);
  assert_int_equal(gemm_batch_size(0.5, 0.25, 100, 256), 256);
  assert_int_equal(gemm_batch_size(1.5, 0.25, 0.003, 256), 2);
  assert_int_equal(gemm_batch_size(1.5, 0.25, 0, 256), 1);
  assert_int_equal(gemm_batch_size(1.5, 0.25, -3, 256), 1);
  assert_int_equal(gemm_batch_size(900, 0.25, 100, 256), 1);
  assert_int_equal(gemm_batch_size(0, 0.25, 100, 256), 1);
}

static void miscompare_message(void **state) {
  (void)state;
  struct kiln_gemm_check c = {
      .checks = 9,
      .count = 3,
      .index = 7ULL * 8192 + 5,
      .iteration = 12,
      .expected_bits = 0x41f2, /* 30.25 */
      .actual_bits = 0x61f2,
  };
  char msg[512];
  gemm_miscompare_message(msg, sizeof msg, "0000:1b:00.0", "NVIDIA H100",
                          KILN_GEMM_BF16, 8192, &c);
  assert_non_null(strstr(msg, "GPU 0000:1b:00.0 (NVIDIA H100)"));
  assert_non_null(strstr(msg, "bf16 GEMM 8192 x 8192, iteration 12"));
  assert_non_null(strstr(msg, "element (row 5, col 7)"));
  assert_non_null(strstr(msg, "expected 30.25 (0x41f2)"));
  assert_non_null(strstr(msg, "(0x61f2)"));
  assert_non_null(strstr(msg, "3 mismatched elements over 9 checked results"));
  c.count = 1;
  c.checks = 1;
  c.index = 0;
  c.expected_bits = f64_bits(-1.5);
  c.actual_bits = f64_bits(-1.5) ^ (1ULL << 61);
  gemm_miscompare_message(msg, sizeof msg, "0000:01:00.0", "X", KILN_GEMM_FP64,
                          256, &c);
  assert_non_null(strstr(msg, "fp64 GEMM 256 x 256"));
  assert_non_null(strstr(msg, "(row 0, col 0)"));
  assert_non_null(strstr(msg, "expected -1.5 (0xbff8000000000000)"));
  assert_non_null(strstr(msg, "1 mismatched element over 1 checked result"));
  /* A short buffer is cut, still terminated. */
  char small[16];
  gemm_miscompare_message(small, sizeof small, "0000:01:00.0", "X",
                          KILN_GEMM_FP64, 256, &c);
  assert_int_equal(strlen(small), 15);
}

/* ---- clocks ------------------------------------------------------------- */

/* Protecting reasons fail only when held: a one-sample blip and a reason
 * that comes and goes pass (logged); one held for the hold fails. */
static void watch_reasons(void **state) {
  (void)state;
  struct gemm_watch w;
  char text[512];
  const unsigned long long cap = KILN_NVML_CLOCKS_SW_POWER_CAP;
  const unsigned long long slow = KILN_NVML_CLOCKS_HW_SLOWDOWN;
  const unsigned long long hot = KILN_NVML_CLOCKS_HW_THERMAL;
  const unsigned long long brake = KILN_NVML_CLOCKS_HW_POWER_BRAKE;
  gemm_watch_init(&w, 0.5, 2, 2.0);
  assert_true(gemm_watch_reasons(&w, 0.5, KILN_GEMM_FP64, cap) == 0);
  /* One sample of HW slowdown: warned of, not failed. */
  assert_true(gemm_watch_reasons(&w, 1.0, KILN_GEMM_FP64, slow | cap) == slow);
  assert_true(gemm_watch_reasons(&w, 1.5, KILN_GEMM_FP64, cap) == 0);
  assert_true(gemm_watch_fail_text(&w, text, sizeof text) == 0);
  assert_string_equal(text, "");
  assert_true(gemm_watch_brief_text(&w, text, sizeof text) == slow);
  assert_string_equal(text, "HW slowdown in 1 of 3 samples, first at 1.0 s "
                            "(fp64 GEMMs)");
  /* HW thermal every other sample for 2.5 s: never held. */
  for (int i = 0; i <= 5; i++)
    gemm_watch_reasons(&w, 2.0 + 0.5 * i, KILN_GEMM_FP32, i % 2 ? cap : hot);
  assert_true(gemm_watch_fail_text(&w, text, sizeof text) == 0);
  assert_true(gemm_watch_brief_text(&w, text, sizeof text) == (slow | hot));
  /* HW thermal from 6.0 s to 8.0 s, over a change of type: held. */
  assert_true(gemm_watch_reasons(&w, 6.0, KILN_GEMM_BF16, hot | cap) == 0);
  for (int i = 1; i <= 3; i++)
    gemm_watch_reasons(&w, 6.0 + 0.5 * i, KILN_GEMM_BF16, hot);
  assert_true(gemm_watch_fail_text(&w, text, sizeof text) == 0);
  gemm_watch_reasons(&w, 8.0, KILN_GEMM_FP8, hot | brake);
  assert_true(gemm_watch_fail_text(&w, text, sizeof text) == (hot | brake));
  assert_non_null(strstr(text, "HW thermal slowdown, HW power brake slowdown "
                               "held for 2.0 s from 6.0 s (bf16 GEMMs, 5 "
                               "samples in a row; allowed: under 2.0 s); 1 "
                               "such episode; "));
  assert_non_null(strstr(text, "HW slowdown in 1 of 14 samples, first at "
                               "1.0 s (fp64 GEMMs)"));
  assert_non_null(strstr(text, "HW thermal slowdown in 8 of 14 samples, "
                               "first at 2.0 s (fp32 GEMMs)"));
  assert_true(gemm_watch_brief_text(&w, text, sizeof text) == 0);
  assert_string_equal(text, "");
  /* A second held run is counted; the first stays the one described. */
  gemm_watch_reasons(&w, 9.0, KILN_GEMM_FP8, cap);
  for (int i = 0; i <= 4; i++)
    gemm_watch_reasons(&w, 10.0 + 0.5 * i, KILN_GEMM_FP8, slow);
  gemm_watch_fail_text(&w, text, sizeof text);
  assert_non_null(strstr(text, "from 6.0 s (bf16 GEMMs"));
  assert_non_null(strstr(text, "; 2 such episodes"));
  assert_true(w.seen == (cap | slow | hot | brake));
  assert_int_equal(w.reason_samples, 20);
  /* Hold 0: one sample is enough. */
  gemm_watch_init(&w, 0.5, 2, 0);
  gemm_watch_reasons(&w, 1.0, KILN_GEMM_FP64, slow);
  assert_true(gemm_watch_fail_text(&w, text, sizeof text) == slow);
}

static void watch_clock_drops(void **state) {
  (void)state;
  struct gemm_watch w;
  char text[512];
  gemm_watch_init(&w, 0.5, 2, 2.0);
  /* One low sample between good ones is no drop; at the line is not low. */
  assert_false(gemm_watch_clock(&w, 0.5, KILN_GEMM_FP64, 1900, 2000));
  assert_false(gemm_watch_clock(&w, 1.0, KILN_GEMM_FP64, 900, 0));
  assert_false(gemm_watch_clock(&w, 1.5, KILN_GEMM_FP64, 1000, 0));
  assert_false(gemm_watch_clock(&w, 2.0, KILN_GEMM_FP64, 950, 0));
  assert_false(gemm_watch_clock(&w, 2.5, KILN_GEMM_FP32, 1800, 0));
  assert_int_equal(w.drops, 0);
  assert_false(gemm_watch_drop_text(&w, text, sizeof text));
  assert_string_equal(text, "");
  /* Two in a row hold; the drop then runs on. */
  assert_false(gemm_watch_clock(&w, 3.0, KILN_GEMM_BF16, 900, 0));
  assert_true(gemm_watch_clock(&w, 3.5, KILN_GEMM_BF16, 950, 0));
  assert_false(gemm_watch_clock(&w, 4.0, KILN_GEMM_BF16, 800, 0));
  assert_false(gemm_watch_clock(&w, 4.5, KILN_GEMM_BF16, 1900, 0));
  /* A second drop is counted; the first one stays the one described. */
  assert_false(gemm_watch_clock(&w, 5.0, KILN_GEMM_FP8, 700, 0));
  assert_true(gemm_watch_clock(&w, 5.5, KILN_GEMM_FP8, 600, 0));
  assert_false(gemm_watch_clock(&w, 6.0, KILN_GEMM_FP8, 650, 0));
  assert_int_equal(w.drops, 2);
  assert_int_equal(w.min_mhz, 600);
  assert_int_equal(w.clock_samples, 12);
  assert_true(gemm_watch_drop_text(&w, text, sizeof text));
  assert_string_equal(text, "SM clock down to 800 MHz, under 50% of its 2000 "
                            "MHz maximum, for 3 samples in a row from 3.0 s "
                            "to 4.0 s (bf16 GEMMs); 2 drops in all");
}

static void watch_without_maximum(void **state) {
  (void)state;
  struct gemm_watch w;
  char text[256];
  gemm_watch_init(&w, 0.9, 0, 2.0); /* hold 0 is taken as 1 */
  assert_int_equal(w.hold, 1);
  for (int i = 0; i < 10; i++)
    assert_false(gemm_watch_clock(&w, i, KILN_GEMM_FP64, 100 + i, 0));
  assert_int_equal(w.drops, 0);
  assert_int_equal(w.min_mhz, 100);
  assert_false(gemm_watch_drop_text(&w, text, sizeof text));
  /* Once the maximum is known, hold 1 makes any low sample a drop. */
  assert_true(gemm_watch_clock(&w, 11, KILN_GEMM_FP32, 1000, 2000));
  assert_true(gemm_watch_drop_text(&w, text, sizeof text));
  assert_non_null(strstr(text, "down to 1000 MHz, under 90% of its 2000"));
  assert_non_null(strstr(text, "for 1 samples in a row from 11.0 s"));
}

/* ---- the module without CUDA -------------------------------------------- */

static const char *end_message(const struct captured *c) {
  for (size_t i = c->n; i-- > 0;)
    if (c->events[i].type == KILN_WIRE_END)
      return c->events[i].message ? c->events[i].message : "";
  return "";
}

/* Planned only for a GPU on the bus: a build without CUDA is an ERROR. */
static void module_errors_without_cuda(void **state) {
  (void)state;
  const struct kiln_module *m = kiln_module_find("gpu.gemm");
  assert_non_null(m);
  assert_true(m->targets == KILN_TARGETS_GPU && m->stress);
  assert_non_null(kiln_module_measurement(m, "tflops_bf16"));
  assert_non_null(kiln_module_measurement(m, "tflops_fp8"));
  assert_non_null(kiln_module_measurement(m, "errors"));
  assert_non_null(kiln_module_measurement(m, "sm_clock_min_mhz"));
  assert_string_equal(m->faults[0], "gpu.sdc");
  struct captured c;
  static const char *const inject[] = {"gpu.sdc", NULL};
  harness_run_module("gpu.gemm", 0.1, NULL, inject, &c);
  assert_int_equal(harness_end_verdict(&c), KILN_ERROR);
  assert_non_null(strstr(end_message(&c), "built without CUDA"));
  harness_free(&c);
}

static void bad_parameters_are_errors(void **state) {
  (void)state;
  static const char *const bad[][3] = {
      {"types", "fp64,fp16", "unknown GEMM type 'fp16'"},
      {"size", "1000", "size 1000"},
      {"check_every", "0", "check_every"},
      {"clock_share", "150%", "clock_share"},
      {"seed", "x", "seed"},
      {"hold", "soon", "hold"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    const char *params[] = {bad[i][0], bad[i][1], NULL};
    struct captured c;
    harness_run_module("gpu.gemm", 0.1, params, NULL, &c);
    assert_int_equal(harness_end_verdict(&c), KILN_ERROR);
    if (!strstr(end_message(&c), bad[i][2]))
      fail_msg("%s = %s: reason '%s'", bad[i][0], bad[i][1], end_message(&c));
    harness_free(&c);
  }
  /* Good ones get as far as the missing CUDA. */
  static const char *const good[] = {"types",       " BF16,fp8 ",  "size",
                                     "256",         "check_every", "AUTO",
                                     "clock_share", "0.7",         NULL};
  struct captured c;
  harness_run_module("gpu.gemm", 0.1, good, NULL, &c);
  assert_int_equal(harness_end_verdict(&c), KILN_ERROR);
  assert_non_null(strstr(end_message(&c), "built without CUDA"));
  harness_free(&c);
}

/* ---- the module over a fake GPU ----------------------------------------- */

/* gpu_gemm.c as a CUDA build compiles it, under another name (the real,
 * CUDA=0 module is in the library). */
#undef KILN_HAVE_CUDA
#define KILN_HAVE_CUDA 1
#define kiln_module_gpu_gemm fake_module_gpu_gemm
#include "../../stress/gpu_gemm.c"
#undef kiln_module_gpu_gemm

#define BUS "0000:1b:00.0"

static struct fake_nvml fake_driver;

/* What the fake kiln_gemm_* API does, and what it saw. */
static struct {
  int open_rc;      /* kiln_gemm_open fails: 1 no cuBLAS, -1 cublasCreate */
  int fp8;          /* the GPU has FP8 */
  int fp8_refused;  /* kiln_gemm_prepare(FP8) answers 1 */
  int prepared[16]; /* types prepared, in order */
  int nprepared;
  long every[16]; /* the last check interval launched, per preparation */
  uint64_t injected;
  char open_bus[32];
} fk;

/* Simulated milliseconds per GEMM, per type, and per comparison. */
static const double fake_ms[KILN_GEMM_NTYPES] = {4, 2, 1, 0.5, 0.25};
#define FAKE_CHECK_MS 0.05

struct kiln_gemm {
  int type, n;
  bool prepared, last_checked, inject;
  uint64_t iteration, inject_index;
  struct kiln_gemm_check tally;
  /* the queued batch */
  bool pending, each;
  int gemms, checks;
  double done_at; /* monotonic */
  float each_ms[KILN_GEMM_MAX_BATCH];
};

/* The "result" at index: the same every GEMM. */
static uint64_t fake_element(int type, uint64_t index) {
  return bits_of(type, 1.0 + (double)(index % 97));
}

/* One comparison: only an injected element can differ. */
static void fake_compare(struct kiln_gemm *h) {
  h->tally.checks++;
  if (!h->inject)
    return;
  h->inject = false;
  uint64_t want = fake_element(h->type, h->inject_index);
  uint64_t got = want ^ (1ULL << gemm_sdc_bit(h->type));
  if (gemm_bits_ok(h->type, want, got))
    return;
  if (h->tally.count++ == 0) {
    h->tally.index = h->inject_index;
    h->tally.iteration = h->iteration;
    h->tally.expected_bits = want;
    h->tally.actual_bits = got;
  }
}

int kiln_gemm_open(const char *bus_id, struct kiln_gemm **out,
                   struct kiln_gemm_info *info, char *why, size_t n) {
  *out = NULL;
  memset(info, 0, sizeof *info);
  snprintf(fk.open_bus, sizeof fk.open_bus, "%s", bus_id ? bus_id : "");
  if (fk.open_rc) {
    snprintf(why, n, "%s",
             fk.open_rc == 1
                 ? "cuBLAS not available: libcublas.so.13: cannot open "
                   "shared object file: No such file or directory"
                 : "cublasCreate: the resource allocation failed");
    return -1; /* kiln_gemm_open: a missing cuBLAS is an error too */
  }
  snprintf(info->name, sizeof info->name, "Fake GPU");
  snprintf(info->bus, sizeof info->bus, "%s", bus_id);
  info->cc_major = 9;
  info->sms = 132;
  snprintf(info->cublas, sizeof info->cublas, "libcublas.so.13");
  info->cublas_version = 130001;
  info->fp8 = fk.fp8;
  if (!fk.fp8)
    snprintf(info->fp8_why, sizeof info->fp8_why, "no FP8 on the fake");
  *out = kiln_xcalloc(1, sizeof **out);
  return 0;
}

int kiln_gemm_prepare(struct kiln_gemm *h, int type, int size, uint64_t seed,
                      struct kiln_gemm_prep *prep, char *why, size_t n) {
  memset(h, 0, sizeof *h);
  memset(prep, 0, sizeof *prep);
  assert_true(type >= 0 && type < KILN_GEMM_NTYPES);
  assert_true(fk.nprepared < 16);
  fk.prepared[fk.nprepared++] = type;
  if (type == KILN_GEMM_FP8 && (!fk.fp8 || fk.fp8_refused)) {
    snprintf(why, n, "cublasLtMatmulAlgoGetHeuristic: not supported");
    return 1;
  }
  h->type = type;
  h->n = size;
  h->prepared = true;
  h->iteration = 1;
  h->tally.checks = 1;
  h->last_checked = true;
  prep->gemm_ms = fake_ms[type];
  prep->check_ms = FAKE_CHECK_MS;
  prep->bytes = 4ULL * size * size * (uint64_t)gemm_out_bytes(type);
  return 0;
}

int kiln_gemm_launch(struct kiln_gemm *h, int iters, int every, char *why,
                     size_t n) {
  assert_true(h->prepared && !h->pending);
  assert_true(iters >= 1 && iters <= KILN_GEMM_MAX_BATCH && every >= 0);
  fk.every[fk.nprepared - 1] = every;
  h->each = every > 0;
  h->gemms = iters;
  h->checks = 0;
  for (int i = 0; i < iters; i++) {
    h->iteration++;
    h->each_ms[i] = (float)fake_ms[h->type];
    h->last_checked = h->each && h->iteration % (uint64_t)every == 0;
    if (h->last_checked) {
      fake_compare(h);
      h->checks++;
    }
  }
  h->pending = true;
  h->done_at = kiln_monotonic_now() +
               (iters * fake_ms[h->type] + h->checks * FAKE_CHECK_MS) / 1e3;
  return 0;
}

int kiln_gemm_wait(struct kiln_gemm *h, double timeout,
                   struct kiln_gemm_batch *out, char *why, size_t n) {
  memset(out, 0, sizeof *out);
  assert_true(h->pending);
  double left = h->done_at - kiln_monotonic_now();
  if (left > 0) {
    double t = left < timeout ? left : timeout;
    struct timespec ts = {(time_t)t, (long)((t - (double)(time_t)t) * 1e9)};
    nanosleep(&ts, NULL);
    if (left > timeout)
      return 2;
  }
  h->pending = false;
  out->gemms = h->gemms;
  out->checks = h->checks;
  out->gemm_ms = h->gemms * fake_ms[h->type];
  out->total_ms = out->gemm_ms + h->checks * FAKE_CHECK_MS;
  out->each_ms = h->each_ms;
  return 0;
}

int kiln_gemm_check_last(struct kiln_gemm *h, char *why, size_t n) {
  assert_true(h->prepared && !h->pending);
  if (!h->last_checked)
    fake_compare(h);
  h->last_checked = true;
  return 0;
}

int kiln_gemm_read_check(struct kiln_gemm *h, struct kiln_gemm_check *out,
                         char *why, size_t n) {
  *out = h->tally;
  return 0;
}

void kiln_gemm_inject(struct kiln_gemm *h, uint64_t *row, uint64_t *col) {
  assert_true(h->prepared);
  *row = (uint64_t)h->n / 3 + 1;
  *col = (uint64_t)h->n / 2 + 3;
  h->inject = true;
  h->inject_index = *col * (uint64_t)h->n + *row;
  fk.injected++;
}

void kiln_gemm_close(struct kiln_gemm *h) { free(h); }

static int build_fake(void **state) {
  (void)state;
  return fake_nvml_setup(&fake_driver, "gemm", false);
}

static int remove_fake(void **state) {
  (void)state;
  return fake_nvml_teardown(&fake_driver);
}

/* A healthy fake GPU with FP8, its NVML at full clocks' worth of share
 * (the fake's SM clock is 345 of 1980 MHz: clock_share 10% lets it by),
 * under the SW power cap. */
static int reset_fake(void **state) {
  (void)state;
  memset(&fk, 0, sizeof fk);
  fk.fp8 = 1;
  setenv("KILN_NVML_LIB", fake_driver.lib, 1);
  setenv("FAKE_REASONS", "0x4", 1);
  return 0;
}

/* Runs the fake-backed module on BUS for duration seconds. */
static void run_fake(double duration, const char *const *extra,
                     const char *const *inject, struct captured *out) {
  memset(out, 0, sizeof *out);
  struct kiln_kv kv[8];
  size_t np = 0;
  for (size_t i = 0; extra && extra[2 * i]; i++) {
    assert_true(np < 6);
    kv[np].key = (char *)extra[2 * i];
    kv[np++].value = (char *)extra[2 * i + 1];
  }
  /* Small matrices and a clock share the fake's SM clock meets, unless
   * the test says otherwise. */
  static const char *const defaults[] = {"clock_share", "10%", "size", "256"};
  for (size_t d = 0; d < 4; d += 2) {
    bool given = false;
    for (size_t i = 0; i < np; i++)
      given |= strcmp(kv[i].key, defaults[d]) == 0;
    if (!given) {
      kv[np].key = (char *)defaults[d];
      kv[np++].value = (char *)defaults[d + 1];
    }
  }
  struct kiln_step_config cfg = {
      .module = &fake_module_gpu_gemm,
      .id = "gpu.gemm[0]",
      .target = BUS,
      .duration = duration,
      .params = kv,
      .n_params = np,
      .inject = inject,
  };
  harness_run_step(&cfg, out);
}

static void fake_healthy_run_measures_every_type(void **state) {
  (void)state;
  struct captured c;
  /* A GPU at 1900 of its 1980 MHz under load, judged at the default 50%. */
  setenv("FAKE_SM_MHZ", "1900", 1);
  static const char *const share[] = {"clock_share", "50%", NULL};
  run_fake(1.2, share, NULL, &c);
  unsetenv("FAKE_SM_MHZ");
  assert_int_equal(harness_end_verdict(&c), KILN_PASS);
  assert_int_equal(harness_fail_diagnoses(&c, NULL, 0), 0);
  assert_string_equal(fk.open_bus, BUS);
  assert_int_equal(fk.nprepared, KILN_GEMM_NTYPES);
  for (int t = 0; t < KILN_GEMM_NTYPES; t++) {
    assert_int_equal(fk.prepared[t], t);
    char name[32];
    snprintf(name, sizeof name, "tflops_%s", gemm_type_name(t));
    const struct kiln_wire_event *m = harness_measurement(&c, name, BUS);
    if (!m)
      fail_msg("no %s", name);
    assert_string_equal(m->unit, "TFLOP/s");
    assert_float_equal(m->value, gemm_tflops(256, fake_ms[t]), 1e-6);
    /* By default every result is checked. */
    assert_int_equal(fk.every[t], 1);
  }
  const struct kiln_wire_event *e = harness_measurement(&c, "errors", BUS);
  assert_non_null(e);
  assert_float_equal(e->value, 0, 0);
  /* The fake NVML's SM clock, sampled under load; the power cap only
   * logged. */
  e = harness_measurement(&c, "sm_clock_min_mhz", BUS);
  assert_non_null(e);
  assert_float_equal(e->value, 1900, 0);
  assert_true(harness_logged(&c, "SW power cap"));
  assert_true(harness_logged(&c, "libcublas.so.13"));
  assert_int_equal(fk.injected, 0);
  harness_free(&c);
}

static void fake_sdc_fails_naming_the_element(void **state) {
  (void)state;
  static const char *const inject[] = {"gpu.sdc", NULL};
  struct captured c;
  char msg[1024];
  run_fake(0.5, NULL, inject, &c);
  /* FAIL comes of the diagnoses (judged in the parent); the step ends. */
  assert_int_equal(harness_end_verdict(&c), KILN_PASS);
  assert_int_equal(fk.injected, 1);
  assert_int_equal(harness_fail_diagnoses(&c, NULL, 0), 1);
  assert_int_equal(
      harness_fail_symptom(&c, "gpu-gemm-miscompare", msg, sizeof msg), 1);
  /* BF16's result; row 256 / 3 + 1, col 256 / 2 + 3. */
  assert_non_null(strstr(msg, "GPU " BUS " (Fake GPU)"));
  assert_non_null(strstr(msg, "bf16 GEMM 256 x 256"));
  assert_non_null(strstr(msg, "element (row 86, col 131)"));
  assert_non_null(strstr(msg, "1 mismatched element over"));
  assert_float_equal(harness_measurement(&c, "errors", BUS)->value, 1, 0);
  assert_true(harness_logged(&c, "gpu.sdc injected"));
  harness_free(&c);

  /* Without BF16 the first type's result. */
  static const char *const types[] = {"types", "fp32,tf32", NULL};
  reset_fake(NULL);
  run_fake(0.3, types, inject, &c);
  assert_int_equal(harness_end_verdict(&c), KILN_PASS);
  assert_int_equal(
      harness_fail_symptom(&c, "gpu-gemm-miscompare", msg, sizeof msg), 1);
  assert_non_null(strstr(msg, "fp32 GEMM"));
  harness_free(&c);
}

static void fake_check_every_is_passed_on(void **state) {
  (void)state;
  static const char *const every[] = {"check_every", "3", "types", "bf16",
                                      NULL};
  struct captured c;
  run_fake(0.3, every, NULL, &c);
  assert_int_equal(harness_end_verdict(&c), KILN_PASS);
  assert_int_equal(harness_fail_diagnoses(&c, NULL, 0), 0);
  assert_int_equal(fk.nprepared, 1);
  assert_int_equal(fk.every[0], 3);
  assert_true(harness_logged(&c, "set: every 3"));
  harness_free(&c);
}

static void fake_fp8_missing_is_a_note(void **state) {
  (void)state;
  struct captured c;
  fk.fp8 = 0;
  static const char *const types[] = {"types", "bf16,fp8", NULL};
  run_fake(0.3, types, NULL, &c);
  assert_int_equal(harness_end_verdict(&c), KILN_PASS);
  assert_int_equal(harness_fail_diagnoses(&c, NULL, 0), 0);
  assert_true(harness_logged(&c, "fp8 not measured: no FP8 on the fake"));
  assert_null(harness_measurement(&c, "tflops_fp8", NULL));
  assert_non_null(harness_measurement(&c, "tflops_bf16", BUS));
  assert_int_equal(fk.nprepared, 1); /* never tried */
  harness_free(&c);

  /* cuBLASLt refusing FP8 in the middle is a note too. */
  reset_fake(NULL);
  fk.fp8_refused = 1;
  static const char *const all[] = {"types", "fp8,bf16", NULL};
  run_fake(0.3, all, NULL, &c);
  assert_int_equal(harness_end_verdict(&c), KILN_PASS);
  assert_true(
      harness_logged(&c, "fp8 not measured: cublasLtMatmulAlgoGetHeuristic"));
  assert_null(harness_measurement(&c, "tflops_fp8", NULL));
  assert_non_null(harness_measurement(&c, "tflops_bf16", BUS));
  harness_free(&c);

  /* Nothing else to run on a GPU that is there: an ERROR with the
   * reason. */
  reset_fake(NULL);
  fk.fp8 = 0;
  static const char *const only[] = {"types", "fp8", NULL};
  run_fake(0.3, only, NULL, &c);
  assert_int_equal(harness_end_verdict(&c), KILN_ERROR);
  assert_non_null(strstr(end_message(&c), "fp8 not measured"));
  harness_free(&c);
  reset_fake(NULL);
  fk.fp8_refused = 1;
  run_fake(0.3, only, NULL, &c);
  assert_int_equal(harness_end_verdict(&c), KILN_ERROR);
  harness_free(&c);
}

/* The GPU is there: a cuBLAS that cannot be loaded is an ERROR. */
static void fake_without_cublas_errors(void **state) {
  (void)state;
  struct captured c;
  fk.open_rc = 1; /* no cuBLAS */
  run_fake(0.3, NULL, NULL, &c);
  assert_int_equal(harness_end_verdict(&c), KILN_ERROR);
  assert_non_null(strstr(end_message(&c), "cuBLAS not available"));
  harness_free(&c);
  fk.open_rc = -1;
  run_fake(0.3, NULL, NULL, &c);
  assert_int_equal(harness_end_verdict(&c), KILN_ERROR);
  assert_non_null(strstr(end_message(&c), BUS ": cublasCreate"));
  harness_free(&c);
}

static void fake_clock_events_and_drops_fail(void **state) {
  (void)state;
  struct captured c;
  char msg[1024];
  static const char *const bf16[] = {"types", "bf16", NULL};
  /* HW slowdown under load, held over samples 0.5 s apart: FAIL. */
  setenv("FAKE_REASONS", "0xc", 1);
  static const char *const held[] = {"types", "bf16", "hold", "0.4s", NULL};
  run_fake(1.2, held, NULL, &c);
  assert_int_equal(harness_end_verdict(&c), KILN_PASS);
  assert_int_equal(harness_fail_symptom(&c, "gpu-clock-event", msg, sizeof msg),
                   1);
  assert_non_null(strstr(msg, "GPU " BUS " (Fake GPU)"));
  assert_non_null(strstr(msg, "HW slowdown held for "));
  assert_non_null(strstr(msg, "bf16 GEMMs"));
  assert_null(strstr(msg, "power cap"));
  assert_int_equal(harness_fail_symptom(&c, "gpu-clock-drop", NULL, 0), 0);
  harness_free(&c);

  /* The first sample only (a blip), then the power cap: logged, no FAIL. */
  setenv("FAKE_REASONS", "0xc,0x4", 1);
  run_fake(1.2, bf16, NULL, &c);
  assert_int_equal(harness_end_verdict(&c), KILN_PASS);
  assert_int_equal(harness_fail_symptom(&c, "gpu-clock-event", NULL, 0), 0);
  assert_true(harness_logged(&c, "never for 2.0 s (not judged: brief ones are "
                                 "normal): HW slowdown in 1 of "));
  harness_free(&c);

  /* 345 of 1980 MHz is under the default half, sample after sample. */
  setenv("FAKE_REASONS", "0x4", 1);
  static const char *const share[] = {"types", "bf16", "clock_share", "50%",
                                      NULL};
  run_fake(1.2, share, NULL, &c);
  assert_int_equal(harness_end_verdict(&c), KILN_PASS);
  assert_int_equal(harness_fail_symptom(&c, "gpu-clock-event", NULL, 0), 0);
  assert_int_equal(harness_fail_symptom(&c, "gpu-clock-drop", msg, sizeof msg),
                   1);
  assert_non_null(strstr(msg, "SM clock down to 345 MHz, under 50% of its "
                              "1980 MHz maximum"));
  harness_free(&c);

  /* Without NVML: a warning, no verdict. */
  setenv("KILN_NVML_LIB", "/nonexistent/libnvidia-ml.so.1", 1);
  run_fake(0.6, share, NULL, &c);
  assert_int_equal(harness_end_verdict(&c), KILN_PASS);
  assert_int_equal(harness_fail_diagnoses(&c, NULL, 0), 0);
  assert_true(harness_logged(&c, "clocks not watched during load"));
  assert_null(harness_measurement(&c, "sm_clock_min_mhz", NULL));
  harness_free(&c);
}

int main(void) {
  cmocka_set_message_output(CM_OUTPUT_TAP);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(encodings),
      cmocka_unit_test(equal_bits_pass),
      cmocka_unit_test(nan_and_infinity_fail),
      cmocka_unit_test(bit_flips),
      cmocka_unit_test(rounding_differences_pass),
      cmocka_unit_test(sdc_flip_is_caught),
      cmocka_unit_test(types_parse),
      cmocka_unit_test(size_and_every),
      cmocka_unit_test(rates),
      cmocka_unit_test(miscompare_message),
      cmocka_unit_test(watch_reasons),
      cmocka_unit_test(watch_clock_drops),
      cmocka_unit_test(watch_without_maximum),
      cmocka_unit_test(module_errors_without_cuda),
      cmocka_unit_test(bad_parameters_are_errors),
      cmocka_unit_test_setup(fake_healthy_run_measures_every_type, reset_fake),
      cmocka_unit_test_setup(fake_sdc_fails_naming_the_element, reset_fake),
      cmocka_unit_test_setup(fake_check_every_is_passed_on, reset_fake),
      cmocka_unit_test_setup(fake_fp8_missing_is_a_note, reset_fake),
      cmocka_unit_test_setup(fake_without_cublas_errors, reset_fake),
      cmocka_unit_test_setup(fake_clock_events_and_drops_fail, reset_fake),
  };
  return cmocka_run_group_tests(tests, build_fake, remove_fake);
}
