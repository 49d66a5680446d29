/* cpu.compute: healthy runs pass with sane figures, an injected SDC is
 * caught and names its CPU, every kernel matches the scalar reference and
 * no single flipped bit heals before the check. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../stress/cpu_compute.h"
#include "../../stress/cpuset.h"
#include "harness.h"
#include "kiln/result.h"

/* Small blocks keep the scalar reference cheap under the sanitizers. */
static const char *const small[] = {"pairs", "2048", NULL};

static int last_cpu(void) {
  int cpus[4096];
  int n = kiln_cpus_allowed(cpus, 4096);
  assert_true(n > 0 && n <= 4096);
  return cpus[n - 1];
}

static void healthy_run_passes(void **state) {
  (void)state;
  struct captured c;
  harness_run_module("cpu.compute", 0.4, small, NULL, &c);
  assert_int_equal(harness_end_verdict(&c), KILN_PASS);
  assert_int_equal(harness_fail_diagnoses(&c, NULL, 0), 0);
  const struct kiln_wire_event *total = harness_measurement(&c, "gflops", NULL);
  assert_non_null(total);
  assert_string_equal(total->unit, "GFLOP/s");
  /* Its running figure, published from the first heartbeat on. */
  const struct kiln_wire_event *running = harness_running(&c, "gflops", NULL);
  assert_non_null(running);
  assert_string_equal(running->unit, "GFLOP/s");
  assert_true(running->value >= 0 && running->value < 1e5);
  int cpus[4096];
  int n = kiln_cpus_allowed(cpus, 4096);
  double sum = 0;
  for (int i = 0; i < n; i++) {
    char hwid[32];
    snprintf(hwid, sizeof hwid, "cpu%d", cpus[i]);
    const struct kiln_wire_event *m =
        harness_measurement(&c, "gflops_per_core", hwid);
    assert_non_null(m);
    /* Sanitized and shared with CI neighbours, yet far above zero and
     * below anything a core could do (~100 GFLOP/s fp64 today). */
    assert_true(m->value > 0.01 && m->value < 1000);
    sum += m->value;
  }
  assert_true(total->value > 0.999 * sum && total->value < 1.001 * sum);
  harness_free(&c);
}

static void injected_sdc_names_the_cpu(void **state) {
  (void)state;
  static const char *const inject[] = {"cpu.sdc", NULL};
  struct captured c;
  char msg[1024], want[32];
  harness_run_module("cpu.compute", 0.4, small, inject, &c);
  assert_int_equal(harness_fail_diagnoses(&c, msg, sizeof msg), 1);
  snprintf(want, sizeof want, "cpu%d ", last_cpu());
  assert_non_null(strstr(msg, want));
  assert_non_null(strstr(msg, "expected 0x"));
  assert_non_null(strstr(msg, "xor 0x0000000000000001"));
  snprintf(want, sizeof want, "cpu%d", last_cpu());
  bool hwid_ok = false;
  for (size_t i = 0; i < c.n; i++)
    if (c.events[i].type == KILN_WIRE_DIAGNOSIS)
      hwid_ok = strcmp(c.events[i].hwid, want) == 0;
  assert_true(hwid_ok);
  harness_free(&c);
}

static double *aligned_state(void) {
  double *p = aligned_alloc(64, CPU_FMA_LANES * sizeof(double));
  assert_non_null(p);
  return p;
}

static void kernels_match_portable(void **state) {
  (void)state;
  double *ref = aligned_state(), *got = aligned_state();
  static const long pair_counts[] = {1, 2, 7, 300};
  for (size_t p = 0; p < sizeof pair_counts / sizeof *pair_counts; p++) {
    cpu_fma_init(ref);
    cpu_fma_run(CPU_FMA_PORTABLE, ref, pair_counts[p]);
    for (int k = 0; k < CPU_FMA_NKERNELS; k++) {
      if (!cpu_fma_kernel_supported((enum cpu_fma_kernel)k)) {
        print_message("# kernel %s: not supported here\n",
                      cpu_fma_kernel_name((enum cpu_fma_kernel)k));
        continue;
      }
      cpu_fma_init(got);
      cpu_fma_run((enum cpu_fma_kernel)k, got, pair_counts[p]);
      assert_memory_equal(got, ref, CPU_FMA_LANES * sizeof(double));
    }
  }
  free(ref);
  free(got);
}

