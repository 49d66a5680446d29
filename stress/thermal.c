/* thermal: temperatures, fans, power and CPU throttling watched for the
 * whole run in the parent (its hook below; the telemetry sampler,
 * src/run/sampler.c, drives it: include/kiln/monitor.h). A limit fails the
 * step only when it holds for `hold`, so one noisy sample does not fail a
 * run; the diagnosis names the sensor, the value, the limit, the time and
 * the steps that were running. It also watches the GPUs' ECC counts (from
 * NVML) against the edac monitor's limits. */
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "kiln/module.h"
#include "kiln/monitor.h"
#include "kiln/spec.h"
#include "kiln/telemetry.h"
#include "kiln/watch.h"

enum thermal_role {
  ROLE_NONE,
  ROLE_TEMP,
  ROLE_FAN,
  ROLE_THROTTLE,
  ROLE_CE,
  ROLE_UE
};

struct thermal {
  double hold, temp_max, fan_min, throttle_max, ce_max, ue_max;
  double temp_hi, fan_lo; /* seen so far */
  char temp_hi_id[160], fan_lo_id[160];
};

static int thermal_setup(struct kiln_monitor *m, char *err, size_t n) {
  struct thermal *t = kiln_monitor_state(m);
  const struct kiln_spec *spec = kiln_monitor_spec(m);
  const struct kiln_spec_watches unset = {NAN, NAN, NAN, NAN, NAN, NAN};
  const struct kiln_spec_watches *w = spec ? &spec->watch : &unset;
  double interval;
  /* A GPU's ECC counts are judged like a DIMM's, by the edac monitor's
   * limits (none allowed when it is not in the run). */
  if (kiln_monitor_limit(m, NULL, "interval", NAN, &interval, err, n) ||
      kiln_monitor_limit(m, NULL, "hold", w->hold, &t->hold, err, n) ||
      kiln_monitor_limit(m, NULL, "temp_max", w->temp_max, &t->temp_max, err,
                         n) ||
      kiln_monitor_limit(m, NULL, "fan_min", w->fan_min, &t->fan_min, err, n) ||
      kiln_monitor_limit(m, NULL, "throttle_max", w->throttle_max,
                         &t->throttle_max, err, n) ||
      kiln_monitor_limit(m, "edac", "ce_max", w->ce_max, &t->ce_max, err, n) ||
      kiln_monitor_limit(m, "edac", "ue_max", w->ue_max, &t->ue_max, err, n))
    return -1;
  if (isnan(t->hold))
    t->hold = KILN_WATCH_DEFAULT_HOLD;
  if (isnan(t->throttle_max))
    t->throttle_max = 0;
  if (isnan(t->ce_max))
    t->ce_max = 0;
  if (isnan(t->ue_max))
    t->ue_max = 0;
  t->temp_hi = -INFINITY;
  t->fan_lo = INFINITY;
  kiln_monitor_set_timing(m,
                          isnan(interval)  ? 0
                          : interval < 0.1 ? 0.1
                                           : interval,
                          t->hold);
  return 0;
}

static enum thermal_role role_of(const struct kiln_tel_reading *r) {
  /* A GPU's ECC counts are judged like a DIMM's; its other counters
   * (replays, NVLink errors, clock-event reasons) are recorded here and
   * judged by the GPU modules, before and after their own load. */
  if (strcmp(r->source, "nvml") == 0 && r->kind == KILN_TEL_COUNT) {
    const char *slash = strrchr(r->id, '/');
    const char *last = slash ? slash + 1 : r->id;
    return strcmp(last, "ecc_corrected") == 0     ? ROLE_CE
           : strcmp(last, "ecc_uncorrected") == 0 ? ROLE_UE
                                                  : ROLE_NONE;
  }
  switch (r->kind) {
  case KILN_TEL_TEMP_C: return ROLE_TEMP;
  case KILN_TEL_FAN_RPM: return ROLE_FAN;
  case KILN_TEL_COUNT: return ROLE_THROTTLE;
  default: return ROLE_NONE;
  }
}

