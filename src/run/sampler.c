/* The telemetry sampler (see sampler.h). Single-threaded on purpose: it
 * runs from the runner's poll loop, so the result model and the sinks see
 * one writer; a sample of every local source costs well under a
 * millisecond, and a blocking one (the BMC) is sampled in its own thread
 * by the telemetry layer, so it is never waited for here: a BMC that stops
 * answering is a warning, then, after `hold`, an ERROR of the monitor that
 * watches it. It knows no monitor by name: each is a module with a hook
 * (kiln_monitor_hook, module.h), which this file drives through the calls
 * of include/kiln/monitor.h. */
#include "run/sampler.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/settings.h"
#include "hw/bmc.h"
#include "kiln/monitor.h"
#include "kiln/telemetry.h"
#include "kiln/textutil.h"
#include "kiln/watch.h"

/* One telemetry series, what its monitor made of it, and the watches. */
struct watched {
  struct kiln_monitor_series pub; /* its strings are the ones below */
  char *key;                      /* "sensors/nct6798-isa-0290/fan1" */
  char *name; /* "SYS_FAN2 (sensors/nct6798-isa-0290/fan1)" */
  char *hwid; /* the chip, controller or CPU */
  char *unit;
  struct kiln_monitor *mon;
  struct kiln_series series;
  /* The hardware's own verdict (a BMC's CRITICAL), held like a limit. */
  struct kiln_watch critical;
};

/* A monitor step of the plan (include/kiln/monitor.h). */
struct kiln_monitor {
  struct kiln_sampler *s;
  const struct kiln_module *module;
  const struct kiln_plan_step *ps;
  size_t index; /* in the plan and run->steps */
  struct kiln_settings settings;
  double interval, hold;
  void *state;
  bool saw;       /* a reading of a judged series arrived */
  char *error;    /* when set, the step ends ERROR with it */
  size_t *series; /* indexes in s->w, in the order first seen */
  size_t n_series, cap_series;
};

struct kiln_sampler {
  const struct kiln_plan *plan;
  const struct kiln_spec *spec;
  struct kiln_monitor *mon; /* in plan order */
  size_t n_mon;
  double interval;

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
  bool finished;
  /* Blocking sources not answering, by index in tel.src. */
  struct {
    bool warned;
    double warned_at; /* monotonic */
  } quiet[KILN_TEL_MAX_SOURCES];
};

/* ---- configuration ---- */

/* The monitor that named source (the first in the plan), or NULL. */
static struct kiln_monitor *owner(struct kiln_sampler *s, const char *source) {
  for (size_t i = 0; i < s->n_mon; i++)
    if (kiln_module_reads_source(s->mon[i].module, source))
      return &s->mon[i];
  return NULL;
}

static const struct kiln_monitor *find_monitor(const struct kiln_sampler *s,
                                               const char *module) {
  for (size_t i = 0; i < s->n_mon; i++)
    if (strcmp(s->mon[i].module->name, module) == 0)
      return &s->mon[i];
  return NULL;
}

void *kiln_monitor_state(struct kiln_monitor *m) { return m->state; }

const struct kiln_spec *kiln_monitor_spec(const struct kiln_monitor *m) {
  return m->s->spec;
}

int kiln_monitor_limit(const struct kiln_monitor *m, const char *module,
                       const char *name, double spec_value, double *out,
                       char *err, size_t n) {
  const struct kiln_monitor *of = module ? find_monitor(m->s, module) : m;
  *out = NAN;
  const char *from = NULL;
  int line = 0;
  const char *v =
      of ? kiln_settings_param(&of->settings, name, &from, &line) : NULL;
  if (v && v[0]) {
    const struct kiln_param_spec *p = kiln_module_param(of->module, name);
    struct kiln_param_value value;
    char why[256] = "is not declared by its module";
    if (!p || kiln_param_parse(p, v, &value, why, sizeof why) != 0 ||
        value.is_word) {
      snprintf(err, n, "%s:%d: [%s] %s = '%s' %s",
               from ? from : "built-in default", line, of->module->name, name,
               v, why);
      return -1;
    }
    *out = value.number;
  }
  /* The station spec's value wins where it sets one. */
  if (!isnan(spec_value))
    *out = spec_value;
  return 0;
}

