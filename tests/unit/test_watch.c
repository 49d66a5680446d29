/* Hold-time watches: a limit fires only when its condition has held for
 * the hold time, once per excursion, with the excursion's start. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "kiln/telemetry.h"
#include "kiln/watch.h"

/* Feeds values at t = t0, t0 + 1, ...; returns how many times it fired and
 * the first firing in *first. */
static int feed_series(struct kiln_watch *w, double t0, const double *v,
                       size_t n, struct kiln_watch_fire *first) {
  int fired = 0;
  for (size_t i = 0; i < n; i++) {
    struct kiln_watch_fire f;
    if (kiln_watch_feed(w, t0 + (double)i, v[i], &f)) {
      if (fired++ == 0 && first)
        *first = f;
    }
  }
  return fired;
}

static void spike_shorter_than_hold_does_not_fire(void **state) {
  (void)state;
  struct kiln_watch w;
  kiln_watch_init(&w, KILN_WATCH_ABOVE, 95, 5);
  /* Over at t=2..6: held 4 s at its last sample, one short of 5. */
  const double v[] = {50, 60, 99, 101, 120, 99, 97, 60, 60, 60};
  assert_int_equal(feed_series(&w, 0, v, 10, NULL), 0);
  assert_false(kiln_watch_pending(&w));
  /* A single sample far over never fires either. */
  kiln_watch_init(&w, KILN_WATCH_ABOVE, 95, 3);
  const double one[] = {50, 500, 50, 50};
  assert_int_equal(feed_series(&w, 0, one, 4, NULL), 0);
}

static void held_for_hold_fires_once_with_its_start(void **state) {
  (void)state;
  struct kiln_watch w;
  kiln_watch_init(&w, KILN_WATCH_ABOVE, 95, 5);
  /* Over from t=3 (96) on; 5 s later, at t=8, it fires once. */
  const double v[] = {90, 92, 95, 96, 98, 103, 99, 97, 96.5, 97, 98, 99};
  struct kiln_watch_fire f;
  assert_int_equal(feed_series(&w, 0, v, 12, &f), 1);
  assert_true(f.op == KILN_WATCH_ABOVE);
  assert_true(f.t == 8.0);
  assert_true(f.since == 3.0);
  assert_true(f.held == 5.0);
  assert_true(f.value == 96.5);
  assert_true(f.first == 96.0);
  assert_true(f.worst == 103.0);
  assert_true(f.limit == 95.0 && f.hold == 5.0);
  char msg[200];
  kiln_watch_describe(&f, "Package id 0", "C", msg, sizeof msg);
  assert_string_equal(msg, "Package id 0 over 95 C: 96.5 C at t=8.0 s, held "
                           "5.0 s since t=3.0 s (worst 103 C)");
}

static void exactly_at_limit_is_not_over(void **state) {
  (void)state;
  struct kiln_watch w;
  kiln_watch_init(&w, KILN_WATCH_ABOVE, 95, 1);
  const double v[] = {95, 95, 95, 95};
  assert_int_equal(feed_series(&w, 0, v, 4, NULL), 0);
  kiln_watch_init(&w, KILN_WATCH_BELOW, 300, 1);
  const double f[] = {300, 300, 300};
  assert_int_equal(feed_series(&w, 0, f, 3, NULL), 0);
}

static void recovery_resets_the_hold(void **state) {
  (void)state;
  struct kiln_watch w;
  kiln_watch_init(&w, KILN_WATCH_ABOVE, 80, 3);
  /* Over 0..2 (2 s), one sample under at 3, over 4..6 (2 s): never 3 s. */
  const double v[] = {81, 82, 83, 79, 81, 82, 83, 70};
  assert_int_equal(feed_series(&w, 0, v, 8, NULL), 0);
  /* Then a long excursion fires, recovers, and a second one fires again
   * with its own start. */
  struct kiln_watch_fire f;
  assert_false(kiln_watch_feed(&w, 10, 90, &f));
  assert_true(kiln_watch_pending(&w));
  assert_false(kiln_watch_feed(&w, 12, 90, &f));
  assert_true(kiln_watch_feed(&w, 13, 85, &f));
  assert_true(f.since == 10.0 && f.held == 3.0 && f.value == 85.0);
  assert_false(kiln_watch_pending(&w));
  assert_false(kiln_watch_feed(&w, 14, 99, &f)); /* same excursion */
  assert_false(kiln_watch_feed(&w, 15, 60, &f)); /* recovered */
  assert_false(kiln_watch_feed(&w, 20, 81, &f));
  assert_true(kiln_watch_feed(&w, 23, 82, &f));
  assert_true(f.since == 20.0 && f.first == 81.0 && f.worst == 82.0);
}

