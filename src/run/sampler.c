/* The telemetry sampler (see sampler.h). Single-threaded on purpose: it
 * runs from the runner's poll loop, so the result model and the sinks see
 * one writer; a sample of every local source costs well under a
 * millisecond, and a blocking one (the BMC) is sampled in its own thread
 * by the telemetry layer, so it is never waited for here: a BMC that stops
 * answering is a warning, then, after `hold`, an ERROR of the thermal
 * monitor. */
#include "run/sampler.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/profile.h"
#include "hw/bmc.h"
#include "kiln/spec.h"
#include "kiln/telemetry.h"
#include "kiln/textutil.h"
#include "kiln/watch.h"

enum role { ROLE_NONE, ROLE_TEMP, ROLE_FAN, ROLE_THROTTLE, ROLE_CE, ROLE_UE };

/* One telemetry series and the watch on it. */
struct watched {
  char *key;  /* "sensors/nct6798-isa-0290/fan1": the series id */
  char *name; /* "SYS_FAN2 (sensors/nct6798-isa-0290/fan1)" */
  char *hwid; /* the chip, controller or CPU */
  char *unit;
  enum kiln_tel_kind kind;
  enum role role;
  size_t step; /* its monitor step, an index in run->steps */
  struct kiln_series series;
  bool has_watch;
  struct kiln_watch watch;
  /* The hardware's own verdict (a BMC's CRITICAL), held like a limit. */
  struct kiln_watch critical;
  double first, last;
};

struct monitor {
  long index; /* in the plan and run->steps; -1 when not planned */
  bool saw;   /* a reading it judges arrived */
};

struct kiln_sampler {
  const struct kiln_plan *plan;
  struct monitor thermal, edac;
  double interval, hold, temp_max, fan_min, throttle_max, ce_max, ue_max;

  struct kiln_run *run;
  struct kiln_bus *bus;
  struct kiln_telemetry tel;
  bool tel_open;
  /* telemetry.csv: whole rows only (kiln_append_whole); once a row
   * cannot be written, no more rows, and csv_lost says why. */
  int csv_fd;
  off_t csv_size;
  char *csv_path;
  char *csv_lost;

  struct watched *w;
  size_t n, cap, cursor;
  double t0, last; /* monotonic */
  size_t samples;
  double cost_sum;
  double temp_hi, fan_lo;
  char temp_hi_id[160], fan_lo_id[160];
  bool finished;
  /* Blocking sources not answering, by index in tel.src. */
  struct {
    bool warned;
    double warned_at; /* monotonic */
  } quiet[KILN_TEL_MAX_SOURCES];
  char *thermal_error; /* when set, the thermal monitor ends ERROR with it */
};

/* ---- configuration ---- */

static const char *param(const struct kiln_plan_step *ps, const char *name) {
  for (size_t i = 0; ps->cfg && i < ps->cfg->n_params; i++)
    if (strcmp(ps->cfg->params[i].key, name) == 0)
      return ps->cfg->params[i].value;
  const struct kiln_param_spec *spec = kiln_module_param(ps->module, name);
  return spec ? spec->def : "";
}

static int param_line(const struct kiln_plan_step *ps, const char *name) {
  for (size_t i = 0; ps->cfg && i < ps->cfg->n_params; i++)
    if (strcmp(ps->cfg->params[i].key, name) == 0)
      return ps->cfg->params[i].line;
  return 0;
}

/* A number, or NaN for an empty value (not set). */
static int get_number(const struct kiln_plan_step *ps, const char *name,
                      bool duration, double *out, const char *source, char *err,
                      size_t n) {
  const char *v = param(ps, name);
  if (!v[0]) {
    *out = NAN;
    return 0;
  }
  char *end = NULL;
  errno = 0;
  double x = duration ? 0 : strtod(v, &end);
  bool bad = duration ? kiln_duration_parse(v, &x) != 0
                      : (errno || end == v || *end || !isfinite(x));
  if (bad || x < 0) {
    snprintf(err, n, "%s:%d: [%s] %s = '%s' is not a %s", source,
             param_line(ps, name), ps->module->name, name, v,
             duration ? "duration (5s, 1m)" : "non-negative number");
    return -1;
  }
  *out = x;
  return 0;
}

