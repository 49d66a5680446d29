/* The runner's scheduling within a phase, with real child processes: a
 * module marked one_at_a_time runs its GPU steps one after another, any
 * other module runs them at once. Each step reports when it started and
 * ended (monotonic clock, shared across fork). And the limits a step is
 * judged by: a module's default limits apply, and one on a measurement
 * the step never emits makes it an ERROR. And a step's process stopped by
 * SIGTERM or SIGINT from outside kiln (a batch system stopping the job
 * signals every process of it) is ABORTED, a crash an ERROR. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "kiln/bus.h"
#include "kiln/module.h"
#include "kiln/result.h"
#include "kiln/step.h"
#include "kiln/textutil.h"
#include "run/plan.h"
#include "run/runner.h"

static void timed_run(struct kiln_step *s) {
  kiln_emit_measurement(s, "start_t", kiln_monotonic_now(), NULL);
  struct timespec ts = {0, 300 * 1000 * 1000};
  nanosleep(&ts, NULL);
  kiln_emit_measurement(s, "end_t", kiln_monotonic_now(), NULL);
}

static const struct kiln_measurement_spec timed_measurements[] = {
    {"start_t", "s", "when the step began"},
    {"end_t", "s", "when it ended"},
    {NULL, NULL, NULL},
};

static const struct kiln_module serial_module = {
    .name = "test.serial",
    .summary = "one GPU at a time",
    .targets = KILN_TARGETS_GPU,
    .one_at_a_time = true,
    .measurements = timed_measurements,
    .run = timed_run,
};

static const struct kiln_module parallel_module = {
    .name = "test.parallel",
    .summary = "every GPU at once",
    .targets = KILN_TARGETS_GPU,
    .measurements = timed_measurements,
    .run = timed_run,
};

static double value(const struct kiln_step_result *r, const char *name) {
  for (size_t i = 0; i < r->n_measurements; i++)
    if (strcmp(r->measurements[i].name, name) == 0)
      return r->measurements[i].value;
  fail_msg("%s has no %s", r->id, name);
  return 0;
}

/* Three GPU steps of module m in one phase; their [start, end] spans. */
static void run_three(const struct kiln_module *m, double spans[3][2]) {
  static const char *const buses[] = {"0000:1b:00.0", "0000:3a:00.0",
                                      "0000:9a:00.0"};
  struct kiln_plan_step steps[3];
  struct kiln_run run;
  kiln_run_init(&run);
  for (int i = 0; i < 3; i++) {
    steps[i] = (struct kiln_plan_step){.module = m,
                                       .id = kiln_strdup_printf("x[%d]", i),
                                       .target = (char *)buses[i],
                                       .target_index = i,
                                       .phase = 1};
    kiln_run_add_step(&run, steps[i].id, m->name, buses[i], 1);
  }
  struct kiln_plan plan = {.steps = steps, .n_steps = 3};
  struct kiln_bus bus;
  kiln_bus_init(&bus, stderr);
  struct kiln_runner_options o = {.grace = 30, .hang_timeout = 30};
  kiln_runner_run(&plan, &o, &run, &bus);
  for (int i = 0; i < 3; i++) {
    assert_int_equal(run.steps[i].verdict, KILN_PASS);
    spans[i][0] = value(&run.steps[i], "start_t");
    spans[i][1] = value(&run.steps[i], "end_t");
    free(steps[i].id);
  }
  kiln_run_free(&run);
}

static void one_at_a_time_runs_steps_in_turn(void **state) {
  (void)state;
  double t[3][2];
  run_three(&serial_module, t);
  for (int i = 1; i < 3; i++)
    if (t[i][0] < t[i - 1][1])
      fail_msg("step %d started at %.3f, before step %d ended at %.3f", i,
               t[i][0], i - 1, t[i - 1][1]);
}

static void other_modules_run_steps_at_once(void **state) {
  (void)state;
  double t[3][2];
  run_three(&parallel_module, t);
  /* All three overlap: each starts before the first one ends. */
  for (int i = 1; i < 3; i++)
    if (t[i][0] >= t[0][1])
      fail_msg("step %d started at %.3f, after step 0 ended at %.3f", i,
               t[i][0], t[0][1]);
}