/* The watch a series gets: the profile's limit, else the hardware's own. */
static void thermal_watch(struct kiln_monitor *m,
                          const struct kiln_tel_reading *r,
                          struct kiln_monitor_series *s) {
  const struct thermal *t = kiln_monitor_state(m);
  s->role = role_of(r);
  s->watched = true;
  switch (s->role) {
  case ROLE_TEMP:
    s->symptom = "temp-over-limit";
    if (!isnan(t->temp_max))
      kiln_watch_init(&s->watch, KILN_WATCH_ABOVE, t->temp_max, t->hold);
    else
      s->watched = kiln_watch_for_reading(r, t->hold, &s->watch);
    break;
  case ROLE_FAN:
    s->symptom = "fan-under-limit";
    if (!isnan(t->fan_min))
      kiln_watch_init(&s->watch, KILN_WATCH_BELOW, t->fan_min, t->hold);
    else
      s->watched = kiln_watch_for_reading(r, t->hold, &s->watch);
    break;
  case ROLE_THROTTLE:
    s->symptom = "cpu-throttle";
    kiln_watch_init(&s->watch, KILN_WATCH_INCREASE, t->throttle_max, 0);
    break;
  case ROLE_CE:
    s->symptom = "edac-correctable";
    kiln_watch_init(&s->watch, KILN_WATCH_INCREASE, t->ce_max, 0);
    break;
  case ROLE_UE:
    s->symptom = "edac-uncorrectable";
    kiln_watch_init(&s->watch, KILN_WATCH_INCREASE, t->ue_max, 0);
    break;
  default: s->watched = false;
  }
  /* Throttle counts are recorded and watched, but a host with only them
   * still has no temperature or fan to watch. */
  s->judged = s->role != ROLE_NONE && s->role != ROLE_THROTTLE;
}

/* The hottest temperature and the slowest fan, with the sensor's name. */
static void thermal_reading(struct kiln_monitor *m,
                            const struct kiln_monitor_series *s, double value) {
  struct thermal *t = kiln_monitor_state(m);
  if (s->role == ROLE_TEMP && value > t->temp_hi) {
    t->temp_hi = value;
    snprintf(t->temp_hi_id, sizeof t->temp_hi_id, "%s", s->name);
  }
  if (s->role == ROLE_FAN && value < t->fan_lo) {
    t->fan_lo = value;
    snprintf(t->fan_lo_id, sizeof t->fan_lo_id, "%s", s->name);
  }
}

static void thermal_end(struct kiln_monitor *m, char *skip_why, size_t n) {
  const struct thermal *t = kiln_monitor_state(m);
  double cost_sum;
  size_t samples = kiln_monitor_samples(m, &cost_sum);
  kiln_monitor_measure(m, "samples", (double)samples, NULL);
  if (samples)
    kiln_monitor_measure(m, "sample_ms", 1000 * cost_sum / (double)samples,
                         NULL);
  if (isfinite(t->temp_hi))
    kiln_monitor_measure(m, "temp_max_c", t->temp_hi, t->temp_hi_id);
  if (isfinite(t->fan_lo))
    kiln_monitor_measure(m, "fan_min_rpm", t->fan_lo, t->fan_lo_id);
  if (!kiln_monitor_saw(m)) {
    /* The CPU's counters alone are no reason: they are not what it is for. */
    char sources[500];
    kiln_monitor_source_reasons(m, "cpu", sources, sizeof sources);
    snprintf(skip_why, n, "no temperature or fan sensors: %s",
             sources[0] ? sources : "no source");
  }
}

static const char *const thermal_sources[] = {"sensors", "cpu", "ipmi", "nvml",
                                              NULL};

static const struct kiln_monitor_hook thermal_hook = {
    .sources = thermal_sources,
    .state_size = sizeof(struct thermal),
    .setup = thermal_setup,
    .watch = thermal_watch,
    .reading = thermal_reading,
    .end = thermal_end,
};

static const struct kiln_param_spec thermal_params[] = {
    {"interval", "1s", "time between samples", .kind = KILN_PARAM_DURATION},
    {"hold", "5s", "how long a limit must be broken before it fails",
     .kind = KILN_PARAM_DURATION},
    {"temp_max", "",
     "°C every temperature must stay under (default: each "
     "sensor's own crit, else max)",
     .kind = KILN_PARAM_NUMBER, .min = 0, .max = INFINITY},
    {"fan_min", "",
     "RPM every fan must stay over (default: each fan's own "
     "min, when set)",
     .kind = KILN_PARAM_NUMBER, .min = 0, .max = INFINITY},
    {"throttle_max", "0",
     "CPU thermal-throttle events allowed per core or "
     "package over the run",
     .kind = KILN_PARAM_NUMBER, .min = 0, .max = INFINITY},
    {0},
};

static const struct kiln_measurement_spec thermal_measurements[] = {
    {"temp_max_c", "C", "the highest temperature seen"},
    {"fan_min_rpm", "RPM", "the lowest fan speed seen"},
    {"samples", "", "telemetry samples taken"},
    {"sample_ms", "ms", "mean cost of one sample of every source"},
    {NULL, NULL, NULL},
};

const struct kiln_module kiln_module_thermal = {
    .name = "thermal",
    .summary = "temperatures, fans and throttling watched for the whole run",
    .targets = KILN_TARGETS_MONITOR,
    .params = thermal_params,
    .measurements = thermal_measurements,
    .key_measurement = "temp_max_c",
    .monitor = &thermal_hook,
};
