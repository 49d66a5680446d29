/* gpu.power without a GPU: the judge over hand-made NVML samples (mean
 * under, at and over the share, warmup left out, thermal slowdowns shorter
 * and longer than the hold, the power brake, the energy counter used when
 * sound and the power readings when it is absent, wrapped, stuck or
 * short, NaN readings), the parameters' checks, the step's loop with a fake
 * load and the fake NVML (SKIP without NVML before loading, each FAIL with
 * its message, the load's SKIP and ERROR), the CUDA=0 SKIP; and the
 * theoretical HBM bandwidth table of the memory bench. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <cmocka.h>

#include "../../stress/gpu_mem.h"
#include "../../stress/gpu_power_judge.h"
#include "core/wire.h"
#include "fake_nvml.h"
#include "fsutil.h"
#include "harness.h"
#include "kiln/module.h"
#include "kiln/nvml.h"
#include "kiln/result.h"
#include "kiln/textutil.h"
#include "run/runner.h"

#define BUS "0000:1b:00.0"
#define NMAX 200

/* ---- samples ---- */

static struct kiln_power_sample S[NMAX];

/* n samples 250 ms apart from t = 0 at power_w of a 700 W limit, 60 C,
 * 1755 MHz, no reasons, no energy counter. */
static size_t steady(size_t n, double power_w) {
  assert_true(n <= NMAX);
  memset(S, 0, sizeof S);
  for (size_t i = 0; i < n; i++)
    S[i] = (struct kiln_power_sample){
        .t = 0.25 * (double)i,
        .power_w = power_w,
        .limit_w = 700,
        .temp_c = 60,
        .sm_mhz = 1755,
        .have_reasons = true,
    };
  return n;
}

/* Sets reasons on the samples with lo <= t <= hi. */
static void reasons(size_t n, double lo, double hi, unsigned long long r) {
  for (size_t i = 0; i < n; i++)
    if (S[i].t >= lo && S[i].t <= hi)
      S[i].reasons = r;
}

/* An energy counter from base mJ drawing w watts. */
static void energy(size_t n, unsigned long long base, double w) {
  for (size_t i = 0; i < n; i++) {
    S[i].have_energy = true;
    S[i].energy_mj = base + (unsigned long long)llround(w * S[i].t * 1000);
  }
}

static const struct kiln_power_config CFG = {
    .warmup = 5, .hold = 2, .share = 0.85};

static void judge(size_t n, struct kiln_power_verdict *v) {
  kiln_power_judge(S, n, &CFG, v);
}

static void steady_load_passes(void **state) {
  struct kiln_power_verdict v;
  judge(steady(40, 650), &v);
  assert_int_equal(v.n_samples, 40);
  assert_int_equal(v.n_judged, 20); /* t = 5.0 .. 9.75 */
  assert_int_equal(v.n_power, 20);
  assert_int_equal(v.mean_from, KILN_POWER_MEAN_SAMPLES);
  assert_true(v.mean_w == 650);
  assert_true(v.limit_w == 700);
  assert_true(fabs(v.share - 650.0 / 700) < 1e-12);
  assert_true(v.temp_max_c == 60);
  assert_true(v.sm_mhz_mean == 1755);
  assert_true(v.min_w == 650 && v.max_w == 650);
  assert_false(v.power_low);
  assert_false(v.thermal.fired);
  assert_false(v.brake.fired);
  assert_non_null(strstr(v.energy_note, "no energy counter"));
}

static void under_the_share_fails(void **state) {
  struct kiln_power_verdict v;
  judge(steady(40, 580), &v);
  assert_true(v.power_low);
  assert_true(fabs(v.share - 580.0 / 700) < 1e-12);
  /* A mean a watt under 85% of 700 W. */
  judge(steady(40, 594), &v);
  assert_true(v.power_low);
}

static void exactly_at_the_share_passes(void **state) {
  struct kiln_power_verdict v;
  judge(steady(40, 595), &v); /* 0.85 x 700, not exact in binary */
  assert_false(v.power_low);
  judge(steady(40, 594.99), &v);
  assert_true(v.power_low);
  struct kiln_power_config half = CFG;
  /* 0.55 x 700 is 385.00000000000006 in binary: 385 W must still pass. */
  half.share = 0.55;
  steady(40, 385);
  kiln_power_judge(S, 40, &half, &v);
  assert_false(v.power_low);
  half.share = 0.5;
  steady(40, 350);
  kiln_power_judge(S, 40, &half, &v);
  assert_false(v.power_low);
  half.share = 1;
  steady(40, 700);
  kiln_power_judge(S, 40, &half, &v);
  assert_false(v.power_low);
  S[30].power_w = 699; /* mean just under the whole limit */
  kiln_power_judge(S, 40, &half, &v);
  assert_true(v.power_low);
}