static const struct kiln_measurement_spec defaulted_measurements[] = {
    {"start_t", "s", "when the step began"},
    {"end_t", "s", "when it ended"},
    {"never", "", "declared, never emitted"},
    {NULL, NULL, NULL},
};

static const struct kiln_default_limit defaults[] = {
    {"start_t", {.has_lo = true, .lo = 0}},
    {"never", {.has_hi = true, .hi = 0}},
    {NULL, {0}},
};

static const struct kiln_module defaulted_module = {
    .name = "test.defaulted",
    .summary = "default limits, one never measured",
    .targets = KILN_TARGETS_HOST,
    .measurements = defaulted_measurements,
    .default_limits = defaults,
    .run = timed_run,
};

static void default_limits_apply_and_unmeasured_is_an_error(void **state) {
  (void)state;
  struct kiln_plan_step step = {
      .module = &defaulted_module, .id = "d", .target = "host", .phase = 1};
  struct kiln_run run;
  kiln_run_init(&run);
  kiln_run_add_step(&run, "d", defaulted_module.name, "host", 1);
  struct kiln_plan plan = {.steps = &step, .n_steps = 1};
  struct kiln_bus bus;
  kiln_bus_init(&bus, stderr);
  struct kiln_runner_options o = {.grace = 30, .hang_timeout = 30};
  kiln_runner_run(&plan, &o, &run, &bus);
  const struct kiln_step_result *r = &run.steps[0];
  assert_int_equal(r->n_measurements, 2);
  assert_true(r->measurements[0].limit.has_lo);
  assert_false(r->measurements[1].limit.has_lo ||
               r->measurements[1].limit.has_hi);
  assert_int_equal(r->verdict, KILN_ERROR);
  assert_string_equal(r->reason, "limit never.max = 0 set but never was not "
                                 "measured (the step gave no reason)");
  kiln_run_free(&run);
}

static void raise_signal_run(struct kiln_step *s) {
  kiln_emit_measurement(s, "start_t", kiln_monotonic_now(), NULL);
  int sig = (int)strtol(kiln_step_target(s), NULL, 10);
  signal(sig, SIG_DFL);
  raise(sig);
}

static const struct kiln_module signalled_module = {
    .name = "test.signalled",
    .summary = "its process dies of the signal its target names",
    .targets = KILN_TARGETS_HOST,
    .measurements = timed_measurements,
    .run = raise_signal_run,
};

static enum kiln_verdict signalled_step(int sig, char **reason) {
  char target[16];
  snprintf(target, sizeof target, "%d", sig);
  struct kiln_plan_step step = {
      .module = &signalled_module, .id = "s", .target = target, .phase = 1};
  struct kiln_run run;
  kiln_run_init(&run);
  kiln_run_add_step(&run, "s", signalled_module.name, target, 1);
  struct kiln_plan plan = {.steps = &step, .n_steps = 1};
  struct kiln_bus bus;
  kiln_bus_init(&bus, stderr);
  struct kiln_runner_options o = {.grace = 30, .hang_timeout = 30};
  kiln_runner_run(&plan, &o, &run, &bus);
  enum kiln_verdict v = run.steps[0].verdict;
  *reason = kiln_xstrdup(run.steps[0].reason ? run.steps[0].reason : "");
  kiln_run_free(&run);
  return v;
}

static void stopped_from_outside_is_aborted_a_crash_an_error(void **state) {
  (void)state;
  char *why;
  assert_int_equal(signalled_step(SIGTERM, &why), KILN_ABORTED);
  assert_string_equal(
      why, "aborted: SIGTERM from outside kiln stopped the step's process");
  free(why);
  assert_int_equal(signalled_step(SIGINT, &why), KILN_ABORTED);
  free(why);
  assert_int_equal(signalled_step(SIGSEGV, &why), KILN_ERROR);
  assert_non_null(strstr(why, "crashed: killed by signal"));
  free(why);
  assert_int_equal(signalled_step(SIGKILL, &why), KILN_ERROR);
  free(why);
}

int main(void) {
  cmocka_set_message_output(CM_OUTPUT_TAP);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(one_at_a_time_runs_steps_in_turn),
      cmocka_unit_test(other_modules_run_steps_at_once),
      cmocka_unit_test(default_limits_apply_and_unmeasured_is_an_error),
      cmocka_unit_test(stopped_from_outside_is_aborted_a_crash_an_error),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
