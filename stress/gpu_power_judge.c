/* gpu.power's host side: judge, NVML sample, parameters and the step's
 * loop (see gpu_power_judge.h). The CUDA load is in gpu_power.cu, wired up in
 * gpu_power.c. */
#include "gpu_power_judge.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kiln/result.h"
#include "kiln/step.h"
#include "kiln/textutil.h"

/* The load must run this long after the warmup for a mean worth judging. */
#define MIN_JUDGED_SECONDS 1.0
/* The energy counter's mean is trusted when its readings span at least this
 * share of the judged time and it agrees with the power readings within
 * this factor; else the power readings' mean is judged. */
#define ENERGY_MIN_SPAN 0.5
#define ENERGY_AGREE 0.25

/* The GPU protecting itself for heat or a power excursion, apart from the
 * power brake, which has its own diagnosis. */
#define THERMAL_REASONS                                                        \
  (KILN_NVML_CLOCKS_PROTECTING & ~KILN_NVML_CLOCKS_HW_POWER_BRAKE)

static bool usable(double x) { return isfinite(x); }

/* A run of samples with some of a set of reasons (the NVML layer's hold),
 * and its highest temperature. */
struct track {
  struct kiln_nvml_hold h;
  double temp_max;
};

static void track_feed(struct track *tr, struct kiln_power_episode *ep,
                       unsigned long long reasons, double t, double temp) {
  bool was_active = tr->h.active;
  kiln_nvml_hold_feed(&tr->h, t, reasons);
  if (!tr->h.active)
    return;
  if (!was_active)
    tr->temp_max = NAN;
  if (usable(temp) && !(tr->temp_max >= temp))
    tr->temp_max = temp;
  if (tr->h.in_first)
    ep->temp_max_c = tr->temp_max;
}

static void track_end(const struct track *tr, struct kiln_power_episode *ep) {
  ep->fired = tr->h.held > 0;
  ep->count = tr->h.held;
  ep->since = tr->h.first_since;
  ep->held = tr->h.first_for;
  ep->reasons = tr->h.first_bits;
}

/* The energy counter's mean over the judged samples, or NaN with the
 * reason in note. */
static double energy_mean(const struct kiln_power_sample *s, size_t n,
                          double warmup, double judged_span, char *note,
                          size_t nn) {
  size_t count = 0, first = 0, last = 0;
  for (size_t i = 0; i < n; i++) {
    if (!(s[i].t >= warmup) || !s[i].have_energy)
      continue;
    if (count && s[i].energy_mj < s[last].energy_mj) {
      snprintf(note, nn,
               "the energy counter went backwards at %.1f s (%llu mJ after "
               "%llu mJ: reset or wrapped)",
               s[i].t, s[i].energy_mj, s[last].energy_mj);
      return NAN;
    }
    if (!count)
      first = i;
    last = i;
    count++;
  }
  if (count == 0) {
    snprintf(note, nn, "no energy counter readings");
    return NAN;
  }
  if (count < 2) {
    snprintf(note, nn, "only one energy counter reading");
    return NAN;
  }
  double span = s[last].t - s[first].t;
  if (!(span > 0) || span < ENERGY_MIN_SPAN * judged_span) {
    snprintf(note, nn,
             "the energy counter readings span %.1f s of the %.1f s judged",
             span > 0 ? span : 0, judged_span);
    return NAN;
  }
  return (double)(s[last].energy_mj - s[first].energy_mj) / 1e3 / span;
}