static void the_warmup_is_not_judged(void **state) {
  struct kiln_power_verdict v;
  size_t n = steady(40, 650);
  for (size_t i = 0; i < n; i++)
    if (S[i].t < 5) {
      S[i].power_w = 100 + 20 * S[i].t; /* ramping up */
      S[i].temp_c = 95;
      S[i].reasons = KILN_NVML_CLOCKS_HW_THERMAL;
      S[i].have_energy = true; /* only in the warmup: not used */
      S[i].energy_mj = 1000 * i;
    }
  judge(n, &v);
  assert_true(v.mean_w == 650);
  assert_int_equal(v.n_judged, 20);
  assert_true(v.temp_max_c == 60);
  assert_false(v.thermal.fired);
  assert_true(v.warmup_reasons == KILN_NVML_CLOCKS_HW_THERMAL);
  assert_true(v.reasons_seen == 0);
  assert_int_equal(v.mean_from, KILN_POWER_MEAN_SAMPLES);
  /* The sample at exactly the warmup is judged. */
  S[20].power_w = 450; /* t = 5.0 */
  judge(n, &v);
  assert_true(fabs(v.mean_w - (19 * 650.0 + 450) / 20) < 1e-9);
  assert_true(v.min_w == 450);
  /* A warmup longer than the samples leaves nothing to judge. */
  struct kiln_power_config late = CFG;
  late.warmup = 100;
  kiln_power_judge(S, n, &late, &v);
  assert_int_equal(v.n_judged, 0);
  assert_int_equal(v.mean_from, KILN_POWER_MEAN_NONE);
  assert_true(isnan(v.mean_w));
  assert_false(v.power_low);
}

static void a_short_thermal_slowdown_passes(void **state) {
  struct kiln_power_verdict v;
  size_t n = steady(60, 650);
  /* 6.0 .. 7.75: held 1.75 s of the 2 s allowed. */
  reasons(n, 6.0, 7.75, KILN_NVML_CLOCKS_SW_THERMAL);
  judge(n, &v);
  assert_false(v.thermal.fired);
  assert_int_equal(v.thermal.count, 0);
  assert_true(v.reasons_seen == KILN_NVML_CLOCKS_SW_THERMAL);
  /* Another one after a clear sample: 3.5 s in all, never 2 s on end. */
  reasons(n, 8.25, 9.75, KILN_NVML_CLOCKS_HW_THERMAL);
  judge(n, &v);
  assert_false(v.thermal.fired);
  /* The SW power cap at the same time changes nothing. */
  for (size_t i = 0; i < n; i++)
    S[i].reasons |= KILN_NVML_CLOCKS_SW_POWER_CAP;
  judge(n, &v);
  assert_false(v.thermal.fired);
  assert_int_equal(v.n_power_cap, v.n_reasons);
}

static void a_long_thermal_slowdown_fails(void **state) {
  struct kiln_power_verdict v;
  size_t n = steady(60, 650);
  /* 6.0 .. 8.0: held exactly the hold. */
  reasons(n, 6.0, 8.0, KILN_NVML_CLOCKS_SW_THERMAL);
  S[30].temp_c = 88; /* t = 7.5 */
  judge(n, &v);
  assert_true(v.thermal.fired);
  assert_int_equal(v.thermal.count, 1);
  assert_true(v.thermal.since == 6.0);
  assert_true(v.thermal.held == 2.0);
  assert_true(v.thermal.reasons == KILN_NVML_CLOCKS_SW_THERMAL);
  assert_true(v.thermal.temp_max_c == 88);
  assert_false(v.brake.fired);
  /* It goes on to 9.0 with HW thermal too: its whole length and both
   * reasons are reported. */
  reasons(n, 8.25, 9.0,
          KILN_NVML_CLOCKS_SW_THERMAL | KILN_NVML_CLOCKS_HW_THERMAL);
  judge(n, &v);
  assert_true(v.thermal.held == 3.0);
  assert_true(v.thermal.reasons ==
              (KILN_NVML_CLOCKS_SW_THERMAL | KILN_NVML_CLOCKS_HW_THERMAL));
  /* A second long one is counted; the first is the one described. */
  reasons(n, 11.0, 14.0, KILN_NVML_CLOCKS_HW_SLOWDOWN);
  judge(n, &v);
  assert_int_equal(v.thermal.count, 2);
  assert_true(v.thermal.since == 6.0);
  /* HW slowdown alone is a thermal reason too. */
  steady(60, 650);
  reasons(n, 10.0, 13.0, KILN_NVML_CLOCKS_HW_SLOWDOWN);
  judge(n, &v);
  assert_true(v.thermal.fired);
  assert_true(v.thermal.since == 10.0);
  /* An unread sample in the middle neither ends nor extends it. */
  steady(60, 650);
  reasons(n, 6.0, 8.0, KILN_NVML_CLOCKS_SW_THERMAL);
  S[28].have_reasons = false; /* t = 7.0 */
  judge(n, &v);
  assert_true(v.thermal.fired);
  assert_true(v.thermal.held == 2.0);
  /* Hold 0: any sample fails. */
  steady(60, 650);
  reasons(n, 7.0, 7.0, KILN_NVML_CLOCKS_HW_THERMAL);
  struct kiln_power_config now = CFG;
  now.hold = 0;
  kiln_power_judge(S, n, &now, &v);
  assert_true(v.thermal.fired);
  assert_true(v.thermal.held == 0);
}

