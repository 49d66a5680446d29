/* The result layer's verdict of a step against the limits set on it: a
 * limit on a measurement the step never emitted turns a PASS into an ERROR
 * naming the limit and why it is missing, leaves FAIL and ERROR as they
 * were (with the same line as a log), and SKIP and ABORTED alone; a limit
 * on a per-hardware measurement counts as measured when emitted once. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "kiln/limits.h"
#include "kiln/result.h"

static const struct kiln_limit MIN_400 = {.has_lo = true, .lo = 400};
static const struct kiln_limit MAX_0 = {.has_hi = true, .hi = 0};

static struct kiln_run run;

static struct kiln_step_result *gemm_step(void) {
  kiln_run_init(&run);
  struct kiln_step_result *s =
      kiln_run_add_step(&run, "gpu.gemm[0]", "gpu.gemm", "0000:1b:00.0", 1);
  kiln_step_set_limit(s, "tflops_fp8", &MIN_400);
  kiln_step_set_limit(s, "errors", &MAX_0);
  return s;
}

static void add(struct kiln_step_result *s, const char *name, double v,
                const char *hwid) {
  kiln_step_add_measurement(s, name, v, "", kiln_step_limit(s, name), hwid, 1);
}

static const struct kiln_log *last_log(const struct kiln_step_result *s) {
  return s->n_logs ? &s->logs[s->n_logs - 1] : NULL;
}

static void spells_limits_as_a_profile_does(void **state) {
  char buf[128];
  kiln_limit_spell("tflops_fp8", &MIN_400, buf, sizeof buf);
  assert_string_equal(buf, "tflops_fp8.min = 400");
  kiln_limit_spell("x", &(struct kiln_limit){true, true, 1, 8}, buf,
                   sizeof buf);
  assert_string_equal(buf, "x.min = 1, x.max = 8");
  kiln_limit_spell("x", &(struct kiln_limit){0}, buf, sizeof buf);
  assert_string_equal(buf, "");
}

static void first_limit_set_wins(void **state) {
  struct kiln_step_result *s = gemm_step();
  /* The profile's limit went on first; a SKU's or a default later does
   * not replace it; an empty limit is not a limit. */
  assert_false(kiln_step_set_limit(
      s, "tflops_fp8", &(struct kiln_limit){.has_lo = true, .lo = 1}));
  assert_false(kiln_step_set_limit(s, "other", &(struct kiln_limit){0}));
  assert_null(kiln_step_limit(s, "other"));
  assert_true(kiln_step_limit(s, "tflops_fp8")->lo == 400);
  kiln_run_free(&run);
}

static void every_limit_measured_passes(void **state) {
  struct kiln_step_result *s = gemm_step();
  add(s, "tflops_fp8", 900, "0000:1b:00.0");
  add(s, "errors", 0, "0000:1b:00.0");
  kiln_step_finish(s, KILN_PASS, NULL, 2);
  assert_int_equal(s->verdict, KILN_PASS);
  assert_null(s->reason);
  assert_int_equal(s->n_logs, 0);
  kiln_run_free(&run);
}

static void unmeasured_limit_is_an_error_with_the_reason(void **state) {
  struct kiln_step_result *s = gemm_step();
  kiln_step_add_log(s, KILN_SEV_WARNING,
                    "limits from GPU SKU h100 (provisional)", 1);
  kiln_step_add_log(s, KILN_SEV_INFO,
                    "GPU 0000:1b:00.0: fp8 not measured: cuBLASLt has no "
                    "FP8 algorithm",
                    1);
  kiln_step_add_log(s, KILN_SEV_INFO, "GPU 0000:1b:00.0: 4 types ran", 1);
  add(s, "errors", 0, "0000:1b:00.0");
  kiln_step_finish(s, KILN_PASS, NULL, 2);
  assert_int_equal(s->verdict, KILN_ERROR);
  assert_string_equal(s->reason,
                      "limit tflops_fp8.min = 400 set but tflops_fp8 was not "
                      "measured: GPU 0000:1b:00.0: fp8 not measured: cuBLASLt "
                      "has no FP8 algorithm");
  assert_int_equal(run.steps[0].verdict, KILN_ERROR);
  assert_int_equal(kiln_run_verdict(&run), KILN_ERROR);
  kiln_run_free(&run);
}