/* The station spec's value wins where it sets one. */
static void spec_wins(double *limit, double spec_value) {
  if (!isnan(spec_value))
    *limit = spec_value;
}

struct kiln_sampler *kiln_sampler_new(const struct kiln_plan *plan,
                                      const char *profile_source,
                                      const struct kiln_spec *spec, char *err,
                                      size_t n, bool *failed) {
  *failed = false;
  struct kiln_sampler *s = kiln_xcalloc(1, sizeof *s);
  s->plan = plan;
  s->csv_fd = -1;
  s->thermal.index = s->edac.index = -1;
  for (size_t i = 0; i < plan->n_steps; i++) {
    const char *name = plan->steps[i].module->name;
    if (strcmp(name, "thermal") == 0)
      s->thermal.index = (long)i;
    else if (strcmp(name, "edac") == 0)
      s->edac.index = (long)i;
  }
  if (s->thermal.index < 0 && s->edac.index < 0) {
    free(s);
    return NULL;
  }
  s->interval = 1;
  s->hold = KILN_WATCH_DEFAULT_HOLD;
  s->temp_max = s->fan_min = NAN;
  s->throttle_max = s->ce_max = s->ue_max = 0;
  int rc = 0;
  if (s->thermal.index >= 0) {
    const struct kiln_plan_step *ps = &plan->steps[s->thermal.index];
    double interval, hold;
    rc |= get_number(ps, "interval", true, &interval, profile_source, err, n);
    rc |= rc ? 0 : get_number(ps, "hold", true, &hold, profile_source, err, n);
    rc |= rc ? 0
             : get_number(ps, "temp_max", false, &s->temp_max, profile_source,
                          err, n);
    rc |= rc ? 0
             : get_number(ps, "fan_min", false, &s->fan_min, profile_source,
                          err, n);
    rc |= rc ? 0
             : get_number(ps, "throttle_max", false, &s->throttle_max,
                          profile_source, err, n);
    if (!rc) {
      if (!isnan(interval))
        s->interval = interval < 0.1 ? 0.1 : interval;
      if (!isnan(hold))
        s->hold = hold;
      if (isnan(s->throttle_max))
        s->throttle_max = 0;
    }
  }
  if (!rc && s->edac.index >= 0) {
    const struct kiln_plan_step *ps = &plan->steps[s->edac.index];
    rc |= get_number(ps, "ce_max", false, &s->ce_max, profile_source, err, n);
    rc |= rc ? 0
             : get_number(ps, "ue_max", false, &s->ue_max, profile_source, err,
                          n);
    if (isnan(s->ce_max))
      s->ce_max = 10;
    if (isnan(s->ue_max))
      s->ue_max = 0;
  }
  if (rc) {
    *failed = true;
    free(s);
    return NULL;
  }
  if (spec) {
    spec_wins(&s->hold, spec->watch.hold);
    spec_wins(&s->temp_max, spec->watch.temp_max);
    spec_wins(&s->fan_min, spec->watch.fan_min);
    spec_wins(&s->throttle_max, spec->watch.throttle_max);
    spec_wins(&s->ce_max, spec->watch.ce_max);
    spec_wins(&s->ue_max, spec->watch.ue_max);
  }
  return s;
}

/* ---- readings ---- */

static struct kiln_step_result *step_at(struct kiln_sampler *s, size_t i) {
  return &s->run->steps[i];
}

static const char *suffix(const char *id) {
  const char *slash = strrchr(id, '/');
  return slash ? slash + 1 : id;
}