static void the_power_brake_fails_when_held(void **state) {
  struct kiln_power_verdict v;
  size_t n = steady(40, 650);
  /* One sample of it is no verdict (NVML's protection can blip). */
  reasons(n, 7.5, 7.5, KILN_NVML_CLOCKS_HW_POWER_BRAKE);
  judge(n, &v);
  assert_false(v.brake.fired);
  assert_true(v.reasons_seen == KILN_NVML_CLOCKS_HW_POWER_BRAKE);
  /* Held for the hold: fails. */
  reasons(n, 7.0, 9.0, KILN_NVML_CLOCKS_HW_POWER_BRAKE);
  judge(n, &v);
  assert_true(v.brake.fired);
  assert_true(v.brake.since == 7.0);
  assert_true(v.brake.held == 2.0);
  assert_int_equal(v.brake.count, 1);
  assert_false(v.thermal.fired);
  assert_false(v.power_low);
  /* During the warmup it is only remembered. */
  steady(40, 650);
  reasons(n, 1.0, 2.0, KILN_NVML_CLOCKS_HW_POWER_BRAKE);
  judge(n, &v);
  assert_false(v.brake.fired);
  assert_true(v.warmup_reasons & KILN_NVML_CLOCKS_HW_POWER_BRAKE);
}

static void the_energy_counter_gives_the_mean(void **state) {
  struct kiln_power_verdict v;
  size_t n = steady(40, 600);
  energy(n, 1ULL << 40, 620);
  judge(n, &v);
  assert_int_equal(v.mean_from, KILN_POWER_MEAN_ENERGY);
  assert_true(fabs(v.mean_w - 620) < 1e-9);
  assert_true(fabs(v.energy_mean_w - 620) < 1e-9);
  assert_true(v.sample_mean_w == 600);
  /* It decides the verdict: readings over the share, energy under. */
  steady(40, 600);
  energy(n, 5000, 560);
  judge(n, &v);
  assert_int_equal(v.mean_from, KILN_POWER_MEAN_ENERGY);
  assert_true(v.power_low);
  /* A missing reading here and there is fine. */
  steady(40, 600);
  energy(n, 5000, 620);
  S[25].have_energy = false;
  S[39].have_energy = false;
  judge(n, &v);
  assert_int_equal(v.mean_from, KILN_POWER_MEAN_ENERGY);
  assert_true(fabs(v.mean_w - 620) < 1e-9);
  /* Without power readings at all, the energy counter alone. */
  steady(40, NAN);
  energy(n, 5000, 620);
  judge(n, &v);
  assert_int_equal(v.n_power, 0);
  assert_int_equal(v.mean_from, KILN_POWER_MEAN_ENERGY);
  assert_false(v.power_low);
}

static void a_bad_energy_counter_falls_back_to_the_readings(void **state) {
  struct kiln_power_verdict v;
  size_t n = steady(40, 650);
  /* Absent. */
  judge(n, &v);
  assert_int_equal(v.mean_from, KILN_POWER_MEAN_SAMPLES);
  assert_true(isnan(v.energy_mean_w));
  /* Wrapped: from near the top of 64 bits back to a small number. */
  energy(n, ~0ULL - 8000000ULL, 650);
  for (size_t i = 30; i < n; i++)
    S[i].energy_mj = 1000 * i;
  judge(n, &v);
  assert_int_equal(v.mean_from, KILN_POWER_MEAN_SAMPLES);
  assert_true(v.mean_w == 650);
  assert_non_null(strstr(v.energy_note, "backwards"));
  /* Reset (driver reload) to a lower value. */
  steady(40, 650);
  energy(n, 1000000000ULL, 650);
  S[35].energy_mj = 5;
  judge(n, &v);
  assert_int_equal(v.mean_from, KILN_POWER_MEAN_SAMPLES);
  /* One reading only. */
  steady(40, 650);
  S[22].have_energy = true;
  S[22].energy_mj = 123456;
  judge(n, &v);
  assert_int_equal(v.mean_from, KILN_POWER_MEAN_SAMPLES);
  assert_non_null(strstr(v.energy_note, "only one"));
  /* Readings over a sliver of the judged time. */
  steady(40, 650);
  for (size_t i = 20; i < 23; i++) {
    S[i].have_energy = true;
    S[i].energy_mj = 1000000 + 100000 * i;
  }
  judge(n, &v);
  assert_int_equal(v.mean_from, KILN_POWER_MEAN_SAMPLES);
  assert_non_null(strstr(v.energy_note, "span"));
  /* Stuck: 0 W by the counter against 650 W read. */
  steady(40, 650);
  energy(n, 777, 0);
  judge(n, &v);
  assert_int_equal(v.mean_from, KILN_POWER_MEAN_SAMPLES);
  assert_non_null(strstr(v.energy_note, "apart"));
  assert_false(v.power_low);
}