static void below_watch_for_fans(void **state) {
  (void)state;
  struct kiln_watch w;
  kiln_watch_init(&w, KILN_WATCH_BELOW, 400, 5);
  /* A stalled fan: 0 RPM from t=2 on. */
  const double v[] = {1000, 990, 0, 0, 0, 0, 0, 0, 0};
  struct kiln_watch_fire f;
  assert_int_equal(feed_series(&w, 0, v, 9, &f), 1);
  assert_true(f.t == 7.0 && f.since == 2.0 && f.value == 0.0);
  assert_true(f.worst == 0.0);
  /* A fan dipping under its minimum for 3 s while spinning up does not. */
  kiln_watch_init(&w, KILN_WATCH_BELOW, 400, 5);
  const double dip[] = {0, 120, 380, 900, 1000, 1000, 1000, 1000};
  assert_int_equal(feed_series(&w, 0, dip, 8, NULL), 0);
  /* Worst of a BELOW watch is the lowest. */
  kiln_watch_init(&w, KILN_WATCH_BELOW, 400, 2);
  const double low[] = {350, 200, 300};
  assert_int_equal(feed_series(&w, 0, low, 3, &f), 1);
  assert_true(f.worst == 200.0 && f.value == 300.0 && f.first == 350.0);
  char msg[200];
  kiln_watch_describe(&f, "SYS_FAN2", "RPM", msg, sizeof msg);
  assert_string_equal(msg, "SYS_FAN2 under 400 RPM: 300 RPM at t=2.0 s, held "
                           "2.0 s since t=0.0 s (worst 200 RPM)");
}

static void hold_zero_fires_at_the_first_sample(void **state) {
  (void)state;
  struct kiln_watch w;
  kiln_watch_init(&w, KILN_WATCH_ABOVE, 10, 0);
  struct kiln_watch_fire f;
  assert_false(kiln_watch_feed(&w, 0, 10, &f));
  assert_true(kiln_watch_feed(&w, 1, 11, &f));
  assert_true(f.t == 1.0 && f.since == 1.0 && f.held == 0.0);
  assert_false(kiln_watch_feed(&w, 2, 12, &f));
}

static void uncorrectable_increase_fires_immediately(void **state) {
  (void)state;
  struct kiln_watch w;
  kiln_watch_init(&w, KILN_WATCH_INCREASE, 0, 0);
  struct kiln_watch_fire f;
  /* Errors from before the run (3) are the baseline, not a failure. */
  assert_false(kiln_watch_feed(&w, 0, 3, &f));
  assert_false(kiln_watch_feed(&w, 1, 3, &f));
  assert_true(kiln_watch_feed(&w, 2, 4, &f));
  assert_true(f.op == KILN_WATCH_INCREASE);
  assert_true(f.t == 2.0 && f.since == 2.0 && f.value == 1.0);
  /* It does not fire again for the same (lasting) rise. */
  assert_false(kiln_watch_feed(&w, 3, 5, &f));
  char msg[200];
  kiln_watch_describe(&f, "mc0 UE", "count", msg, sizeof msg);
  assert_string_equal(
      msg, "mc0 UE rose by 1 count (limit 0) at t=2.0 s, held 0.0 s since "
           "t=2.0 s");
}

static void correctable_count_over_a_threshold(void **state) {
  (void)state;
  struct kiln_watch w;
  kiln_watch_init(&w, KILN_WATCH_INCREASE, 10, 0);
  struct kiln_watch_fire f;
  assert_false(kiln_watch_feed(&w, 0, 100, &f));
  assert_false(kiln_watch_feed(&w, 1, 105, &f));
  assert_false(kiln_watch_feed(&w, 2, 110, &f)); /* rose by 10: not over */
  assert_true(kiln_watch_feed(&w, 3, 111, &f));
  assert_true(f.value == 11.0 && f.t == 3.0);
}

static void counter_reset_keeps_what_it_had_risen(void **state) {
  (void)state;
  struct kiln_watch w;
  kiln_watch_init(&w, KILN_WATCH_INCREASE, 5, 0);
  struct kiln_watch_fire f;
  assert_false(kiln_watch_feed(&w, 0, 10, &f));
  assert_false(kiln_watch_feed(&w, 1, 14, &f)); /* +4 */
  assert_false(kiln_watch_feed(&w, 2, 0, &f));  /* reset: still +4 */
  assert_false(kiln_watch_feed(&w, 3, 1, &f));  /* +5 */
  assert_true(kiln_watch_feed(&w, 4, 2, &f));   /* +6 */
  assert_true(f.value == 6.0);
}

static void throttle_increase_with_a_hold(void **state) {
  (void)state;
  /* Counters do not flap: a hold only delays the firing. */
  struct kiln_watch w;
  kiln_watch_init(&w, KILN_WATCH_INCREASE, 0, 2);
  const double v[] = {7, 7, 9, 9, 9, 12};
  struct kiln_watch_fire f;
  assert_int_equal(feed_series(&w, 0, v, 6, &f), 1);
  assert_true(f.since == 2.0 && f.t == 4.0 && f.value == 2.0);
}