void kiln_power_judge(const struct kiln_power_sample *samples, size_t n,
                      const struct kiln_power_config *cfg,
                      struct kiln_power_verdict *v) {
  memset(v, 0, sizeof *v);
  v->mean_w = v->sample_mean_w = v->energy_mean_w = NAN;
  v->min_w = v->max_w = v->limit_w = v->share = NAN;
  v->temp_max_c = v->sm_mhz_mean = NAN;
  v->thermal.temp_max_c = v->brake.temp_max_c = NAN;
  v->n_samples = n;
  double sum_p = 0, sum_l = 0, sum_clk = 0;
  size_t n_l = 0, n_clk = 0;
  double t_first = NAN, t_last = NAN;
  struct track thermal, brake;
  kiln_nvml_hold_init(&thermal.h, THERMAL_REASONS, cfg->hold);
  kiln_nvml_hold_init(&brake.h, KILN_NVML_CLOCKS_HW_POWER_BRAKE, cfg->hold);
  for (size_t i = 0; i < n; i++) {
    const struct kiln_power_sample *s = &samples[i];
    if (!usable(s->t))
      continue;
    if (s->t < cfg->warmup) {
      if (s->have_reasons)
        v->warmup_reasons |= s->reasons;
      continue;
    }
    v->n_judged++;
    if (!usable(t_first))
      t_first = s->t;
    t_last = s->t;
    if (usable(s->power_w) && s->power_w >= 0) {
      sum_p += s->power_w;
      if (!v->n_power || s->power_w < v->min_w)
        v->min_w = s->power_w;
      if (!v->n_power || s->power_w > v->max_w)
        v->max_w = s->power_w;
      v->n_power++;
    }
    if (usable(s->limit_w) && s->limit_w > 0) {
      sum_l += s->limit_w;
      n_l++;
    }
    if (usable(s->temp_c) && !(v->temp_max_c >= s->temp_c))
      v->temp_max_c = s->temp_c;
    if (usable(s->sm_mhz) && s->sm_mhz >= 0) {
      sum_clk += s->sm_mhz;
      n_clk++;
    }
    if (!s->have_reasons)
      continue; /* an unread sample neither extends nor ends an episode */
    v->n_reasons++;
    v->reasons_seen |= s->reasons;
    if (s->reasons & KILN_NVML_CLOCKS_SW_POWER_CAP)
      v->n_power_cap++;
    track_feed(&thermal, &v->thermal, s->reasons, s->t, s->temp_c);
    track_feed(&brake, &v->brake, s->reasons, s->t, s->temp_c);
  }
  track_end(&thermal, &v->thermal);
  track_end(&brake, &v->brake);
  if (v->n_power)
    v->sample_mean_w = sum_p / (double)v->n_power;
  if (n_l)
    v->limit_w = sum_l / (double)n_l;
  if (n_clk)
    v->sm_mhz_mean = sum_clk / (double)n_clk;

  double span = v->n_judged ? t_last - t_first : 0;
  double em = energy_mean(samples, n, cfg->warmup, span, v->energy_note,
                          sizeof v->energy_note);
  if (usable(em) && usable(v->sample_mean_w) &&
      fabs(em - v->sample_mean_w) > ENERGY_AGREE * v->sample_mean_w) {
    snprintf(v->energy_note, sizeof v->energy_note,
             "the energy counter gives %.1f W, the power readings %.1f W "
             "(more than %.0f%% apart)",
             em, v->sample_mean_w, ENERGY_AGREE * 100);
    em = NAN;
  }
  v->energy_mean_w = em;
  if (usable(em)) {
    v->mean_from = KILN_POWER_MEAN_ENERGY;
    v->mean_w = em;
  } else if (v->n_power) {
    v->mean_from = KILN_POWER_MEAN_SAMPLES;
    v->mean_w = v->sample_mean_w;
  }
  if (usable(v->mean_w) && usable(v->limit_w)) {
    v->share = v->mean_w / v->limit_w;
    /* At exactly the share passes; the margin absorbs the rounding of
     * share x limit (0.85 x 700 is not exactly 595 in binary). */
    double floor_w = cfg->share * v->limit_w;
    v->power_low = v->mean_w < floor_w - 1e-9 * floor_w;
  }
}