static void nan_samples_are_left_out(void **state) {
  struct kiln_power_verdict v;
  size_t n = steady(40, 650);
  for (size_t i = 20; i < n; i += 2) {
    S[i].power_w = NAN;
    S[i].limit_w = NAN;
    S[i].temp_c = NAN;
    S[i].sm_mhz = NAN;
  }
  S[21].power_w = INFINITY;
  S[23].temp_c = 70;
  S[25].limit_w = 600; /* the limit changed: its mean is judged against */
  S[27].t = NAN;       /* a sample without a time is dropped */
  S[27].power_w = 10;
  judge(n, &v);
  assert_int_equal(v.n_judged, 19);
  assert_int_equal(v.n_power, 8); /* 21 infinite, 27 dropped */
  assert_true(v.mean_w == 650);
  assert_true(v.temp_max_c == 70);
  assert_true(fabs(v.limit_w - (8 * 700.0 + 600) / 9) < 1e-9);
  assert_true(v.sm_mhz_mean == 1755);
  /* Nothing readable: no mean, no verdict on it. */
  steady(40, NAN);
  for (size_t i = 0; i < n; i++)
    S[i].limit_w = S[i].temp_c = S[i].sm_mhz = NAN;
  judge(n, &v);
  assert_int_equal(v.mean_from, KILN_POWER_MEAN_NONE);
  assert_true(isnan(v.mean_w) && isnan(v.share) && isnan(v.limit_w));
  assert_true(isnan(v.temp_max_c) && isnan(v.sm_mhz_mean));
  assert_false(v.power_low);
  /* No limit read: a mean but no share. */
  steady(40, 650);
  for (size_t i = 0; i < n; i++)
    S[i].limit_w = NAN;
  judge(n, &v);
  assert_true(v.mean_w == 650);
  assert_true(isnan(v.share));
  assert_false(v.power_low);
  /* No samples at all. */
  kiln_power_judge(S, 0, &CFG, &v);
  assert_int_equal(v.n_samples, 0);
  assert_int_equal(v.mean_from, KILN_POWER_MEAN_NONE);
}

static void parameters_are_checked(void **state) {
  char why[256];
  struct kiln_power_config c = CFG;
  assert_true(kiln_power_check_config(&c, 60, why, sizeof why));
  assert_true(kiln_power_check_config(&c, 6, why, sizeof why)); /* 1 s left */
  assert_false(kiln_power_check_config(&c, 5.5, why, sizeof why));
  assert_non_null(strstr(why, "after the 5.0 s warmup"));
  assert_false(kiln_power_check_config(&c, 0, why, sizeof why));
  c.share = 0;
  assert_false(kiln_power_check_config(&c, 60, why, sizeof why));
  assert_non_null(strstr(why, "power_share"));
  c.share = 1.2;
  assert_false(kiln_power_check_config(&c, 60, why, sizeof why));
  c.share = NAN;
  assert_false(kiln_power_check_config(&c, 60, why, sizeof why));
  c = CFG;
  c.warmup = -1;
  assert_false(kiln_power_check_config(&c, 60, why, sizeof why));
  assert_non_null(strstr(why, "warmup"));
  c = CFG;
  c.hold = NAN;
  assert_false(kiln_power_check_config(&c, 60, why, sizeof why));
  assert_non_null(strstr(why, "hold"));
  c = CFG;
  c.warmup = 0;
  c.hold = 0;
  assert_true(kiln_power_check_config(&c, 1, why, sizeof why));
}

/* ---- the module and its loop ---- */

static const struct kiln_wire_event *end_event(const struct captured *c) {
  for (size_t i = c->n; i-- > 0;)
    if (c->events[i].type == KILN_WIRE_END)
      return &c->events[i];
  return NULL;
}