static void nan_samples_are_ignored(void **state) {
  (void)state;
  struct kiln_watch w;
  kiln_watch_init(&w, KILN_WATCH_ABOVE, 50, 2);
  struct kiln_watch_fire f;
  assert_false(kiln_watch_feed(&w, 0, 60, &f));
  assert_false(kiln_watch_feed(&w, 1, NAN, &f));
  assert_true(kiln_watch_pending(&w));
  assert_true(kiln_watch_feed(&w, 2, 61, &f));
  assert_true(f.since == 0.0);
  /* A counter's first NaN does not become its baseline. */
  kiln_watch_init(&w, KILN_WATCH_INCREASE, 0, 0);
  assert_false(kiln_watch_feed(&w, 0, NAN, &f));
  assert_false(kiln_watch_feed(&w, 1, 4, &f));
  assert_false(kiln_watch_feed(&w, 2, 4, &f));
  assert_true(kiln_watch_feed(&w, 3, 5, &f));
}

static void irregular_sampling_measures_real_time(void **state) {
  (void)state;
  struct kiln_watch w;
  kiln_watch_init(&w, KILN_WATCH_ABOVE, 90, 5);
  struct kiln_watch_fire f;
  assert_false(kiln_watch_feed(&w, 100.0, 91, &f));
  assert_false(kiln_watch_feed(&w, 102.5, 91, &f));
  assert_false(kiln_watch_feed(&w, 104.9, 91, &f));
  assert_true(kiln_watch_feed(&w, 105.2, 91, &f));
  assert_true(f.since == 100.0);
  assert_true(fabs(f.held - 5.2) < 1e-9);
}

static void default_watches_from_hardware_limits(void **state) {
  (void)state;
  struct kiln_watch w;
  struct kiln_tel_reading r = {.source = "sensors",
                               .id = "coretemp-isa-0000/temp1",
                               .label = "Package id 0",
                               .kind = KILN_TEL_TEMP_C,
                               .value = 50,
                               .min = NAN,
                               .max = 84,
                               .crit = 100};
  assert_true(kiln_watch_for_reading(&r, 5, &w));
  assert_true(w.op == KILN_WATCH_ABOVE && w.limit == 100.0 && w.hold == 5.0);
  r.crit = NAN; /* no crit: the max */
  assert_true(kiln_watch_for_reading(&r, 5, &w));
  assert_true(w.limit == 84.0);
  r.max = NAN;
  assert_false(kiln_watch_for_reading(&r, 5, &w));

  struct kiln_tel_reading fan = {.source = "sensors",
                                 .id = "nct6798-isa-0290/fan4",
                                 .label = "SYS_FAN2",
                                 .kind = KILN_TEL_FAN_RPM,
                                 .value = 0,
                                 .min = 400,
                                 .max = NAN,
                                 .crit = NAN};
  assert_true(kiln_watch_for_reading(&fan, 3, &w));
  assert_true(w.op == KILN_WATCH_BELOW && w.limit == 400.0 && w.hold == 3.0);
  fan.min = 0; /* min 0: the driver's "no minimum" */
  assert_false(kiln_watch_for_reading(&fan, 3, &w));

  struct kiln_tel_reading ue = {.source = "edac",
                                .id = "mc0/dimm1/ue_count",
                                .label = "DIMM_A1 UE",
                                .kind = KILN_TEL_COUNT,
                                .value = 0,
                                .min = NAN,
                                .max = NAN,
                                .crit = NAN};
  assert_true(kiln_watch_for_reading(&ue, 5, &w));
  assert_true(w.op == KILN_WATCH_INCREASE && w.limit == 0.0 && w.hold == 0.0);
  ue.id = "mc0/dimm1/ce_count"; /* CE thresholds come from the spec */
  assert_false(kiln_watch_for_reading(&ue, 5, &w));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(spike_shorter_than_hold_does_not_fire),
      cmocka_unit_test(held_for_hold_fires_once_with_its_start),
      cmocka_unit_test(exactly_at_limit_is_not_over),
      cmocka_unit_test(recovery_resets_the_hold),
      cmocka_unit_test(below_watch_for_fans),
      cmocka_unit_test(hold_zero_fires_at_the_first_sample),
      cmocka_unit_test(uncorrectable_increase_fires_immediately),
      cmocka_unit_test(correctable_count_over_a_threshold),
      cmocka_unit_test(counter_reset_keeps_what_it_had_risen),
      cmocka_unit_test(throttle_increase_with_a_hold),
      cmocka_unit_test(nan_samples_are_ignored),
      cmocka_unit_test(irregular_sampling_measures_real_time),
      cmocka_unit_test(default_watches_from_hardware_limits),
  };
  cmocka_set_message_output(CM_OUTPUT_TAP);
  return cmocka_run_group_tests(tests, NULL, NULL);
}