void kiln_monitor_set_timing(struct kiln_monitor *m, double interval,
                             double hold) {
  m->interval = interval;
  m->hold = hold;
}

struct kiln_sampler *kiln_sampler_new(const struct kiln_plan *plan,
                                      const char *profile_source,
                                      const struct kiln_spec *spec, char *err,
                                      size_t n, bool *failed) {
  *failed = false;
  size_t count = 0;
  for (size_t i = 0; i < plan->n_steps; i++)
    count += plan->steps[i].module->monitor != NULL;
  if (count == 0)
    return NULL;
  struct kiln_sampler *s = kiln_xcalloc(1, sizeof *s);
  s->plan = plan;
  s->spec = spec;
  s->csv_fd = -1;
  s->mon = kiln_xcalloc(count, sizeof *s->mon);
  for (size_t i = 0; i < plan->n_steps; i++) {
    const struct kiln_plan_step *ps = &plan->steps[i];
    if (!ps->module->monitor)
      continue;
    struct kiln_monitor *m = &s->mon[s->n_mon++];
    m->s = s;
    m->module = ps->module;
    m->ps = ps;
    m->index = i;
    kiln_plan_step_settings(ps, &m->settings);
    m->settings.source = profile_source;
    m->hold = KILN_WATCH_DEFAULT_HOLD;
    m->state = kiln_xcalloc(1, ps->module->monitor->state_size + 1);
  }
  s->interval = 1;
  bool wished = false;
  for (size_t i = 0; i < s->n_mon; i++) {
    struct kiln_monitor *m = &s->mon[i];
    if (m->module->monitor->setup(m, err, n) != 0) {
      *failed = true;
      kiln_sampler_free(s);
      return NULL;
    }
    if (m->interval > 0 && (!wished || m->interval < s->interval))
      s->interval = m->interval;
    wished |= m->interval > 0;
  }
  return s;
}

/* ---- readings ---- */

