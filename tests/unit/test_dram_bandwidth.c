/* dram.bandwidth: healthy runs pass with four bandwidths, every kernel and
 * store kind leaves exactly the values the scalar recurrence predicts, a
 * wrong triad value FAILs with its address, bad parameters are ERRORs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "harness.h"
#include "kiln/result.h"

static const char *const names[] = {"copy_gbps", "scale_gbps", "add_gbps",
                                    "triad_gbps"};

static void healthy_run_passes(void **state) {
  (void)state;
  static const char *const params[] = {"array_size", "2M", NULL};
  struct captured c;
  harness_run_module("dram.bandwidth", 0.4, params, NULL, &c);
  assert_int_equal(harness_end_verdict(&c), KILN_PASS);
  assert_int_equal(harness_fail_diagnoses(&c, NULL, 0), 0);
  for (int i = 0; i < 4; i++) {
    const struct kiln_wire_event *m = harness_measurement(&c, names[i], NULL);
    assert_non_null(m);
    assert_string_equal(m->unit, "GB/s");
    /* Sanitizers slow it down a lot; still well above 0.01 GB/s and below
     * anything memory or cache could deliver. */
    assert_true(m->value > 0.01 && m->value < 10000);
  }
  /* Running figures from the first round on: the best copy and triad. */
  for (int i = 0; i < 4; i += 3) {
    const struct kiln_wire_event *r = harness_running(&c, names[i], NULL);
    assert_non_null(r);
    assert_string_equal(r->unit, "GB/s");
    assert_true(r->value > 0.01 && r->value < 10000);
  }
  harness_free(&c);
}

/* The module checks every element bitwise after the last round; a kernel
 * that rounded differently from the scalar reference would FAIL here. */
static void every_kernel_and_store_kind_verifies(void **state) {
  (void)state;
  static const char *const kernels[] = {"portable", "avx2", "avx512"};
  static const char *const nts[] = {"on", "off"};
  for (int k = 0; k < 3; k++)
    for (int n = 0; n < 2; n++) {
      const char *const params[] = {"array_size", "1M",   "kernel", kernels[k],
                                    "nt",         nts[n], NULL};
      struct captured c;
      harness_run_module("dram.bandwidth", 0.1, params, NULL, &c);
      int v = harness_end_verdict(&c);
      if (v == KILN_SKIP) {
        print_message("# kernel %s: not supported here\n", kernels[k]);
      } else {
        assert_int_equal(v, KILN_PASS);
        assert_int_equal(harness_fail_diagnoses(&c, NULL, 0), 0);
        assert_non_null(harness_measurement(&c, "triad_gbps", NULL));
      }
      harness_free(&c);
    }
}

static void bad_triad_fails_with_its_address(void **state) {
  (void)state;
  static const char *const params[] = {"array_size", "1M", NULL};
  static const char *const inject[] = {"dram.bad_triad", NULL};
  struct captured c;
  char msg[1024];
  harness_run_module("dram.bandwidth", 0.3, params, inject, &c);
  assert_int_equal(harness_fail_diagnoses(&c, msg, sizeof msg), 1);
  /* The injection logs where it wrote; the diagnosis must name it. */
  const char *addr = NULL;
  for (size_t i = 0; i < c.n && !addr; i++)
    if (c.events[i].type == KILN_WIRE_LOG)
      addr = strstr(c.events[i].message, "dram.bad_triad injected");
  assert_non_null(addr);
  addr = strstr(addr, " at 0x");
  assert_non_null(addr);
  char want[64];
  snprintf(want, sizeof want, "virtual %s", addr + 4);
  assert_non_null(strstr(msg, want));
  assert_non_null(strstr(msg, "a["));
  assert_non_null(strstr(msg, "xor 0x0000000000100000"));
  harness_free(&c);
}

static void malformed_params_are_errors(void **state) {
  (void)state;
  static const char *const bad[][3] = {
      {"array_size", "lots", NULL},
      {"array_size", "1K", NULL},      /* too small to mean anything */
      {"array_size", "100000G", NULL}, /* more than the machine has */
      {"nt", "maybe", NULL},
      {"kernel", "mmx", NULL},
  };
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    struct captured c;
    harness_run_module("dram.bandwidth", 0.1, bad[i], NULL, &c);
    assert_int_equal(harness_end_verdict(&c), KILN_ERROR);
    assert_null(harness_measurement(&c, "triad_gbps", NULL));
    harness_free(&c);
  }
}

int main(void) {
  cmocka_set_message_output(CM_OUTPUT_TAP);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(healthy_run_passes),
      cmocka_unit_test(every_kernel_and_store_kind_verifies),
      cmocka_unit_test(bad_triad_fails_with_its_address),
      cmocka_unit_test(malformed_params_are_errors),
  };
  return cmocka_run_group_tests_name("dram.bandwidth", tests, NULL, NULL);
}