/* Planned only for a GPU on the bus: without CUDA, an ERROR. */
static void without_cuda_it_errors(void **state) {
  const struct kiln_module *m = kiln_module_find("gpu.power");
  assert_non_null(m);
  assert_int_equal(m->targets, KILN_TARGETS_GPU);
  assert_true(m->stress);
  assert_string_equal(kiln_module_param(m, "power_share")->def, "85%");
  assert_string_equal(kiln_module_param(m, "warmup")->def, "5s");
  assert_string_equal(kiln_module_param(m, "hold")->def, "2s");
  static const char *const names[] = {"power_w", "power_limit_w", "power_share",
                                      "temp_max_c", "sm_clock_mhz"};
  for (size_t i = 0; i < 5; i++)
    assert_non_null(kiln_module_measurement(m, names[i]));
  char why[128];
  assert_false(m->available(why, sizeof why));
  assert_string_equal(why, "built without CUDA");
  struct captured c;
  harness_run_module("gpu.power", 10, NULL, NULL, &c);
  assert_int_equal(harness_end_verdict(&c), KILN_ERROR);
  assert_string_equal(end_event(&c)->message,
                      "this kiln was built without CUDA");
  assert_int_equal(harness_fail_diagnoses(&c, NULL, 0), 0);
  harness_free(&c);
}

/* A fake load: sleeps through each step; sets FAKE_REASONS to `reasons`
 * between `from` and `until` seconds after opening, "0" otherwise. */
struct fake_load {
  int open_rc, step_fail_at;
  int opened, steps, finished, closed;
  double t0, from, until;
  const char *reasons;
};
static struct fake_load FL;

static int fl_open(void *ctx, const char *bus, char *info, size_t info_n,
                   char *why, size_t n) {
  struct fake_load *l = ctx;
  l->opened++;
  l->t0 = kiln_monotonic_now();
  snprintf(info, info_n, "fake load");
  if (l->open_rc)
    snprintf(why, n, l->open_rc > 0 ? "no usable CUDA device: fake" : "boom");
  return l->open_rc;
}

static int fl_step(void *ctx, char *why, size_t n) {
  struct fake_load *l = ctx;
  if (++l->steps == l->step_fail_at) {
    snprintf(why, n, "power kernel: an illegal memory access");
    return -1;
  }
  double t = kiln_monotonic_now() - l->t0;
  setenv("FAKE_REASONS",
         l->reasons && t >= l->from && t < l->until ? l->reasons : "0", 1);
  struct timespec ts = {0, 10 * 1000 * 1000};
  nanosleep(&ts, NULL);
  return 0;
}

static int fl_finish(void *ctx, char *summary, size_t summary_n, char *why,
                     size_t n) {
  struct fake_load *l = ctx;
  l->finished++;
  snprintf(summary, summary_n, "%d fake launches", l->steps);
  return 0;
}

static void fl_close(void *ctx) { ((struct fake_load *)ctx)->closed++; }

static void fake_run(struct kiln_step *s) {
  const struct kiln_power_load load = {
      .ctx = &FL,
      .open = fl_open,
      .step = fl_step,
      .finish = fl_finish,
      .close = fl_close,
  };
  kiln_power_run(s, &load, 0.05);
}

static struct fake_nvml fake_driver;

static int setup_all(void **state) {
  return fake_nvml_setup(&fake_driver, "power", false);
}

static int teardown_all(void **state) {
  return fake_nvml_teardown(&fake_driver);
}

/* A healthy fake GPU at 650 W of 700 W, and a fresh fake load. */
static int reset(void **state) {
  setenv("KILN_NVML_LIB", fake_driver.lib, 1);
  setenv("FAKE_POWER_MW", "650000", 1);
  setenv("FAKE_REASONS", "0", 1);
  memset(&FL, 0, sizeof FL);
  return 0;
}

/* Runs the loop on target for duration with params (key, value pairs,
 * NULL-ended; warmup 0.1 s and hold 0.3 s unless given). */
static void run_power(const char *target, double duration,
                      const char *const *params, struct captured *out) {
  memset(out, 0, sizeof *out);
  struct kiln_module m = *kiln_module_find("gpu.power");
  m.run = fake_run;
  struct kiln_kv kv[8];
  size_t np = 0;
  bool warmup = false, hold = false;
  for (; params && params[2 * np]; np++) {
    assert_true(np < 6);
    kv[np].key = (char *)params[2 * np];
    kv[np].value = (char *)params[2 * np + 1];
    warmup |= strcmp(kv[np].key, "warmup") == 0;
    hold |= strcmp(kv[np].key, "hold") == 0;
  }
  if (!warmup)
    kv[np++] = (struct kiln_kv){.key = "warmup", .value = "0.1s"};
  if (!hold)
    kv[np++] = (struct kiln_kv){.key = "hold", .value = "0.3s"};
  struct kiln_step_config cfg = {
      .module = &m,
      .id = "gpu.power[0]",
      .target = target,
      .duration = duration,
      .params = kv,
      .n_params = np,
  };
  harness_run_step(&cfg, out);
}

static size_t count_type(const struct captured *c, enum kiln_wire_type t) {
  size_t k = 0;
  for (size_t i = 0; i < c->n; i++)
    k += c->events[i].type == t;
  return k;
}