bool kiln_power_check_config(const struct kiln_power_config *cfg,
                             double duration, char *why, size_t n) {
  if (!(cfg->share > 0 && cfg->share <= 1)) {
    snprintf(why, n, "parameter power_share = %g is not a share in (0, 1]",
             cfg->share);
    return false;
  }
  if (!(cfg->warmup >= 0 && isfinite(cfg->warmup))) {
    snprintf(why, n, "parameter warmup = %g s is not a duration", cfg->warmup);
    return false;
  }
  if (!(cfg->hold >= 0 && isfinite(cfg->hold))) {
    snprintf(why, n, "parameter hold = %g s is not a duration", cfg->hold);
    return false;
  }
  if (!(duration - cfg->warmup >= MIN_JUDGED_SECONDS)) {
    snprintf(why, n,
             "a %.1f s step leaves %.1f s of load after the %.1f s warmup: "
             "at least %.0f s is needed (a longer duration or a shorter "
             "warmup)",
             duration, duration > cfg->warmup ? duration - cfg->warmup : 0,
             cfg->warmup, MIN_JUDGED_SECONDS);
    return false;
  }
  return true;
}

void kiln_power_sample_read(const struct kiln_nvml *nv, kiln_nvml_device dev,
                            double t, struct kiln_power_sample *out) {
  memset(out, 0, sizeof *out);
  out->t = t;
  out->power_w = out->limit_w = out->temp_c = out->sm_mhz = NAN;
  unsigned int u = 0;
  if (nv->device_get_power_usage &&
      nv->device_get_power_usage(dev, &u) == KILN_NVML_SUCCESS)
    out->power_w = u / 1000.0;
  if (nv->device_get_enforced_power_limit &&
      nv->device_get_enforced_power_limit(dev, &u) == KILN_NVML_SUCCESS)
    out->limit_w = u / 1000.0;
  if (nv->device_get_temperature &&
      nv->device_get_temperature(dev, KILN_NVML_TEMPERATURE_GPU, &u) ==
          KILN_NVML_SUCCESS)
    out->temp_c = u;
  if (nv->device_get_clock_info &&
      nv->device_get_clock_info(dev, KILN_NVML_CLOCK_SM, &u) ==
          KILN_NVML_SUCCESS)
    out->sm_mhz = u;
  unsigned long long r = 0;
  if (nv->device_get_clocks_event_reasons &&
      nv->device_get_clocks_event_reasons(dev, &r) == KILN_NVML_SUCCESS) {
    out->have_reasons = true;
    out->reasons = r;
  }
  unsigned long long mj = 0;
  if (nv->device_get_total_energy_consumption &&
      nv->device_get_total_energy_consumption(dev, &mj) == KILN_NVML_SUCCESS) {
    out->have_energy = true;
    out->energy_mj = mj;
  }
}

/* ---- the step ---- */

struct run {
  struct kiln_step *s;
  const char *bus;
  char name[KILN_NVML_STRING_SIZE];
  struct kiln_power_config cfg;
  bool energy_counter; /* the driver has one */
};

/* The power draw and limit must be readable, or nothing can be judged:
 * false after ending the step as ERROR: the power cannot be judged. */
static bool power_readable(struct run *r, struct kiln_nvml *nv,
                           kiln_nvml_device dev, double *limit_w) {
  unsigned int mw = 0;
  kiln_nvml_return rc = KILN_NVML_ERROR_NOT_SUPPORTED;
  if (nv->device_get_power_usage)
    rc = nv->device_get_power_usage(dev, &mw);
  if (rc != KILN_NVML_SUCCESS) {
    kiln_step_error(r->s, "GPU %s (%s): NVML cannot read its power draw: %s",
                    r->bus, r->name,
                    nv->device_get_power_usage
                        ? kiln_nvml_error(nv, rc)
                        : "not supported by this driver");
    return false;
  }
  rc = KILN_NVML_ERROR_NOT_SUPPORTED;
  if (nv->device_get_enforced_power_limit)
    rc = nv->device_get_enforced_power_limit(dev, &mw);
  if (rc != KILN_NVML_SUCCESS || mw == 0) {
    kiln_step_error(
        r->s, "GPU %s (%s): NVML cannot read its enforced power limit: %s",
        r->bus, r->name,
        !nv->device_get_enforced_power_limit ? "not supported by this driver"
        : rc != KILN_NVML_SUCCESS            ? kiln_nvml_error(nv, rc)
                                             : "it reads 0 W");
    return false;
  }
  *limit_w = mw / 1000.0;
  return true;
}

