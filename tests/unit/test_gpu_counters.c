/* NVML's counters around a GPU step (stress/gpu_counters.c) over the fake
 * NVML, for pcie.bw: the PCIe replay counter's rise as a rate per minute
 * (a step under a minute counts as one), judged against the module's
 * default limit of 8 a minute (DCGM's); without the counter or without
 * NVML the rate is not measured, and the log says why, so the limit makes
 * the step an ERROR with that reason. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../stress/gpu_counters.h"
#include "core/wire.h"
#include "fake_nvml.h"
#include "fsutil.h"
#include "harness.h"
#include "kiln/module.h"
#include "kiln/result.h"
#include "kiln/step.h"
#include "run/runner.h"

#define BUS "0000:1b:00.0"

static struct fake_nvml fake_driver;
static char replay[300];
/* The counter's value after the copies, and how long they took. */
static const char *replay_after;
static double copy_seconds;

static int setup_all(void **state) {
  if (fake_nvml_setup(&fake_driver, "counters", false) != 0)
    return -1;
  snprintf(replay, sizeof replay, "%s/replay", fake_driver.dir);
  return 0;
}

static int teardown_all(void **state) {
  return fake_nvml_teardown(&fake_driver);
}

static int reset(void **state) {
  setenv("KILN_NVML_LIB", fake_driver.lib, 1);
  setenv("FAKE_PCIE_REPLAY_FILE", replay, 1);
  unsetenv("FAKE_PCIE_REPLAY_RC");
  fs_write_file(replay, "5");
  replay_after = "5";
  copy_seconds = 3;
  return 0;
}

/* What pcie.bw does around its copies, the copies being a change of the
 * fake's counter. */
static void replay_run(struct kiln_step *s) {
  kiln_nvml_device dev = NULL;
  struct kiln_gpu_counters before, after;
  struct kiln_nvml *nv =
      kiln_gpu_counters_open(s, BUS, &dev, "pcie_replay_per_min not measured");
  if (!nv)
    return;
  kiln_gpu_counters_read(nv, dev, &before);
  fs_write_file(replay, replay_after);
  kiln_gpu_counters_read(nv, dev, &after);
  kiln_gpu_replay_judge(s, BUS, nv, &before, &after, copy_seconds);
  kiln_nvml_close(nv);
}

static void run_replay(struct captured *out) {
  struct kiln_module m = *kiln_module_find("pcie.bw");
  m.run = replay_run;
  struct kiln_step_config cfg = {
      .module = &m, .id = "pcie.bw[0]", .target = BUS, .duration = 3};
  harness_run_step(&cfg, out);
}

/* The parent's verdict with pcie.bw's default limits; reason into why. */
static enum kiln_verdict judged(const struct captured *c, char *why, size_t n) {
  struct kiln_run run;
  kiln_run_init(&run);
  struct kiln_step_result *r =
      kiln_run_add_step(&run, "pcie.bw[0]", "pcie.bw", BUS, 1);
  for (const struct kiln_default_limit *d =
           kiln_module_find("pcie.bw")->default_limits;
       d && d->measurement; d++)
    kiln_step_set_limit(r, d->measurement, &d->limit);
  for (size_t i = 0; i < c->n; i++) {
    const struct kiln_wire_event *e = &c->events[i];
    if (e->type == KILN_WIRE_MEASUREMENT)
      kiln_step_add_measurement(r, e->name, e->value, e->unit,
                                kiln_step_limit(r, e->name), e->hwid, 1);
    else if (e->type == KILN_WIRE_LOG)
      kiln_step_add_log(r, e->severity, e->message, 1);
  }
  kiln_step_finish(r, KILN_PASS, NULL, 2);
  enum kiln_verdict v = r->verdict;
  snprintf(why, n, "%s", r->reason ? r->reason : "");
  kiln_run_free(&run);
  return v;
}

static const char *last_log(const struct captured *c) {
  for (size_t i = c->n; i-- > 0;)
    if (c->events[i].type == KILN_WIRE_LOG)
      return c->events[i].message;
  return "";
}

static void rate_is_per_minute_over_at_least_a_minute(void **state) {
  assert_true(kiln_pcie_replay_rate(0, 10) == 0);
  assert_true(kiln_pcie_replay_rate(1, 3) == 1);
  assert_true(kiln_pcie_replay_rate(9, 60) == 9);
  assert_true(kiln_pcie_replay_rate(16, 120) == 8);
  assert_true(kiln_pcie_replay_rate(30, 600) == 3);
}