/* The power cannot be judged: an ERROR, before the GPU is loaded. */
static void without_nvml_it_errors_before_loading(void **state) {
  setenv("KILN_NVML_LIB", "/nonexistent/libnvidia-ml.so.1", 1);
  struct captured c;
  run_power(BUS, 1.1, NULL, &c);
  assert_int_equal(harness_end_verdict(&c), KILN_ERROR);
  assert_non_null(strstr(end_event(&c)->message, "NVML not available: "));
  assert_int_equal(FL.opened, 0);
  harness_free(&c);
}

static void a_healthy_gpu_passes(void **state) {
  struct captured c;
  run_power(BUS, 1.1, NULL, &c);
  assert_int_equal(harness_end_verdict(&c), KILN_PASS);
  assert_int_equal(harness_fail_diagnoses(&c, NULL, 0), 0);
  assert_true(harness_measurement(&c, "power_w", BUS)->value == 650);
  assert_true(harness_measurement(&c, "power_limit_w", BUS)->value == 700);
  assert_true(fabs(harness_measurement(&c, "power_share", BUS)->value -
                   650.0 / 700) < 1e-9);
  assert_true(harness_measurement(&c, "temp_max_c", BUS)->value == 34);
  assert_true(harness_measurement(&c, "sm_clock_mhz", BUS)->value == 345);
  assert_string_equal(harness_measurement(&c, "power_w", BUS)->unit, "W");
  /* The power draw while it runs, a running figure of the GPU. */
  const struct kiln_wire_event *r = harness_running(&c, "power_w", BUS);
  assert_non_null(r);
  assert_true(r->value == 650);
  assert_string_equal(r->unit, "W");
  assert_int_equal(FL.opened, 1);
  assert_true(FL.steps > 10);
  assert_int_equal(FL.finished, 1);
  assert_int_equal(FL.closed, 1);
  assert_true(count_type(&c, KILN_WIRE_PROGRESS) >= 2);
  assert_true(harness_logged(&c, "fake load"));
  assert_true(harness_logged(&c, "fake launches"));
  assert_true(harness_logged(&c, "no energy counter")); /* the fake has none */
  harness_free(&c);
}

/* With the driver's energy counter, the mean comes from it. */
static void the_fake_energy_counter_gives_the_mean(void **state) {
  setenv("FAKE_ENERGY", "1", 1);
  struct captured c;
  run_power(BUS, 1.1, NULL, &c);
  unsetenv("FAKE_ENERGY");
  assert_int_equal(harness_end_verdict(&c), KILN_PASS);
  assert_int_equal(harness_fail_diagnoses(&c, NULL, 0), 0);
  assert_true(fabs(harness_measurement(&c, "power_w", BUS)->value - 650) < 1);
  assert_true(harness_logged(&c, "under load (energy counter)"));
  assert_false(harness_logged(&c, "no energy counter"));
  harness_free(&c);
}

static void low_power_fails(void **state) {
  setenv("FAKE_POWER_MW", "500000", 1);
  struct captured c;
  char msg[1024];
  run_power(BUS, 1.1, NULL, &c);
  assert_int_equal(harness_end_verdict(&c), KILN_PASS); /* judged above */
  assert_int_equal(harness_fail_symptom(&c, "gpu-power-low", msg, sizeof msg),
                   1);
  assert_non_null(strstr(msg, BUS));
  assert_non_null(strstr(msg, "H100"));
  assert_non_null(strstr(msg, "500.0 W"));
  assert_non_null(strstr(msg, "700 W"));
  assert_non_null(strstr(msg, "85%"));
  harness_free(&c);
  /* A SKU that expects less. */
  static const char *const share[] = {"power_share", "70%", NULL};
  run_power(BUS, 1.1, share, &c);
  assert_int_equal(harness_fail_symptom(&c, "gpu-power-low", NULL, 0), 0);
  harness_free(&c);
}

static void thermal_slowdowns_fail_when_held(void **state) {
  struct captured c;
  char msg[1024];
  /* Throughout. */
  FL.reasons = "0x20";
  FL.until = 100;
  run_power(BUS, 1.1, NULL, &c);
  assert_int_equal(
      harness_fail_symptom(&c, "gpu-thermal-throttle", msg, sizeof msg), 1);
  assert_non_null(strstr(msg, "SW thermal slowdown"));
  assert_non_null(strstr(msg, "into the load"));
  assert_non_null(strstr(msg, BUS));
  harness_free(&c);
  /* 0.1 s of a 0.3 s hold: passes. */
  reset(state);
  FL.reasons = "0x40";
  FL.from = 0.4;
  FL.until = 0.5;
  run_power(BUS, 1.1, NULL, &c);
  assert_int_equal(harness_fail_symptom(&c, "gpu-thermal-throttle", NULL, 0),
                   0);
  harness_free(&c);
  /* 0.6 s of it: fails, naming HW thermal. */
  reset(state);
  FL.reasons = "0x40";
  FL.from = 0.3;
  FL.until = 0.9;
  run_power(BUS, 1.3, NULL, &c);
  assert_int_equal(
      harness_fail_symptom(&c, "gpu-thermal-throttle", msg, sizeof msg), 1);
  assert_non_null(strstr(msg, "HW thermal slowdown"));
  harness_free(&c);
}