__attribute__((format(printf, 4, 5))) static void
appendf(char *buf, size_t n, size_t *used, const char *fmt, ...) {
  if (*used >= n)
    return;
  va_list ap;
  va_start(ap, fmt);
  int w = vsnprintf(buf + *used, n - *used, fmt, ap);
  va_end(ap);
  *used = w < 0 ? n : *used + (size_t)w;
}

/* The figures, and one line on the mean power and how it was found. */
static void emit_figures(struct run *r, const struct kiln_power_verdict *v) {
  struct kiln_step *s = r->s;
  const char *bus = r->bus;
  kiln_emit_measurement(s, "power_w", v->mean_w, bus);
  if (isfinite(v->limit_w))
    kiln_emit_measurement(s, "power_limit_w", v->limit_w, bus);
  if (isfinite(v->share))
    kiln_emit_measurement(s, "power_share", v->share, bus);
  if (isfinite(v->temp_max_c))
    kiln_emit_measurement(s, "temp_max_c", v->temp_max_c, bus);
  if (isfinite(v->sm_mhz_mean))
    kiln_emit_measurement(s, "sm_clock_mhz", v->sm_mhz_mean, bus);

  char extra[256] = "";
  size_t used = 0;
  if (isfinite(v->share))
    appendf(extra, sizeof extra, &used, ", %.1f%% of the %.0f W enforced limit",
            v->share * 100, v->limit_w);
  else
    appendf(extra, sizeof extra, &used, ", enforced limit unread");
  if (v->n_power)
    appendf(extra, sizeof extra, &used, "; readings %.0f..%.0f W", v->min_w,
            v->max_w);
  if (isfinite(v->temp_max_c))
    appendf(extra, sizeof extra, &used, "; up to %.0f C", v->temp_max_c);
  if (isfinite(v->sm_mhz_mean))
    appendf(extra, sizeof extra, &used, "; SM clock mean %.0f MHz",
            v->sm_mhz_mean);
  kiln_emit_log(s, KILN_SEV_INFO,
                "GPU %s (%s): mean %.1f W under load (%s) over %zu samples "
                "after the %.1f s warmup%s",
                bus, r->name, v->mean_w,
                v->mean_from == KILN_POWER_MEAN_ENERGY ? "energy counter"
                                                       : "power readings",
                v->n_judged, r->cfg.warmup, extra);
  if (v->mean_from == KILN_POWER_MEAN_SAMPLES && r->energy_counter)
    kiln_emit_log(s, KILN_SEV_INFO,
                  "GPU %s: mean power from the power readings: %s", bus,
                  v->energy_note);
}

/* The clock event reasons seen: logged, never judged here. */
static void emit_reasons(struct run *r, const struct kiln_power_verdict *v) {
  struct kiln_step *s = r->s;
  const char *bus = r->bus;
  char text[256];
  if (v->n_power_cap)
    kiln_emit_log(s, KILN_SEV_INFO,
                  "GPU %s: SW power cap active in %zu of %zu samples (the "
                  "expected state at full load)",
                  bus, v->n_power_cap, v->n_reasons);
  unsigned long long other = v->reasons_seen & ~(KILN_NVML_CLOCKS_SW_POWER_CAP |
                                                 KILN_NVML_CLOCKS_PROTECTING);
  if (other) {
    kiln_nvml_clock_reasons_text(other, text, sizeof text);
    kiln_emit_log(s, KILN_SEV_WARNING,
                  "GPU %s: clock event reasons under load: %s", bus, text);
  }
  unsigned long long warm = v->warmup_reasons & KILN_NVML_CLOCKS_PROTECTING;
  if (warm) {
    kiln_nvml_clock_reasons_text(warm, text, sizeof text);
    kiln_emit_log(s, KILN_SEV_WARNING,
                  "GPU %s: during the %.1f s warmup (not judged): %s", bus,
                  r->cfg.warmup, text);
  }
  unsigned long long brief =
      v->reasons_seen & KILN_NVML_CLOCKS_PROTECTING &
      ~(v->thermal.fired ? THERMAL_REASONS : 0) &
      ~(v->brake.fired ? KILN_NVML_CLOCKS_HW_POWER_BRAKE : 0);
  if (brief) {
    kiln_nvml_clock_reasons_text(brief, text, sizeof text);
    kiln_emit_log(s, KILN_SEV_WARNING,
                  "GPU %s: %s under load, never for %.1f s (not judged: "
                  "brief ones are normal)",
                  bus, text, r->cfg.hold);
  }
}