static enum role role_of(const struct kiln_tel_reading *r) {
  /* A GPU's ECC counts are judged like a DIMM's; its other counters
   * (replays, NVLink errors, clock-event reasons) are recorded here and
   * judged by the GPU modules, before and after their own load. */
  if (strcmp(r->source, "nvml") == 0 && r->kind == KILN_TEL_COUNT) {
    const char *last = suffix(r->id);
    return strcmp(last, "ecc_corrected") == 0     ? ROLE_CE
           : strcmp(last, "ecc_uncorrected") == 0 ? ROLE_UE
                                                  : ROLE_NONE;
  }
  if (strcmp(r->source, "edac") == 0) {
    const char *last = suffix(r->id);
    if (strstr(last, "ue_count"))
      return ROLE_UE;
    if (strstr(last, "ce_count"))
      return ROLE_CE;
    return ROLE_NONE;
  }
  switch (r->kind) {
  case KILN_TEL_TEMP_C: return ROLE_TEMP;
  case KILN_TEL_FAN_RPM: return ROLE_FAN;
  case KILN_TEL_COUNT: return ROLE_THROTTLE;
  default: return ROLE_NONE;
  }
}

/* The watch a series gets: the profile's limit, else the hardware's own. */
static void choose_watch(struct kiln_sampler *s, struct watched *w,
                         const struct kiln_tel_reading *r) {
  w->has_watch = true;
  switch (w->role) {
  case ROLE_TEMP:
    if (!isnan(s->temp_max))
      kiln_watch_init(&w->watch, KILN_WATCH_ABOVE, s->temp_max, s->hold);
    else
      w->has_watch = kiln_watch_for_reading(r, s->hold, &w->watch);
    break;
  case ROLE_FAN:
    if (!isnan(s->fan_min))
      kiln_watch_init(&w->watch, KILN_WATCH_BELOW, s->fan_min, s->hold);
    else
      w->has_watch = kiln_watch_for_reading(r, s->hold, &w->watch);
    break;
  case ROLE_THROTTLE:
    kiln_watch_init(&w->watch, KILN_WATCH_INCREASE, s->throttle_max, 0);
    break;
  case ROLE_CE:
    kiln_watch_init(&w->watch, KILN_WATCH_INCREASE, s->ce_max, 0);
    break;
  case ROLE_UE:
    kiln_watch_init(&w->watch, KILN_WATCH_INCREASE, s->ue_max, 0);
    break;
  default: w->has_watch = false;
  }
  w->series.limit = (struct kiln_limit){0};
  if (w->has_watch && w->watch.op == KILN_WATCH_ABOVE)
    w->series.limit = (struct kiln_limit){.has_hi = true, .hi = w->watch.limit};
  if (w->has_watch && w->watch.op == KILN_WATCH_BELOW)
    w->series.limit = (struct kiln_limit){.has_lo = true, .lo = w->watch.limit};
}

/* Readings come in the same order every sample: look from the cursor. */
static struct watched *find_series(struct kiln_sampler *s, const char *key) {
  for (size_t k = 0; k < s->n; k++) {
    size_t i = (s->cursor + k) % s->n;
    if (strcmp(s->w[i].key, key) == 0) {
      s->cursor = i + 1;
      return &s->w[i];
    }
  }
  return NULL;
}

static struct watched *add_series(struct kiln_sampler *s, const char *key,
                                  const struct kiln_tel_reading *r,
                                  struct monitor *m) {
  if (s->n == s->cap) {
    s->cap = s->cap ? 2 * s->cap : 32;
    s->w = kiln_xrealloc(s->w, s->cap * sizeof *s->w);
  }
  struct watched *w = &s->w[s->n++];
  memset(w, 0, sizeof *w);
  w->key = kiln_xstrdup(key);
  w->name = kiln_strdup_printf("%s (%s)",
                               r->label && r->label[0] ? r->label : r->id, key);
  const char *slash = strchr(r->id, '/');
  w->hwid = slash ? kiln_strdup_printf("%.*s", (int)(slash - r->id), r->id)
                  : kiln_xstrdup(r->id);
  w->unit = kiln_xstrdup(kiln_tel_kind_unit(r->kind));
  w->kind = r->kind;
  w->role = role_of(r);
  w->step = (size_t)m->index;
  w->first = r->value;
  w->series = (struct kiln_series){
      .id = w->key, .name = w->name, .unit = w->unit, .hwid = w->hwid};
  choose_watch(s, w, r);
  kiln_watch_init(&w->critical, KILN_WATCH_ABOVE, 0.5, s->hold);
  s->cursor = s->n;
  kiln_bus_series_start(s->bus, s->run, step_at(s, w->step), &w->series);
  return w;
}