static void the_power_brake_fails(void **state) {
  struct captured c;
  char msg[1024];
  FL.reasons = "0x80";
  FL.until = 100;
  run_power(BUS, 1.1, NULL, &c);
  assert_int_equal(harness_fail_symptom(&c, "gpu-power-brake", msg, sizeof msg),
                   1);
  assert_non_null(strstr(msg, "power brake"));
  assert_int_equal(harness_fail_symptom(&c, "gpu-thermal-throttle", NULL, 0),
                   0);
  harness_free(&c);
}

static void the_sw_power_cap_is_logged(void **state) {
  struct captured c;
  FL.reasons = "0x4";
  FL.until = 100;
  run_power(BUS, 1.1, NULL, &c);
  assert_int_equal(harness_end_verdict(&c), KILN_PASS);
  assert_int_equal(harness_fail_diagnoses(&c, NULL, 0), 0);
  assert_true(harness_logged(&c, "SW power cap active"));
  harness_free(&c);
}

static void load_failures_end_the_step(void **state) {
  struct captured c;
  FL.open_rc = 1;
  run_power(BUS, 1.1, NULL, &c);
  assert_int_equal(harness_end_verdict(&c), KILN_SKIP);
  assert_non_null(strstr(end_event(&c)->message, "no usable CUDA device"));
  assert_int_equal(FL.closed, 0);
  harness_free(&c);
  reset(state);
  FL.open_rc = -1;
  run_power(BUS, 1.1, NULL, &c);
  assert_int_equal(harness_end_verdict(&c), KILN_ERROR);
  assert_string_equal(end_event(&c)->message, "GPU " BUS ": boom");
  harness_free(&c);
  reset(state);
  FL.step_fail_at = 5;
  run_power(BUS, 1.1, NULL, &c);
  assert_int_equal(harness_end_verdict(&c), KILN_ERROR);
  assert_non_null(strstr(end_event(&c)->message, "illegal memory access"));
  assert_int_equal(FL.finished, 0);
  assert_int_equal(FL.closed, 1);
  assert_null(harness_measurement(&c, "power_w", NULL));
  harness_free(&c);
}

static void bad_parameters_are_errors(void **state) {
  struct captured c;
  static const char *const share[] = {"power_share", "1.5", NULL};
  run_power(BUS, 1.1, share, &c);
  assert_int_equal(harness_end_verdict(&c), KILN_ERROR);
  assert_non_null(strstr(end_event(&c)->message, "power_share"));
  harness_free(&c);
  static const char *const warmup[] = {"warmup", "soon", NULL};
  run_power(BUS, 1.1, warmup, &c);
  assert_int_equal(harness_end_verdict(&c), KILN_ERROR);
  assert_non_null(strstr(end_event(&c)->message, "not a duration"));
  harness_free(&c);
  static const char *const hold[] = {"hold", "-2", NULL};
  run_power(BUS, 1.1, hold, &c);
  assert_int_equal(harness_end_verdict(&c), KILN_ERROR);
  harness_free(&c);
  static const char *const longwarm[] = {"warmup", "5s", NULL};
  run_power(BUS, 3.0, longwarm, &c);
  assert_int_equal(harness_end_verdict(&c), KILN_ERROR);
  assert_non_null(strstr(end_event(&c)->message, "warmup"));
  harness_free(&c);
  assert_int_equal(FL.opened, 0);
  /* A GPU NVML does not know. */
  run_power("0000:99:00.0", 1.1, NULL, &c);
  assert_int_equal(harness_end_verdict(&c), KILN_ERROR);
  assert_non_null(strstr(end_event(&c)->message, "NVML handle"));
  assert_int_equal(FL.opened, 0);
  harness_free(&c);
}

/* ---- theoretical bandwidth (the memory bench) ---- */