/* The FAILs: a thermal slowdown or power brake held, power too low. */
static void emit_failures(struct run *r, const struct kiln_power_verdict *v) {
  struct kiln_step *s = r->s;
  const char *bus = r->bus;
  char text[256];
  if (v->thermal.fired) {
    kiln_nvml_clock_reasons_text(v->thermal.reasons, text, sizeof text);
    char temp[48] = "";
    if (isfinite(v->thermal.temp_max_c))
      snprintf(temp, sizeof temp, ", up to %.0f C", v->thermal.temp_max_c);
    kiln_emit_diagnosis(s, KILN_DIAG_FAIL, "gpu-thermal-throttle", bus,
                        "GPU %s (%s): %s for %.1f s from %.1f s into the "
                        "load%s (allowed: under %.1f s); %u such episode%s",
                        bus, r->name, text, v->thermal.held, v->thermal.since,
                        temp, r->cfg.hold, v->thermal.count,
                        v->thermal.count == 1 ? "" : "s");
  }
  if (v->brake.fired)
    kiln_emit_diagnosis(s, KILN_DIAG_FAIL, "gpu-power-brake", bus,
                        "GPU %s (%s): HW power brake slowdown at %.1f s into "
                        "the load for %.1f s (allowed: under %.1f s; %u "
                        "episode%s): the system asserted the GPU's power "
                        "brake (power supply or board power alarm)",
                        bus, r->name, v->brake.since, v->brake.held,
                        r->cfg.hold, v->brake.count,
                        v->brake.count == 1 ? "" : "s");
  if (v->power_low) {
    char clock[64] = "";
    if (isfinite(v->sm_mhz_mean))
      snprintf(clock, sizeof clock, "; SM clock mean %.0f MHz", v->sm_mhz_mean);
    kiln_emit_diagnosis(s, KILN_DIAG_FAIL, "gpu-power-low", bus,
                        "GPU %s (%s): mean power %.1f W under load is %.1f%% "
                        "of the %.0f W enforced limit, expected at least "
                        "%.0f%% (%.1f W)%s",
                        bus, r->name, v->mean_w, v->share * 100, v->limit_w,
                        r->cfg.share * 100, r->cfg.share * v->limit_w, clock);
  }
}

static void emit_verdict(struct run *r, const struct kiln_power_verdict *v) {
  struct kiln_step *s = r->s;
  const char *bus = r->bus;
  if (v->mean_from == KILN_POWER_MEAN_NONE) {
    kiln_step_error(s,
                    "GPU %s (%s): no power reading in the %zu samples after "
                    "the %.1f s warmup",
                    bus, r->name, v->n_judged, r->cfg.warmup);
    return;
  }
  emit_figures(r, v);
  emit_reasons(r, v);
  emit_failures(r, v);
}