/* "cpu.compute, dram.patterns" running now, for a diagnosis. */
static void running_steps(const struct kiln_run *run, char *buf, size_t n) {
  buf[0] = 0;
  size_t used = 0;
  for (size_t i = 0; i < run->n_steps; i++) {
    const struct kiln_step_result *st = &run->steps[i];
    if (st->state != KILN_STEP_RUNNING || st->phase == KILN_MONITOR_PHASE)
      continue;
    int w = snprintf(buf + used, n - used, "%s%s", used ? ", " : "", st->id);
    if (w < 0 || (size_t)w >= n - used)
      break;
    used += (size_t)w;
  }
}

static const char *symptom_of(const struct watched *w) {
  switch (w->role) {
  case ROLE_TEMP: return "temp-over-limit";
  case ROLE_FAN: return "fan-under-limit";
  case ROLE_THROTTLE: return "cpu-throttle";
  case ROLE_CE: return "edac-correctable";
  case ROLE_UE: return "edac-uncorrectable";
  default: return "telemetry-limit";
  }
}

static void fired(struct kiln_sampler *s, struct watched *w,
                  const struct kiln_watch_fire *f) {
  char what[512], running[256], stamp[40];
  kiln_watch_describe(f, w->name, w->unit, what, sizeof what);
  running_steps(s->run, running, sizeof running);
  double now = kiln_now();
  kiln_format_time(now, stamp, sizeof stamp);
  char *msg = kiln_strdup_printf("%s (%s); %s%s", what, stamp,
                                 running[0] ? "running: " : "",
                                 running[0] ? running : "between steps");
  struct kiln_step_result *st = step_at(s, w->step);
  struct kiln_diagnosis *d = kiln_step_add_diagnosis(
      st, KILN_DIAG_FAIL, symptom_of(w), msg, w->hwid, now);
  kiln_bus_diagnosis(s->bus, s->run, st, d);
  free(msg);
}

static void critical_fired(struct kiln_sampler *s, struct watched *w,
                           const struct kiln_watch_fire *f, double value) {
  char running[256], stamp[40];
  running_steps(s->run, running, sizeof running);
  double now = kiln_now();
  kiln_format_time(now, stamp, sizeof stamp);
  char *msg = kiln_strdup_printf(
      "%s: the hardware reports it critical at %g %s, t=%.1f s, held %.1f s "
      "(%s); %s%s",
      w->name, value, w->unit, f->t, f->held, stamp,
      running[0] ? "running: " : "", running[0] ? running : "between steps");
  struct kiln_step_result *st = step_at(s, w->step);
  struct kiln_diagnosis *d = kiln_step_add_diagnosis(
      st, KILN_DIAG_FAIL, "sensor-critical", msg, w->hwid, now);
  kiln_bus_diagnosis(s->bus, s->run, st, d);
  free(msg);
}

struct sample_ctx {
  struct kiln_sampler *s;
  double wall;
};