/* The point of the recurrence: whichever bit of whichever lane flips, the
 * lane still differs from the reference after the remaining steps. */
static void no_flipped_bit_heals(void **state) {
  (void)state;
  enum cpu_fma_kernel k = CPU_FMA_PORTABLE;
  for (int i = CPU_FMA_NKERNELS - 1; i > 0; i--)
    if (cpu_fma_kernel_supported((enum cpu_fma_kernel)i)) {
      k = (enum cpu_fma_kernel)i;
      break;
    }
  const long half = 150;
  double *ref = aligned_state(), *mid = aligned_state(), *x = aligned_state();
  cpu_fma_init(ref);
  cpu_fma_run(k, ref, 2 * half);
  cpu_fma_init(mid);
  cpu_fma_run(k, mid, half);
  for (int lane = 0; lane < CPU_FMA_LANES; lane += 17)
    for (int bit = 0; bit < 64; bit++) {
      memcpy(x, mid, CPU_FMA_LANES * sizeof(double));
      uint64_t u;
      memcpy(&u, &x[lane], sizeof u);
      u ^= 1ULL << bit;
      memcpy(&x[lane], &u, sizeof u);
      cpu_fma_run(k, x, half);
      if (memcmp(&x[lane], &ref[lane], sizeof(double)) == 0)
        fail_msg("bit %d of lane %d healed", bit, lane);
    }
  free(ref);
  free(mid);
  free(x);
}

/* Values stay inside [1,2) at the largest block the module accepts. */
static void state_stays_in_range(void **state) {
  (void)state;
  enum cpu_fma_kernel k = CPU_FMA_AVX512;
  if (!cpu_fma_kernel_supported(k))
    k = CPU_FMA_AVX2;
  if (!cpu_fma_kernel_supported(k))
    skip(); /* the portable kernel would take minutes */
  double *x = aligned_state();
  cpu_fma_init(x);
  cpu_fma_run(k, x, 1L << 24);
  for (int l = 0; l < CPU_FMA_LANES; l++)
    assert_true(x[l] >= 1.2 && x[l] < 1.8);
  free(x);
}

static void each_kernel_passes_in_the_module(void **state) {
  (void)state;
  for (int k = 0; k < CPU_FMA_NKERNELS; k++) {
    const char *name = cpu_fma_kernel_name((enum cpu_fma_kernel)k);
    const char *const params[] = {"kernel", name, "pairs", "1024", NULL};
    struct captured c;
    harness_run_module("cpu.compute", 0.15, params, NULL, &c);
    if (cpu_fma_kernel_supported((enum cpu_fma_kernel)k))
      assert_int_equal(harness_end_verdict(&c), KILN_PASS);
    else
      assert_int_equal(harness_end_verdict(&c), KILN_SKIP);
    assert_int_equal(harness_fail_diagnoses(&c, NULL, 0), 0);
    harness_free(&c);
  }
}

static void malformed_params_are_errors(void **state) {
  (void)state;
  static const char *const bad[][3] = {
      {"kernel", "sse9", NULL},
      {"pairs", "lots", NULL},
      {"pairs", "1", NULL},
      {"pairs", "99999999999", NULL},
  };
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    struct captured c;
    harness_run_module("cpu.compute", 0.1, bad[i], NULL, &c);
    assert_int_equal(harness_end_verdict(&c), KILN_ERROR);
    assert_null(harness_measurement(&c, "gflops", NULL));
    harness_free(&c);
  }
}

int main(void) {
  cmocka_set_message_output(CM_OUTPUT_TAP);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(healthy_run_passes),
      cmocka_unit_test(injected_sdc_names_the_cpu),
      cmocka_unit_test(kernels_match_portable),
      cmocka_unit_test(no_flipped_bit_heals),
      cmocka_unit_test(state_stays_in_range),
      cmocka_unit_test(each_kernel_passes_in_the_module),
      cmocka_unit_test(malformed_params_are_errors),
  };
  return cmocka_run_group_tests_name("cpu.compute", tests, NULL, NULL);
}