void kiln_power_run(struct kiln_step *s, const struct kiln_power_load *load,
                    double interval) {
  struct run r = {.s = s, .bus = kiln_step_target(s)};
  if (!kiln_step_param_share(s, "power_share", &r.cfg.share) ||
      !kiln_step_param_seconds(s, "warmup", &r.cfg.warmup) ||
      !kiln_step_param_seconds(s, "hold", &r.cfg.hold))
    return;
  char why[512];
  double d = kiln_step_duration(s);
  if (!kiln_power_check_config(&r.cfg, d, why, sizeof why)) {
    kiln_step_error(s, "%s", why);
    return;
  }
  kiln_emit_progress(s, 0);
  /* Without NVML nothing can be judged: do not load the GPU for nothing. */
  struct kiln_nvml *nv = kiln_nvml_open(why, sizeof why);
  if (!nv) {
    kiln_step_error(s, "GPU %s: NVML not available: %s", r.bus, why);
    return;
  }
  kiln_nvml_device dev = NULL;
  kiln_nvml_return rc = kiln_nvml_device_by_bus(nv, r.bus, &dev);
  if (rc != KILN_NVML_SUCCESS) {
    kiln_step_error(s, "GPU %s: NVML handle: %s", r.bus,
                    kiln_nvml_error(nv, rc));
    kiln_nvml_close(nv);
    return;
  }
  if (nv->device_get_name(dev, r.name, sizeof r.name) != KILN_NVML_SUCCESS)
    snprintf(r.name, sizeof r.name, "unknown model");
  r.name[sizeof r.name - 1] = '\0';
  double limit_w = 0;
  if (!power_readable(&r, nv, dev, &limit_w)) {
    kiln_nvml_close(nv);
    return;
  }
  r.energy_counter = nv->device_get_total_energy_consumption != NULL;
  char info[512] = "";
  int lrc = load->open(load->ctx, r.bus, info, sizeof info, why, sizeof why);
  if (lrc != 0) {
    if (lrc == 1)
      kiln_step_skip(s, "%s", why);
    else
      kiln_step_error(s, "GPU %s: %s", r.bus, why);
    kiln_nvml_close(nv);
    return;
  }
  kiln_emit_log(s, KILN_SEV_INFO,
                "GPU %s (%s): %s; enforced power limit %.0f W, mean power "
                "after a %.1f s warmup must reach %.0f%% of it (%.0f W)%s",
                r.bus, r.name, info, limit_w, r.cfg.warmup, r.cfg.share * 100,
                r.cfg.share * limit_w,
                r.energy_counter
                    ? ""
                    : "; no energy counter in this driver, the mean is of "
                      "the power readings");

  size_t cap = 256, n = 0;
  struct kiln_power_sample *samples = kiln_xcalloc(cap, sizeof *samples);
  double t0 = kiln_monotonic_now(), next = t0, last_progress = t0;
  while (kiln_step_time_left(s)) {
    if (load->step(load->ctx, why, sizeof why) != 0) {
      kiln_step_error(s, "GPU %s: %s", r.bus, why);
      break;
    }
    double now = kiln_monotonic_now();
    if (now >= next) {
      if (n == cap) {
        cap *= 2;
        samples = kiln_xrealloc(samples, cap * sizeof *samples);
      }
      kiln_power_sample_read(nv, dev, now - t0, &samples[n++]);
      kiln_emit_running(s, "power_w", samples[n - 1].power_w, r.bus);
      next += interval;
      if (next <= now)
        next = now + interval;
    }
    if (now - last_progress >= 1.0) {
      kiln_emit_progress(s, d > 0 ? (now - t0) / d : 1);
      last_progress = now;
    }
  }
  char summary[512] = "";
  if (!kiln_step_ended(s) &&
      load->finish(load->ctx, summary, sizeof summary, why, sizeof why) != 0)
    kiln_step_error(s, "GPU %s: %s", r.bus, why);
  load->close(load->ctx);
  kiln_nvml_close(nv);
  if (!kiln_step_ended(s)) {
    if (summary[0])
      kiln_emit_log(s, KILN_SEV_INFO, "GPU %s: %s", r.bus, summary);
    struct kiln_power_verdict v;
    kiln_power_judge(samples, n, &r.cfg, &v);
    emit_verdict(&r, &v);
    if (!kiln_step_ended(s))
      kiln_emit_progress(s, 1.0);
  }
  free(samples);
}