__attribute__((format(printf, 4, 5))) static void
monitor_log(struct kiln_sampler *s, long index, enum kiln_severity sev,
            const char *fmt, ...) {
  if (index < 0)
    return;
  char msg[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  struct kiln_step_result *st = step_at(s, (size_t)index);
  struct kiln_log *l = kiln_step_add_log(st, sev, msg, kiln_now());
  kiln_bus_log(s->bus, s->run, st, l);
}

/* ---- telemetry.csv ---- */

/* The first row that could not be written: the file ends at the last
 * whole row, the monitor's log says what was lost, and the watches go on
 * (they judge the readings, not the file). */
static void csv_failed(struct kiln_sampler *s, int error, double wall) {
  char since[40];
  kiln_format_time(wall, since, sizeof since);
  s->csv_lost = kiln_strdup_printf("%s: its rows from %s on were lost (%s)",
                                   s->csv_path, since, strerror(error));
  monitor_log(s, s->thermal.index >= 0 ? s->thermal.index : s->edac.index,
              KILN_SEV_ERROR,
              "%s; it ends at the last whole row, and the monitors go on "
              "without it",
              s->csv_lost);
  /* Told now, as the bus tells a failed report (the console shows no
   * monitor log until the end). */
  if (s->bus->errors)
    fprintf(s->bus->errors,
            "kiln: report telemetry.csv: %s (no more rows are written to it; "
            "the others go on)\n",
            s->csv_lost);
}

/* Writes one row (or the header, reading NULL) whole, or nothing. */
static void csv_write(struct kiln_sampler *s, double wall,
                      const struct kiln_tel_reading *r) {
  if (s->csv_fd < 0 || s->csv_lost)
    return;
  char *row = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&row, &len);
  if (!f)
    abort(); /* out of memory, as kiln_xcalloc */
  if (r)
    kiln_tel_csv_row(f, wall, r);
  else
    kiln_tel_csv_header(f);
  if (fclose(f) != 0)
    abort();
  int error = kiln_append_whole(s->csv_fd, &s->csv_size, row, len);
  free(row);
  if (error)
    csv_failed(s, error, wall);
}

static void on_reading(void *ctx, const struct kiln_tel_reading *r) {
  struct sample_ctx *c = ctx;
  struct kiln_sampler *s = c->s;
  struct monitor *m = strcmp(r->source, "edac") == 0 ? &s->edac : &s->thermal;
  if (m->index < 0)
    return;
  csv_write(s, c->wall, r);
  char key[256];
  snprintf(key, sizeof key, "%s/%s", r->source, r->id);
  struct watched *w = find_series(s, key);
  if (!w)
    w = add_series(s, key, r, m);
  if (w->role == ROLE_TEMP || w->role == ROLE_FAN || w->role == ROLE_CE ||
      w->role == ROLE_UE)
    m->saw = true;
  w->last = r->value;
  kiln_bus_series_element(s->bus, s->run, step_at(s, w->step), &w->series,
                          r->value, c->wall);
  w->series.count++;
  if (w->role == ROLE_TEMP && r->value > s->temp_hi) {
    s->temp_hi = r->value;
    snprintf(s->temp_hi_id, sizeof s->temp_hi_id, "%s", w->name);
  }
  if (w->role == ROLE_FAN && r->value < s->fan_lo) {
    s->fan_lo = r->value;
    snprintf(s->fan_lo_id, sizeof s->fan_lo_id, "%s", w->name);
  }
  struct kiln_watch_fire f;
  if (w->has_watch && kiln_watch_feed(&w->watch, r->t, r->value, &f))
    fired(s, w, &f);
  if (r->state != KILN_TEL_STATE_NONE &&
      kiln_watch_feed(&w->critical, r->t,
                      r->state == KILN_TEL_STATE_CRITICAL ? 1 : 0, &f))
    critical_fired(s, w, &f, r->value);
}

size_t kiln_sampler_steps_on_gpu(const struct kiln_run *run, const char *bus,
                                 size_t *out, size_t max) {
  size_t n = 0;
  for (size_t i = 0; i < run->n_steps && n < max; i++) {
    const struct kiln_step_result *st = &run->steps[i];
    if (st->state == KILN_STEP_RUNNING && st->phase != KILN_MONITOR_PHASE &&
        st->target && strcmp(st->target, bus) == 0)
      out[n++] = i;
  }
  /* Nothing on that GPU alone: a host step driving every GPU (gpu.p2p). */
  for (size_t i = 0; i < run->n_steps && n == 0 && max; i++) {
    const struct kiln_step_result *st = &run->steps[i];
    if (st->state == KILN_STEP_RUNNING && st->phase != KILN_MONITOR_PHASE &&
        st->module && strncmp(st->module, "gpu.", 4) == 0 && st->target &&
        strcmp(st->target, "host") == 0)
      out[n++] = i;
  }
  return n;
}

