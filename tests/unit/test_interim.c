/* Running figures: kiln_emit_running in the child (published at the first
 * call, then at most every publish_every, at most 64 figures a step) and
 * their measurement series in the parent (src/run/interim.c), through the real
 * runner and a sink that records what the reports would get. Interim
 * figures are never judged: a step whose running figures break its limit
 * still PASSes on its final measurement. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "kiln/bus.h"
#include "kiln/module.h"
#include "kiln/result.h"
#include "kiln/step.h"
#include "kiln/textutil.h"
#include "run/interim.h"
#include "run/plan.h"
#include "run/runner.h"

/* What the sinks were given, in order. */
struct seen {
  char ids[128][96];
  size_t starts, elements, ends;
  size_t ends_at_step_end; /* series ended when the step's end came */
  double last_value;
  bool step_ended;
};

static struct seen seen;

static int on_start(struct kiln_sink *k, const struct kiln_run *r,
                    const struct kiln_step_result *s,
                    const struct kiln_series *se) {
  if (seen.starts < 128)
    snprintf(seen.ids[seen.starts], sizeof seen.ids[0], "%s", se->id);
  seen.starts++;
  assert_null(se->limit.has_lo || se->limit.has_hi ? "limits" : NULL);
  return 0;
}

static int on_element(struct kiln_sink *k, const struct kiln_run *r,
                      const struct kiln_step_result *s,
                      const struct kiln_series *se, double value, double time) {
  assert_false(seen.step_ended);
  seen.elements++;
  seen.last_value = value;
  return 0;
}

static int on_end(struct kiln_sink *k, const struct kiln_run *r,
                  const struct kiln_step_result *s,
                  const struct kiln_series *se) {
  seen.ends++;
  return 0;
}

static int on_step_end(struct kiln_sink *k, const struct kiln_run *r,
                       const struct kiln_step_result *s) {
  seen.ends_at_step_end = seen.ends;
  seen.step_ended = true;
  return 0;
}

static struct kiln_sink recorder = {.name = "recorder",
                                    .series_start = on_start,
                                    .series_element = on_element,
                                    .series_end = on_end,
                                    .step_end = on_step_end};

/* ---- the parent side alone ---- */

static void interim_series_are_bounded_and_ended(void **state) {
  (void)state;
  memset(&seen, 0, sizeof seen);
  struct kiln_bus bus;
  kiln_bus_init(&bus, stderr);
  kiln_bus_add(&bus, &recorder);
  struct kiln_run run;
  kiln_run_init(&run);
  struct kiln_step_result *s =
      kiln_run_add_step(&run, "gpu.membw[0]", "gpu.membw", "0000:1b:00.0", 1);
  struct kiln_interim im = {0};
  /* Every 30 s: kept; 5 s after the last kept one: a flood, dropped. */
  kiln_interim_add(&im, &bus, &run, s, "bandwidth_gbps", "GB/s", "0000:1b:00.0",
                   2800, 1000, 30);
  kiln_interim_add(&im, &bus, &run, s, "bandwidth_gbps", "GB/s", "0000:1b:00.0",
                   2810, 1005, 30);
  kiln_interim_add(&im, &bus, &run, s, "bandwidth_gbps", "GB/s", "0000:1b:00.0",
                   2790, 1030, 30);
  assert_int_equal(seen.starts, 1);
  assert_string_equal(seen.ids[0], "gpu.membw[0]/bandwidth_gbps/0000:1b:00.0");
  assert_int_equal(seen.elements, 2);
  assert_true(seen.last_value == 2790);
  /* At most KILN_INTERIM_MAX_FIGURES figures a step. */
  for (int i = 0; i < 100; i++) {
    char name[32];
    snprintf(name, sizeof name, "f%d", i);
    kiln_interim_add(&im, &bus, &run, s, name, "", NULL, i, 1000, 30);
  }
  assert_int_equal(seen.starts, KILN_INTERIM_MAX_FIGURES);
  assert_string_equal(seen.ids[1], "gpu.membw[0]/f0");
  kiln_interim_end(&im, &bus, &run, s);
  assert_int_equal(seen.ends, KILN_INTERIM_MAX_FIGURES);
  /* Ended: nothing more, and no second end. */
  kiln_interim_add(&im, &bus, &run, s, "bandwidth_gbps", "GB/s", "0000:1b:00.0",
                   1, 2000, 30);
  kiln_interim_end(&im, &bus, &run, s);
  assert_int_equal(seen.elements, 2 + KILN_INTERIM_MAX_FIGURES - 1);
  assert_int_equal(seen.ends, KILN_INTERIM_MAX_FIGURES);
  kiln_interim_free(&im);
  kiln_run_free(&run);
}

/* ---- through the runner, with a real child ---- */

/* Calls kiln_emit_running far more often than the default 30 s allows,
 * with values over the limit, on 70 figures; ends on a good figure. */
static void chatty_run(struct kiln_step *s) {
  for (int i = 0; i < 10000; i++)
    kiln_emit_running(s, "rate", 1e6 + i, NULL);
  for (int i = 0; i < 70; i++) {
    char hwid[16];
    snprintf(hwid, sizeof hwid, "unit%d", i);
    kiln_emit_running(s, "rate", 1e6, hwid);
  }
  kiln_emit_measurement(s, "rate", 5, NULL);
}

static const struct kiln_measurement_spec chatty_measurements[] = {
    {"rate", "GB/s", "a rate"},
    {NULL, NULL, NULL},
};

static const struct kiln_module chatty_module = {
    .name = "test.chatty",
    .summary = "running figures, many",
    .targets = KILN_TARGETS_HOST,
    .stress = true,
    .measurements = chatty_measurements,
    .run = chatty_run,
};

static void running_figures_reach_the_sinks_unjudged(void **state) {
  (void)state;
  memset(&seen, 0, sizeof seen);
  struct kiln_profile_limit limit = {.measurement = "rate",
                                     .limit = {.has_hi = true, .hi = 10}};
  struct kiln_profile_module cfg = {
      .name = "test.chatty", .limits = &limit, .n_limits = 1};
  struct kiln_plan_step step = {.module = &chatty_module,
                                .cfg = &cfg,
                                .id = "test.chatty",
                                .target = "host",
                                .phase = 1,
                                .duration = 1};
  struct kiln_plan plan = {.steps = &step, .n_steps = 1};
  struct kiln_run run;
  kiln_run_init(&run);
  kiln_run_add_step(&run, step.id, chatty_module.name, "host", 1);
  struct kiln_bus bus;
  kiln_bus_init(&bus, stderr);
  kiln_bus_add(&bus, &recorder);
  struct kiln_runner_options o = {.grace = 30, .hang_timeout = 30};
  kiln_runner_run(&plan, &o, &run, &bus);
  /* One publication per figure (the loop takes far less than 30 s), 64
   * figures at most, every series ended before the step. */
  assert_int_equal(seen.starts, 64);
  assert_string_equal(seen.ids[0], "test.chatty/rate");
  assert_string_equal(seen.ids[1], "test.chatty/rate/unit0");
  assert_int_equal(seen.elements, 64);
  assert_int_equal(seen.ends_at_step_end, 64);
  /* Judged on the final figure only. */
  assert_int_equal(run.steps[0].verdict, KILN_PASS);
  assert_int_equal(run.steps[0].n_measurements, 1);
  kiln_run_free(&run);
}

int main(void) {
  cmocka_set_message_output(CM_OUTPUT_TAP);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(interim_series_are_bounded_and_ended),
      cmocka_unit_test(running_figures_reach_the_sinks_unjudged),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