static void log_naming_the_measurement_is_the_reason(void **state) {
  struct kiln_step_result *s = gemm_step();
  kiln_step_add_log(s, KILN_SEV_INFO, "x: not supported by this driver", 1);
  kiln_step_add_log(s, KILN_SEV_INFO, "tflops_fp8: the GPU has no FP8", 1);
  kiln_step_add_log(s, KILN_SEV_INFO, "y: not checked", 1);
  kiln_step_finish(s, KILN_PASS, NULL, 2);
  assert_int_equal(s->verdict, KILN_ERROR);
  /* Both limits, each with its own reason, in the order they were set. */
  assert_string_equal(
      s->reason, "limit tflops_fp8.min = 400 set but tflops_fp8 was not "
                 "measured: tflops_fp8: the GPU has no FP8; limit errors.max "
                 "= 0 set but errors was not measured: y: not checked");
  kiln_run_free(&run);
}

static void without_a_reason_says_so(void **state) {
  struct kiln_step_result *s = gemm_step();
  add(s, "tflops_fp8", 900, "");
  kiln_step_finish(s, KILN_PASS, NULL, 2);
  assert_int_equal(s->verdict, KILN_ERROR);
  assert_string_equal(s->reason, "limit errors.max = 0 set but errors was not "
                                 "measured (the step gave no reason)");
  kiln_run_free(&run);
}

static void per_hardware_measurement_emitted_once_counts(void **state) {
  kiln_run_init(&run);
  struct kiln_step_result *s =
      kiln_run_add_step(&run, "cpu.compute", "cpu.compute", "host", 1);
  kiln_step_set_limit(s, "gflops_per_core",
                      &(struct kiln_limit){.has_lo = true, .lo = 1});
  add(s, "gflops_per_core", 5, "cpu3");
  kiln_step_finish(s, KILN_PASS, NULL, 2);
  assert_int_equal(s->verdict, KILN_PASS);
  kiln_run_free(&run);
}

static void fail_stays_fail_with_the_note(void **state) {
  struct kiln_step_result *s = gemm_step();
  add(s, "tflops_fp8", 900, "");
  kiln_step_add_diagnosis(s, KILN_DIAG_FAIL, "gpu-sdc", "0000:1b:00.0",
                          "GPU 0000:1b:00.0: result differs", 1);
  kiln_step_finish(s, KILN_PASS, NULL, 2);
  assert_int_equal(s->verdict, KILN_FAIL);
  assert_null(s->reason);
  assert_non_null(last_log(s));
  assert_int_equal(last_log(s)->severity, KILN_SEV_ERROR);
  assert_string_equal(last_log(s)->message,
                      "limit errors.max = 0 set but errors was not measured "
                      "(the step gave no reason)");
  kiln_run_free(&run);
}

static void error_keeps_its_reason_with_the_note(void **state) {
  struct kiln_step_result *s = gemm_step();
  kiln_step_finish(s, KILN_ERROR, "GPU 0000:1b:00.0: cublasCreate failed", 2);
  assert_int_equal(s->verdict, KILN_ERROR);
  assert_string_equal(s->reason, "GPU 0000:1b:00.0: cublasCreate failed");
  assert_int_equal(s->n_logs, 1);
  assert_non_null(strstr(last_log(s)->message,
                         "limit tflops_fp8.min = 400 set but tflops_fp8 was "
                         "not measured"));
  kiln_run_free(&run);
}

static void skip_and_aborted_are_left_alone(void **state) {
  struct kiln_step_result *s = gemm_step();
  kiln_step_finish(s, KILN_SKIP, "no NVIDIA GPU found on the PCI bus", 2);
  assert_int_equal(s->verdict, KILN_SKIP);
  assert_string_equal(s->reason, "no NVIDIA GPU found on the PCI bus");
  assert_int_equal(s->n_logs, 0);
  kiln_run_free(&run);
  s = gemm_step();
  kiln_step_finish(s, KILN_ABORTED, "SIGTERM received", 2);
  assert_int_equal(s->verdict, KILN_ABORTED);
  assert_string_equal(s->reason, "SIGTERM received");
  assert_int_equal(s->n_logs, 0);
  kiln_run_free(&run);
}