/* A critical XID fails the step running on that GPU, or the thermal
 * monitor when none is. */
static void on_event(void *ctx, const struct kiln_tel_event *e) {
  struct sample_ctx *c = ctx;
  struct kiln_sampler *s = c->s;
  size_t steps[16];
  size_t n = kiln_sampler_steps_on_gpu(s->run, e->hwid, steps, 16);
  char stamp[40], running[256];
  kiln_format_time(c->wall, stamp, sizeof stamp);
  running_steps(s->run, running, sizeof running);
  if (n == 0 && s->thermal.index >= 0)
    steps[n++] = (size_t)s->thermal.index;
  char *msg = kiln_strdup_printf(
      "GPU %s: critical XID %llu (%s) reported by the driver at t=%.1f s "
      "(%s); %s%s",
      e->hwid, e->code, e->text, kiln_monotonic_now() - s->t0, stamp,
      running[0] ? "running: " : "", running[0] ? running : "between steps");
  for (size_t i = 0; i < n; i++) {
    struct kiln_step_result *st = step_at(s, steps[i]);
    struct kiln_diagnosis *d = kiln_step_add_diagnosis(
        st, KILN_DIAG_FAIL, "gpu-xid", msg, e->hwid, c->wall);
    kiln_bus_diagnosis(s->bus, s->run, st, d);
  }
  free(msg);
}

/* The thermal monitor ends ERROR with the first such reason. */
static void thermal_error(struct kiln_sampler *s, const char *why) {
  monitor_log(s, s->thermal.index, KILN_SEV_ERROR, "%s", why);
  if (!s->thermal_error)
    s->thermal_error = kiln_xstrdup(why);
}

/* A blocking source that stopped answering: a warning at once, an ERROR
 * once it has been silent for `hold` since its last readings; a note when
 * it is back. At the run's end a source still silent is an ERROR at once:
 * its sensors went unwatched, and no later sample can clear it. */
static void check_silence(struct kiln_sampler *s, bool at_end) {
  double now = kiln_monotonic_now();
  for (size_t i = 0; i < s->tel.n_src; i++) {
    const struct kiln_tel_open *o = &s->tel.src[i];
    double since = 0;
    char why[400];
    bool silent = kiln_telemetry_silent(&s->tel, i, &since, why, sizeof why);
    if (!silent) {
      if (s->quiet[i].warned)
        monitor_log(s, s->thermal.index, KILN_SEV_INFO,
                    "%s answering again after %.0f s", o->where,
                    now - s->quiet[i].warned_at);
      s->quiet[i].warned = false;
      continue;
    }
    if (!s->quiet[i].warned) {
      s->quiet[i].warned = true;
      s->quiet[i].warned_at = now;
      monitor_log(s, s->thermal.index, KILN_SEV_WARNING,
                  "%s not answering: %s (its last readings %.0f s ago); the "
                  "thermal monitor ERRORs if it stays silent for %g s (hold)",
                  o->where, why, now - since, s->hold);
    }
    if ((at_end || now - since >= s->hold) && !s->thermal_error) {
      char *msg = kiln_strdup_printf(
          "%s not answering for %.0f s: %s; its sensors went unwatched from "
          "t=%.1f s",
          o->where, now - since, why, since - s->t0);
      thermal_error(s, msg);
      free(msg);
    }
  }
}