static void hbm_table(void **state) {
  static const struct {
    unsigned id;
    double gbps;
  } ids[] = {{0x2330, 3350}, {0x2331, 2000}, {0x2335, 4800}, {0x2321, 3900},
             {0x20b2, 2039}, {0x20b0, 1555}, {0x20b5, 1935}};
  for (size_t i = 0; i < sizeof ids / sizeof *ids; i++) {
    const struct kiln_hbm_spec *s = kiln_hbm_lookup(ids[i].id, NULL);
    assert_non_null(s);
    assert_true(s->gbps == ids[i].gbps);
    assert_int_equal(s->device_id, ids[i].id);
  }
  assert_string_equal(kiln_hbm_lookup(0x2330, NULL)->model, "H100 SXM5 80GB");
  /* The id wins over the name. */
  assert_true(kiln_hbm_lookup(0x2331, "NVIDIA H200")->gbps == 2000);
  /* By name, most specific first. */
  static const struct {
    const char *name;
    double gbps;
  } names[] = {
      {"NVIDIA H100 80GB HBM3", 3350}, {"NVIDIA H100 PCIe", 2000},
      {"NVIDIA H100 NVL", 3900},       {"NVIDIA H200", 4800},
      {"nvidia h200 nvl", 4800},       {"NVIDIA A100-SXM4-80GB", 2039},
      {"NVIDIA A100-SXM4-40GB", 1555}, {"NVIDIA A100 80GB PCIe", 1935}};
  for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
    const struct kiln_hbm_spec *s = kiln_hbm_lookup(0x9999, names[i].name);
    assert_non_null(s);
    assert_true(s->gbps == names[i].gbps);
    assert_int_equal(s->device_id, 0);
  }
  assert_null(kiln_hbm_lookup(0x1eb8, "Tesla T4"));
  assert_null(kiln_hbm_lookup(0, NULL));
  assert_null(kiln_hbm_lookup(0, ""));
}

static void hbm_from_clock(void **state) {
  /* H100 SXM5: 2619 MHz, 5120 bits; A100 80GB: 1593 MHz. */
  assert_true(fabs(kiln_hbm_gbps_from_clock(2619000, 5120) - 3352.32) < 1e-6);
  assert_true(fabs(kiln_hbm_gbps_from_clock(1593000, 5120) - 2039.04) < 1e-6);
  assert_true(kiln_hbm_gbps_from_clock(0, 5120) == 0);
  assert_true(kiln_hbm_gbps_from_clock(2619000, 0) == 0);
  assert_true(kiln_hbm_gbps_from_clock(2619000, -8) == 0);
  assert_true(kiln_hbm_gbps_from_clock(NAN, 5120) == 0);
}

static void pci_device_id_from_sysfs(void **state) {
  char dir[400], path[500];
  snprintf(dir, sizeof dir, "%s/pci", fake_driver.dir);
  assert_int_equal(mkdir(dir, 0700), 0);
  snprintf(path, sizeof path, "%s/" BUS, dir);
  assert_int_equal(mkdir(path, 0700), 0);
  snprintf(path, sizeof path, "%s/" BUS "/device", dir);
  fs_write_file(path, "0x2335\n");
  snprintf(path, sizeof path, "%s/" BUS "/vendor", dir);
  fs_write_file(path, "0x10de\n");
  snprintf(path, sizeof path, "%s/" BUS "/device", dir);
  setenv("KILN_SYSFS_PCI", dir, 1);
  assert_int_equal(kiln_gpu_pci_device_id(BUS), 0x2335);
  assert_int_equal(kiln_gpu_pci_device_id("0000:99:00.0"), 0);
  fs_write_file(path, "garbage\n");
  assert_int_equal(kiln_gpu_pci_device_id(BUS), 0);
  unsetenv("KILN_SYSFS_PCI");
}

int main(void) {
  cmocka_set_message_output(CM_OUTPUT_TAP);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(steady_load_passes),
      cmocka_unit_test(under_the_share_fails),
      cmocka_unit_test(exactly_at_the_share_passes),
      cmocka_unit_test(the_warmup_is_not_judged),
      cmocka_unit_test(a_short_thermal_slowdown_passes),
      cmocka_unit_test(a_long_thermal_slowdown_fails),
      cmocka_unit_test(the_power_brake_fails_when_held),
      cmocka_unit_test(the_energy_counter_gives_the_mean),
      cmocka_unit_test(a_bad_energy_counter_falls_back_to_the_readings),
      cmocka_unit_test(nan_samples_are_left_out),
      cmocka_unit_test(parameters_are_checked),
      cmocka_unit_test(without_cuda_it_errors),
      cmocka_unit_test_setup(without_nvml_it_errors_before_loading, reset),
      cmocka_unit_test_setup(a_healthy_gpu_passes, reset),
      cmocka_unit_test_setup(the_fake_energy_counter_gives_the_mean, reset),
      cmocka_unit_test_setup(low_power_fails, reset),
      cmocka_unit_test_setup(thermal_slowdowns_fail_when_held, reset),
      cmocka_unit_test_setup(the_power_brake_fails, reset),
      cmocka_unit_test_setup(the_sw_power_cap_is_logged, reset),
      cmocka_unit_test_setup(load_failures_end_the_step, reset),
      cmocka_unit_test_setup(bad_parameters_are_errors, reset),
      cmocka_unit_test(hbm_table),
      cmocka_unit_test(hbm_from_clock),
      cmocka_unit_test(pci_device_id_from_sysfs),
  };
  return cmocka_run_group_tests(tests, setup_all, teardown_all);
}