static void pcie_bw_declares_the_default_limit(void **state) {
  const struct kiln_module *m = kiln_module_find("pcie.bw");
  assert_non_null(kiln_module_measurement(m, "pcie_replay_per_min"));
  assert_non_null(m->default_limits);
  assert_string_equal(m->default_limits[0].measurement, "pcie_replay_per_min");
  assert_true(m->default_limits[0].limit.has_hi);
  assert_false(m->default_limits[0].limit.has_lo);
  assert_true(m->default_limits[0].limit.hi == 8);
}

static void quiet_link_passes(void **state) {
  struct captured c;
  run_replay(&c);
  const struct kiln_wire_event *e =
      harness_measurement(&c, "pcie_replay_per_min", BUS);
  assert_non_null(e);
  assert_true(e->value == 0);
  assert_string_equal(last_log(&c),
                      "GPU " BUS ": PCIe replay counter 5 -> 5 (+0) over 3.0 "
                      "s of copies: 0.00 a minute (judged over a whole "
                      "minute)");
  char why[512];
  assert_int_equal(judged(&c, why, sizeof why), KILN_PASS);
  harness_free(&c);
}

static void replays_at_eight_a_minute_pass_nine_fail(void **state) {
  replay_after = "13"; /* +8 in 3 s: 8 a minute */
  struct captured c;
  run_replay(&c);
  assert_true(harness_measurement(&c, "pcie_replay_per_min", BUS)->value == 8);
  char why[512];
  assert_int_equal(judged(&c, why, sizeof why), KILN_PASS);
  harness_free(&c);

  reset(state);
  replay_after = "14";
  run_replay(&c);
  assert_true(harness_measurement(&c, "pcie_replay_per_min", BUS)->value == 9);
  assert_int_equal(judged(&c, why, sizeof why), KILN_FAIL);
  harness_free(&c);

  /* 20 over two minutes is 10 a minute. */
  reset(state);
  replay_after = "25";
  copy_seconds = 120;
  run_replay(&c);
  assert_true(harness_measurement(&c, "pcie_replay_per_min", BUS)->value == 10);
  assert_int_equal(judged(&c, why, sizeof why), KILN_FAIL);
  harness_free(&c);
}

static void counter_reset_counts_from_the_reset(void **state) {
  fs_write_file(replay, "50");
  replay_after = "12";
  /* The run writes replay_after after reading "before" = 50. */
  struct captured c;
  run_replay(&c);
  assert_true(harness_measurement(&c, "pcie_replay_per_min", BUS)->value == 12);
  harness_free(&c);
}

static void unsupported_counter_is_unmeasured_and_errors(void **state) {
  setenv("FAKE_PCIE_REPLAY_RC", "3", 1);
  struct captured c;
  run_replay(&c);
  assert_null(harness_measurement(&c, "pcie_replay_per_min", NULL));
  char why[512];
  assert_int_equal(judged(&c, why, sizeof why), KILN_ERROR);
  assert_string_equal(why, "limit pcie_replay_per_min.max = 8 set but "
                           "pcie_replay_per_min was not measured: GPU " BUS
                           ": pcie_replay_per_min not measured: NVML's PCIe "
                           "replay counter: Not Supported");
  harness_free(&c);
}

static void without_nvml_it_is_unmeasured(void **state) {
  setenv("KILN_NVML_LIB", "/nonexistent/libnvidia-ml.so.1", 1);
  struct captured c;
  run_replay(&c);
  assert_null(harness_measurement(&c, "pcie_replay_per_min", NULL));
  char why[512];
  assert_int_equal(judged(&c, why, sizeof why), KILN_ERROR);
  assert_non_null(
      strstr(why, "was not measured: GPU " BUS ": NVML unavailable ("));
  assert_non_null(strstr(why, "): pcie_replay_per_min not measured"));
  harness_free(&c);
}

int main(void) {
  cmocka_set_message_output(CM_OUTPUT_TAP);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(rate_is_per_minute_over_at_least_a_minute),
      cmocka_unit_test(pcie_bw_declares_the_default_limit),
      cmocka_unit_test_setup(quiet_link_passes, reset),
      cmocka_unit_test_setup(replays_at_eight_a_minute_pass_nine_fail, reset),
      cmocka_unit_test_setup(counter_reset_counts_from_the_reset, reset),
      cmocka_unit_test_setup(unsupported_counter_is_unmeasured_and_errors,
                             reset),
      cmocka_unit_test_setup(without_nvml_it_is_unmeasured, reset),
  };
  return cmocka_run_group_tests(tests, setup_all, teardown_all);
}