static void sample(struct kiln_sampler *s, bool at_end) {
  double now = kiln_monotonic_now();
  s->last = now;
  struct sample_ctx c = {.s = s, .wall = kiln_now()};
  kiln_telemetry_sample(&s->tel, now - s->t0, on_reading, &c);
  kiln_telemetry_events(&s->tel, on_event, &c);
  s->samples++;
  s->cost_sum += s->tel.last_cost;
  check_silence(s, at_end);
}

/* ---- run ---- */

int kiln_sampler_start(struct kiln_sampler *s, struct kiln_run *run,
                       struct kiln_bus *bus, const char *report_dir, char *err,
                       size_t n) {
  s->run = run;
  s->bus = bus;
  s->temp_hi = -INFINITY;
  s->fan_lo = INFINITY;
  s->csv_path = kiln_strdup_printf("%s/telemetry.csv", report_dir);
  s->csv_fd = open(s->csv_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (s->csv_fd < 0) {
    snprintf(err, n, "cannot write %s: %s", s->csv_path, strerror(errno));
    return -1;
  }
  char only[64] = "";
  if (s->thermal.index >= 0)
    snprintf(only, sizeof only, "sensors,cpu%s%s",
             kiln_tel_source_find("ipmi") ? ",ipmi" : "",
             kiln_tel_source_find("nvml") ? ",nvml" : "");
  if (s->edac.index >= 0)
    snprintf(only + strlen(only), sizeof only - strlen(only), "%sedac",
             only[0] ? "," : "");
  kiln_telemetry_open(&s->tel, only);
  s->tel_open = true;
  struct monitor *ms[] = {&s->thermal, &s->edac};
  for (size_t i = 0; i < 2; i++) {
    if (ms[i]->index < 0)
      continue;
    struct kiln_step_result *st = step_at(s, (size_t)ms[i]->index);
    st->state = KILN_STEP_RUNNING;
    st->start = kiln_now();
    kiln_bus_step_start(bus, run, st);
  }
  csv_write(s, kiln_now(), NULL);
  /* A BMC the operator named must be watched: one that cannot be reached
   * is an ERROR of the thermal monitor, not a SKIP. */
  struct kiln_bmc bmc;
  bool asked = kiln_bmc_get(&bmc);
  kiln_bmc_wipe(&bmc);
  for (size_t i = 0; asked && s->thermal.index >= 0 && i < s->tel.n_src; i++) {
    const struct kiln_tel_open *o = &s->tel.src[i];
    if (strcmp(o->src->name, "ipmi") == 0 && !o->state) {
      char *msg = kiln_strdup_printf(
          "the BMC given with --bmc cannot be read: %s", o->why);
      thermal_error(s, msg);
      free(msg);
    }
  }
  s->t0 = kiln_monotonic_now();
  sample(s, false);
  return 0;
}

void kiln_sampler_tick(void *sampler) {
  struct kiln_sampler *s = sampler;
  if (!s || s->finished || !s->tel_open)
    return;
  if (kiln_monotonic_now() - s->last >= s->interval)
    sample(s, false);
}

static void measure(struct kiln_sampler *s, struct kiln_step_result *st,
                    const char *name, double value, const char *hwid) {
  const struct kiln_measurement_spec *spec =
      kiln_module_measurement(kiln_module_find(st->module), name);
  const struct kiln_limit none = {0};
  struct kiln_measurement *m = kiln_step_add_measurement(
      st, name, value, spec ? spec->unit : "", &none, hwid, kiln_now());
  kiln_bus_measurement(s->bus, s->run, st, m);
}

/* The sources' reasons, for a SKIP: "sensors: no hwmon chips ...". */
static void source_reasons(const struct kiln_sampler *s, bool edac, char *buf,
                           size_t n) {
  buf[0] = 0;
  size_t used = 0;
  for (size_t i = 0; i < s->tel.n_src; i++) {
    const struct kiln_tel_open *o = &s->tel.src[i];
    bool is_edac = strcmp(o->src->name, "edac") == 0;
    if (is_edac != edac || strcmp(o->src->name, "cpu") == 0)
      continue;
    const char *why = o->state ? "no readings" : o->why;
    int w = snprintf(buf + used, n - used, "%s%s: %s", used ? "; " : "",
                     o->src->name, why);
    if (w < 0 || (size_t)w >= n - used)
      break;
    used += (size_t)w;
  }
}

static void end_monitor(struct kiln_sampler *s, struct monitor *m, bool edac) {
  if (m->index < 0)
    return;
  struct kiln_step_result *st = step_at(s, (size_t)m->index);
  if (!edac) {
    measure(s, st, "samples", (double)s->samples, NULL);
    if (s->samples)
      measure(s, st, "sample_ms", 1000 * s->cost_sum / (double)s->samples,
              NULL);
    if (isfinite(s->temp_hi))
      measure(s, st, "temp_max_c", s->temp_hi, s->temp_hi_id);
    if (isfinite(s->fan_lo))
      measure(s, st, "fan_min_rpm", s->fan_lo, s->fan_lo_id);
  } else if (m->saw) {
    /* Controller totals only: the per-DIMM counters add up to them. */
    double ce = 0, ue = 0;
    for (size_t i = 0; i < s->n; i++) {
      const struct watched *w = &s->w[i];
      if (w->step != (size_t)m->index || strstr(w->key, "/dimm"))
        continue;
      double rise = w->last > w->first ? w->last - w->first : 0;
      if (w->role == ROLE_CE)
        ce += rise;
      else if (w->role == ROLE_UE)
        ue += rise;
    }
    measure(s, st, "ce_increase", ce, NULL);
    measure(s, st, "ue_increase", ue, NULL);
  }
  char why[600];
  enum kiln_verdict v = KILN_PASS;
  const char *reason = NULL;
  if (!edac && s->thermal_error) {
    v = KILN_ERROR;
    reason = s->thermal_error;
  } else if (s->run->abort_reason) {
    v = KILN_ABORTED;
    reason = s->run->abort_reason;
  } else if (!m->saw) {
    char sources[500];
    source_reasons(s, edac, sources, sizeof sources);
    snprintf(why, sizeof why, "%s: %s",
             edac ? "no EDAC memory error counters"
                  : "no temperature or fan sensors",
             sources[0] ? sources : "no source");
    v = KILN_SKIP;
    reason = why;
  }
  kiln_step_finish(st, v, reason, kiln_now());
  kiln_bus_step_end(s->bus, s->run, st);
}

void kiln_sampler_finish(struct kiln_sampler *s) {
  if (!s || s->finished || !s->run)
    return;
  if (s->tel_open && !s->run->abort_reason) {
    /* The BMC's last readings, unless it has stopped answering. */
    bool quiet = false;
    for (size_t i = 0; i < s->tel.n_src; i++)
      quiet |= s->quiet[i].warned;
    kiln_telemetry_wait(&s->tel, quiet ? 0 : KILN_TEL_TIMEOUT);
    sample(s, true);
  }
  s->finished = true;
  for (size_t i = 0; i < s->n; i++)
    kiln_bus_series_end(s->bus, s->run, step_at(s, s->w[i].step),
                        &s->w[i].series);
  end_monitor(s, &s->thermal, false);
  end_monitor(s, &s->edac, true);
  if (s->csv_fd >= 0) {
    close(s->csv_fd);
    s->csv_fd = -1;
  }
}

const char *kiln_sampler_csv_lost(const struct kiln_sampler *s) {
  return s ? s->csv_lost : NULL;
}

void kiln_sampler_free(struct kiln_sampler *s) {
  if (!s)
    return;
  if (s->tel_open)
    kiln_telemetry_close(&s->tel);
  if (s->csv_fd >= 0)
    close(s->csv_fd);
  for (size_t i = 0; i < s->n; i++) {
    free(s->w[i].key);
    free(s->w[i].name);
    free(s->w[i].hwid);
    free(s->w[i].unit);
  }
  free(s->w);
  free(s->csv_path);
  free(s->csv_lost);
  free(s->thermal_error);
  free(s);
}