static void out_of_limit_still_fails(void **state) {
  struct kiln_step_result *s = gemm_step();
  add(s, "tflops_fp8", 100, "");
  add(s, "errors", 0, "");
  kiln_step_finish(s, KILN_PASS, NULL, 2);
  assert_int_equal(s->verdict, KILN_FAIL);
  assert_int_equal(s->n_logs, 0);
  kiln_run_free(&run);
}

/* The one "is this step failing" test, read by kiln_step_finish and the
 * dashboard while the step still runs: a FAIL diagnosis or a measurement
 * out of its limits, not a PASS or UNKNOWN diagnosis. */
static void failing_is_a_fail_diagnosis_or_a_measurement_out(void **state) {
  struct kiln_step_result *s = gemm_step();
  add(s, "tflops_fp8", 500, "");
  kiln_step_add_diagnosis(s, KILN_DIAG_PASS, "ok", "fine", "", 1);
  kiln_step_add_diagnosis(s, KILN_DIAG_UNKNOWN, "odd", "unsure", "", 1);
  assert_false(kiln_step_failing(s));
  add(s, "errors", 3, "");
  assert_true(kiln_step_failing(s));
  kiln_run_free(&run);

  s = gemm_step();
  kiln_step_add_diagnosis(s, KILN_DIAG_FAIL, "sdc", "wrong sum", "", 1);
  assert_true(kiln_step_failing(s));
  kiln_run_free(&run);
}

/* A value and its limit read by the figure rule; a failing value that would
 * read the same as the bound it crossed takes more digits, both sides. */
static void measurement_figures_never_read_equal_when_failing(void **state) {
  (void)state;
  char v[48], l[96];
  struct kiln_measurement m = {.name = "triad_gbps", .value = 88.9884};
  m.limit = (struct kiln_limit){.has_lo = true, .lo = 90};
  kiln_measurement_figures(&m, v, sizeof v, l, sizeof l);
  assert_string_equal(v, "88.99");
  assert_string_equal(l, "x >= 90");
  m.value = 89.9996; /* four digits: "90", as the limit */
  kiln_measurement_figures(&m, v, sizeof v, l, sizeof l);
  assert_string_equal(v, "89.9996");
  assert_string_equal(l, "x >= 90");
  m.value = 90.00004; /* passes: the rule alone */
  kiln_measurement_figures(&m, v, sizeof v, l, sizeof l);
  assert_string_equal(v, "90");
  m.limit = (struct kiln_limit){
      .has_lo = true, .has_hi = true, .lo = 1, .hi = 1234.3};
  m.value = 1234.4; /* both read "1234" at four digits */
  kiln_measurement_figures(&m, v, sizeof v, l, sizeof l);
  assert_string_equal(v, "1234.4");
  assert_string_equal(l, "1 <= x <= 1234.3");
  m.limit = (struct kiln_limit){0};
  kiln_measurement_figures(&m, v, sizeof v, l, sizeof l);
  assert_string_equal(v, "1234");
  assert_string_equal(l, "");
}

int main(void) {
  cmocka_set_message_output(CM_OUTPUT_TAP);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(spells_limits_as_a_profile_does),
      cmocka_unit_test(first_limit_set_wins),
      cmocka_unit_test(every_limit_measured_passes),
      cmocka_unit_test(unmeasured_limit_is_an_error_with_the_reason),
      cmocka_unit_test(log_naming_the_measurement_is_the_reason),
      cmocka_unit_test(without_a_reason_says_so),
      cmocka_unit_test(per_hardware_measurement_emitted_once_counts),
      cmocka_unit_test(fail_stays_fail_with_the_note),
      cmocka_unit_test(error_keeps_its_reason_with_the_note),
      cmocka_unit_test(skip_and_aborted_are_left_alone),
      cmocka_unit_test(out_of_limit_still_fails),
      cmocka_unit_test(failing_is_a_fail_diagnosis_or_a_measurement_out),
      cmocka_unit_test(measurement_figures_never_read_equal_when_failing),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