static struct kiln_step_result *step_at(struct kiln_sampler *s, size_t i) {
  return &s->run->steps[i];
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
                                  struct kiln_monitor *m) {
  if (s->n == s->cap) {
    s->cap = s->cap ? 2 * s->cap : 32;
    s->w = kiln_xrealloc(s->w, s->cap * sizeof *s->w);
  }
  if (m->n_series == m->cap_series) {
    m->cap_series = m->cap_series ? 2 * m->cap_series : 16;
    m->series = kiln_xrealloc(m->series, m->cap_series * sizeof *m->series);
  }
  m->series[m->n_series++] = s->n;
  struct watched *w = &s->w[s->n++];
  memset(w, 0, sizeof *w);
  w->key = kiln_xstrdup(key);
  w->name = kiln_strdup_printf("%s (%s)",
                               r->label && r->label[0] ? r->label : r->id, key);
  const char *slash = strchr(r->id, '/');
  w->hwid = slash ? kiln_strdup_printf("%.*s", (int)(slash - r->id), r->id)
                  : kiln_xstrdup(r->id);
  w->unit = kiln_xstrdup(kiln_tel_kind_unit(r->kind));
  w->mon = m;
  w->pub = (struct kiln_monitor_series){
      .key = w->key, .name = w->name, .hwid = w->hwid, .unit = w->unit};
  m->module->monitor->watch(m, r, &w->pub);
  w->pub.first = r->value;
  w->series = (struct kiln_series){
      .id = w->key, .name = w->name, .unit = w->unit, .hwid = w->hwid};
  if (w->pub.watched && w->pub.watch.op == KILN_WATCH_ABOVE)
    w->series.limit =
        (struct kiln_limit){.has_hi = true, .hi = w->pub.watch.limit};
  if (w->pub.watched && w->pub.watch.op == KILN_WATCH_BELOW)
    w->series.limit =
        (struct kiln_limit){.has_lo = true, .lo = w->pub.watch.limit};
  kiln_watch_init(&w->critical, KILN_WATCH_ABOVE, 0.5, m->hold);
  s->cursor = s->n;
  kiln_bus_series_start(s->bus, s->run, step_at(s, m->index), &w->series);
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
  struct kiln_step_result *st = step_at(s, w->mon->index);
  struct kiln_diagnosis *d = kiln_step_add_diagnosis(
      st, KILN_DIAG_FAIL, w->pub.symptom ? w->pub.symptom : "telemetry-limit",
      msg, w->hwid, now);
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
  struct kiln_step_result *st = step_at(s, w->mon->index);
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
monitor_log(struct kiln_sampler *s, const struct kiln_monitor *m,
            enum kiln_severity sev, const char *fmt, ...) {
  if (!m)
    return;
  char msg[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  struct kiln_step_result *st = step_at(s, m->index);
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
  monitor_log(s, &s->mon[0], KILN_SEV_ERROR,
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
  struct kiln_monitor *m = owner(s, r->source);
  if (!m)
    return;
  csv_write(s, c->wall, r);
  char key[256];
  snprintf(key, sizeof key, "%s/%s", r->source, r->id);
  struct watched *w = find_series(s, key);
  if (!w)
    w = add_series(s, key, r, m);
  if (w->pub.judged)
    m->saw = true;
  w->pub.last = r->value;
  kiln_bus_series_element(s->bus, s->run, step_at(s, m->index), &w->series,
                          r->value, c->wall);
  w->series.count++;
  if (m->module->monitor->reading)
    m->module->monitor->reading(m, &w->pub, r->value);
  struct kiln_watch_fire f;
  if (w->pub.watched && kiln_watch_feed(&w->pub.watch, r->t, r->value, &f))
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

/* A critical XID fails the step running on that GPU, or the monitor that
 * watches its source when none is. */
static void on_event(void *ctx, const struct kiln_tel_event *e) {
  struct sample_ctx *c = ctx;
  struct kiln_sampler *s = c->s;
  size_t steps[16];
  size_t n = kiln_sampler_steps_on_gpu(s->run, e->hwid, steps, 16);
  char stamp[40], running[256];
  kiln_format_time(c->wall, stamp, sizeof stamp);
  running_steps(s->run, running, sizeof running);
  const struct kiln_monitor *m = owner(s, e->source);
  if (n == 0 && m)
    steps[n++] = m->index;
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

/* The monitor ends ERROR with the first such reason. */
static void monitor_error(struct kiln_sampler *s, struct kiln_monitor *m,
                          const char *why) {
  if (!m)
    return;
  monitor_log(s, m, KILN_SEV_ERROR, "%s", why);
  if (!m->error)
    m->error = kiln_xstrdup(why);
}

/* A blocking source that stopped answering: a warning at once, an ERROR
 * once it has been silent for `hold` since its last readings; a note when
 * it is back. At the run's end a source still silent is an ERROR at once:
 * its sensors went unwatched, and no later sample can clear it. */
static void check_silence(struct kiln_sampler *s, bool at_end) {
  double now = kiln_monotonic_now();
  for (size_t i = 0; i < s->tel.n_src; i++) {
    const struct kiln_tel_open *o = &s->tel.src[i];
    struct kiln_monitor *m = owner(s, o->src->name);
    double hold = m ? m->hold : KILN_WATCH_DEFAULT_HOLD;
    double since = 0;
    char why[400];
    bool silent = kiln_telemetry_silent(&s->tel, i, &since, why, sizeof why);
    if (!silent) {
      if (s->quiet[i].warned)
        monitor_log(s, m, KILN_SEV_INFO, "%s answering again after %.0f s",
                    o->where, now - s->quiet[i].warned_at);
      s->quiet[i].warned = false;
      continue;
    }
    if (!s->quiet[i].warned) {
      s->quiet[i].warned = true;
      s->quiet[i].warned_at = now;
      monitor_log(s, m, KILN_SEV_WARNING,
                  "%s not answering: %s (its last readings %.0f s ago); the "
                  "%s monitor ERRORs if it stays silent for %g s (hold)",
                  o->where, why, now - since, m ? m->module->name : "", hold);
    }
    if ((at_end || now - since >= hold) && m && !m->error) {
      char *msg = kiln_strdup_printf(
          "%s not answering for %.0f s: %s; its sensors went unwatched from "
          "t=%.1f s",
          o->where, now - since, why, since - s->t0);
      monitor_error(s, m, msg);
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

/* Every monitor's sources, "sensors,cpu,ipmi,nvml,edac". */
static char *sources_named(const struct kiln_sampler *s) {
  char *list = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&list, &len);
  if (!f)
    abort(); /* out of memory, as kiln_xcalloc */
  const char *comma = "";
  for (size_t i = 0; i < s->n_mon; i++)
    for (const char *const *name = s->mon[i].module->monitor->sources;
         name && *name; name++) {
      fprintf(f, "%s%s", comma, *name);
      comma = ",";
    }
  if (fclose(f) != 0)
    abort();
  return list;
}

/* Starts the monitor's step; a SKU with a section for it says so, as a
 * step's child does (runner.c). */
static void start_monitor(struct kiln_sampler *s, struct kiln_monitor *m) {
  struct kiln_step_result *st = step_at(s, m->index);
  st->state = KILN_STEP_RUNNING;
  st->start = kiln_now();
  kiln_bus_step_start(s->bus, s->run, st);
  const struct kiln_plan_step *ps = m->ps;
  if (ps->sku_note)
    monitor_log(s, m,
                !ps->sku || ps->sku->provisional || ps->sku_mismatch
                    ? KILN_SEV_WARNING
                    : KILN_SEV_INFO,
                "%s", ps->sku_note);
}

int kiln_sampler_start(struct kiln_sampler *s, struct kiln_run *run,
                       struct kiln_bus *bus, const char *report_dir, char *err,
                       size_t n) {
  s->run = run;
  s->bus = bus;
  if (report_dir) { /* NULL: a probe, which writes no file */
    s->csv_path = kiln_strdup_printf("%s/telemetry.csv", report_dir);
    s->csv_fd =
        open(s->csv_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (s->csv_fd < 0) {
      snprintf(err, n, "cannot write %s: %s", s->csv_path, strerror(errno));
      return -1;
    }
  }
  char *only = sources_named(s);
  kiln_telemetry_open(&s->tel, only);
  free(only);
  s->tel_open = true;
  for (size_t i = 0; i < s->n_mon; i++)
    start_monitor(s, &s->mon[i]);
  csv_write(s, kiln_now(), NULL);
  /* A BMC the operator named must be watched: one that cannot be reached
   * is an ERROR of the monitor that watches it, not a SKIP. */
  struct kiln_bmc bmc;
  bool asked = kiln_bmc_get(&bmc);
  kiln_bmc_wipe(&bmc);
  for (size_t i = 0; asked && i < s->tel.n_src; i++) {
    const struct kiln_tel_open *o = &s->tel.src[i];
    if (strcmp(o->src->name, "ipmi") == 0 && !o->state) {
      char *msg = kiln_strdup_printf(
          "the BMC given with --bmc cannot be read: %s", o->why);
      monitor_error(s, owner(s, o->src->name), msg);
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

/* ---- what a monitor's end reads ---- */

size_t kiln_monitor_n_series(const struct kiln_monitor *m) {
  return m->n_series;
}

const struct kiln_monitor_series *
kiln_monitor_series_at(const struct kiln_monitor *m, size_t i) {
  return &m->s->w[m->series[i]].pub;
}

bool kiln_monitor_saw(const struct kiln_monitor *m) { return m->saw; }

size_t kiln_monitor_samples(const struct kiln_monitor *m, double *cost_sum) {
  *cost_sum = m->s->cost_sum;
  return m->s->samples;
}

void kiln_monitor_source_reasons(const struct kiln_monitor *m,
                                 const char *except, char *buf, size_t n) {
  struct kiln_sampler *s = m->s;
  buf[0] = 0;
  size_t used = 0;
  for (size_t i = 0; i < s->tel.n_src; i++) {
    const struct kiln_tel_open *o = &s->tel.src[i];
    if (owner(s, o->src->name) != m ||
        (except && strcmp(o->src->name, except) == 0))
      continue;
    const char *why = o->state ? "no readings" : o->why;
    int w = snprintf(buf + used, n - used, "%s%s: %s", used ? "; " : "",
                     o->src->name, why);
    if (w < 0 || (size_t)w >= n - used)
      break;
    used += (size_t)w;
  }
}

void kiln_monitor_measure(struct kiln_monitor *m, const char *name,
                          double value, const char *hwid) {
  struct kiln_step_result *st = step_at(m->s, m->index);
  const struct kiln_measurement_spec *spec =
      kiln_module_measurement(m->module, name);
  const struct kiln_limit none = {0};
  struct kiln_measurement *ms = kiln_step_add_measurement(
      st, name, value, spec ? spec->unit : "", &none, hwid, kiln_now());
  kiln_bus_measurement(m->s->bus, m->s->run, st, ms);
}

/* ---- the end ---- */

static void end_monitor(struct kiln_sampler *s, struct kiln_monitor *m) {
  char why[600] = "";
  m->module->monitor->end(m, why, sizeof why);
  struct kiln_step_result *st = step_at(s, m->index);
  enum kiln_verdict v = KILN_PASS;
  const char *reason = NULL;
  if (m->error) {
    v = KILN_ERROR;
    reason = m->error;
  } else if (s->run->abort_reason) {
    v = KILN_ABORTED;
    reason = s->run->abort_reason;
  } else if (!m->saw) {
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
    kiln_bus_series_end(s->bus, s->run, step_at(s, s->w[i].mon->index),
                        &s->w[i].series);
  for (size_t i = 0; i < s->n_mon; i++)
    end_monitor(s, &s->mon[i]);
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
  for (size_t i = 0; i < s->n_mon; i++) {
    free(s->mon[i].state);
    free(s->mon[i].error);
    free(s->mon[i].series);
  }
  free(s->mon);
  free(s->w);
  free(s->csv_path);
  free(s->csv_lost);
  free(s);
}

enum kiln_verdict kiln_sampler_probe(const struct kiln_module *m,
                                     const struct kiln_spec *spec, char *why,
                                     size_t n) {
  struct kiln_plan_step ps = {.module = m,
                              .id = (char *)m->name,
                              .target = (char *)"host",
                              .phase = KILN_MONITOR_PHASE};
  const struct kiln_plan plan = {.steps = &ps, .n_steps = 1};
  bool failed = false;
  why[0] = 0;
  struct kiln_sampler *s = kiln_sampler_new(&plan, NULL, spec, why, n, &failed);
  if (!s) {
    if (!failed)
      snprintf(why, n, "%s is not a monitor", m->name);
    return KILN_ERROR;
  }
  struct kiln_run run;
  kiln_run_init(&run);
  kiln_run_add_step(&run, m->name, m->name, "host", KILN_MONITOR_PHASE);
  struct kiln_bus bus;
  kiln_bus_init(&bus, stderr); /* no sinks: nothing is written */
  enum kiln_verdict v = KILN_ERROR;
  if (kiln_sampler_start(s, &run, &bus, NULL, why, n) == 0) {
    kiln_sampler_finish(s);
    v = run.steps[0].verdict;
    snprintf(why, n, "%s", run.steps[0].reason ? run.steps[0].reason : "");
  }
  kiln_sampler_free(s);
  kiln_run_free(&run);
  return v;
}
