/* fans: every fan the station spec expects is there and turning, each reads
 * within its RPM range at idle and under load, and (fan_response = yes)
 * turns faster under load than at idle.
 *
 * Readings come from every telemetry source that gives fan speeds
 * (libsensors' hwmon fans, and BMC fans where a source reads them), sampled
 * about once a second through two phases: `idle`, then `load`, while one
 * spinning floating-point thread per online CPU heats the machine.
 *
 * A fan's range is the station spec's [fans] min_rpm/max_rpm, else the
 * profile's min_rpm/max_rpm, else the hardware's own fanN_min/fanN_max
 * (when above 0); with none, only a stopped fan fails. A fan fails a phase
 * when it is out of range (or at 0 RPM: stalled) for more than half of the
 * phase's samples, or for `hold` seconds on end (a watch: long runs); so
 * does a fan its own hardware rates critical (a BMC's sensor state). When
 * the spec lists labels, a fan it does not list that never turns is taken
 * for an empty header (logged, not judged); without labels every fan input
 * is judged, so a board whose empty headers read 0 RPM wants its labels in
 * the spec or an `ignore` line in its sensors3.conf. */
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "kiln/context.h"
#include "kiln/module.h"
#include "kiln/result.h"
#include "kiln/spec.h"
#include "kiln/step.h"
#include "kiln/telemetry.h"
#include "kiln/textutil.h"
#include "kiln/watch.h"

#define SAMPLE_INTERVAL 1.0 /* seconds */
#define STALL_RPM 1.0       /* below this a fan is not turning */

enum phase { PH_IDLE, PH_LOAD, N_PHASES };

static const char *const phase_at[N_PHASES] = {"at idle", "under load"};

struct phase_stats {
  size_t n;                           /* readings */
  size_t n_stalled, n_below, n_above; /* readings out of range */
  size_t n_fault; /* readings the hardware itself called critical */
  double sum, hi;
  double lo_turning; /* the lowest reading that was not a stall */
  size_t late_n;     /* readings in the phase's second half (settled) */
  double late_sum;
};

/* A watch that fired, kept for the end. */
struct fired {
  bool fired;
  enum phase phase;
  struct kiln_watch_fire fire;
};

/* "held 5.0 s from t=12.0 s": how long a fired watch held. */
static void held_text(const struct fired *f, char *buf, size_t n) {
  snprintf(buf, n, "held %.1f s from t=%.1f s", f->fire.held, f->fire.since);
}

struct fan {
  char *source, *id, *label, *chip, *hwid; /* hwid: "<chip>/<label>" */
  double min, max;                         /* in force; NAN: none */
  const char *min_from, *max_from;
  bool listed; /* named by the spec's labels */
  bool turned; /* read STALL_RPM or more at least once */
  double lowest;
  struct phase_stats ph[N_PHASES];
  struct kiln_watch stall, below, above, fault;
  bool has_below, has_above;
  struct fired stall_fire, below_fire, above_fire, fault_fire;
};

struct fans {
  struct kiln_step *step;
  const struct kiln_spec_fans *spec; /* NULL: no station spec */
  const char *spec_source;
  double param_min, param_max, hold; /* NAN: not set */
  struct fan *f;
  size_t n, cap;
  /* the sample being taken */
  enum phase phase;
  bool late;
  double t;
};

/* ---- fans and their limits ---------------------------------------- */

static bool label_listed(const struct kiln_spec_fans *spec, const char *label,
                         const char *hwid) {
  for (size_t i = 0; spec && i < spec->n_labels; i++)
    if (strcasecmp(spec->labels[i], label) == 0 ||
        strcasecmp(spec->labels[i], hwid) == 0)
      return true;
  return false;
}

static void set_limits(struct fans *F, struct fan *f,
                       const struct kiln_tel_reading *r) {
  f->min = f->max = NAN;
  if (F->spec && F->spec->min_rpm >= 0)
    f->min = F->spec->min_rpm, f->min_from = "station spec";
  else if (!isnan(F->param_min))
    f->min = F->param_min, f->min_from = "profile";
  else if (r->min > 0)
    f->min = r->min, f->min_from = "the hardware's own";
  if (F->spec && F->spec->max_rpm >= 0)
    f->max = F->spec->max_rpm, f->max_from = "station spec";
  else if (!isnan(F->param_max))
    f->max = F->param_max, f->max_from = "profile";
  else if (r->max > 0)
    f->max = r->max, f->max_from = "the hardware's own";
  /* A minimum at or below the stall speed adds nothing to the stall. */
  if (!isnan(f->min) && f->min >= STALL_RPM) {
    kiln_watch_init(&f->below, KILN_WATCH_BELOW, f->min, F->hold);
    f->has_below = true;
  }
  if (!isnan(f->max)) {
    kiln_watch_init(&f->above, KILN_WATCH_ABOVE, f->max, F->hold);
    f->has_above = true;
  }
  kiln_watch_init(&f->stall, KILN_WATCH_BELOW, STALL_RPM, F->hold);
  /* Fed 1 for a reading the hardware calls critical, 0 otherwise. */
  kiln_watch_init(&f->fault, KILN_WATCH_ABOVE, 0.5, F->hold);
}

static struct fan *fan_for(struct fans *F, const struct kiln_tel_reading *r) {
  for (size_t i = 0; i < F->n; i++)
    if (strcmp(F->f[i].id, r->id) == 0 &&
        strcmp(F->f[i].source, r->source) == 0)
      return &F->f[i];
  if (F->n == F->cap) {
    F->cap = F->cap ? 2 * F->cap : 16;
    F->f = kiln_xrealloc(F->f, F->cap * sizeof *F->f);
  }
  struct fan *f = &F->f[F->n++];
  memset(f, 0, sizeof *f);
  f->source = kiln_xstrdup(r->source);
  f->id = kiln_xstrdup(r->id);
  f->label = kiln_xstrdup(r->label && *r->label ? r->label : r->id);
  /* Ids are "<chip>/<feature>"; a source without chips is its own. */
  const char *slash = strrchr(f->id, '/');
  f->chip = slash ? kiln_strdup_printf("%.*s", (int)(slash - f->id), f->id)
                  : kiln_xstrdup(f->source);
  f->hwid = kiln_strdup_printf("%s/%s", f->chip, f->label);
  f->listed = label_listed(F->spec, f->label, f->hwid);
  f->lowest = INFINITY;
  for (int p = 0; p < N_PHASES; p++)
    f->ph[p].lo_turning = INFINITY, f->ph[p].hi = -INFINITY;
  set_limits(F, f, r);
  return f;
}

static void fan_free(struct fan *f) {
  free(f->source);
  free(f->id);
  free(f->label);
  free(f->chip);
  free(f->hwid);
}

static void feed(struct kiln_watch *w, struct fired *out, enum phase phase,
                 double t, double v) {
  struct kiln_watch_fire fire;
  if (!kiln_watch_feed(w, t, v, &fire) || out->fired)
    return;
  out->fired = true;
  out->phase = phase;
  out->fire = fire;
}

static void on_reading(void *ctx, const struct kiln_tel_reading *r) {
  struct fans *F = ctx;
  if (r->kind != KILN_TEL_FAN_RPM || !isfinite(r->value))
    return;
  struct fan *f = fan_for(F, r);
  struct phase_stats *ps = &f->ph[F->phase];
  double v = r->value;
  kiln_emit_running(F->step, F->phase == PH_IDLE ? "rpm_idle" : "rpm_load", v,
                    f->hwid);
  ps->n++;
  ps->sum += v;
  if (F->late) {
    ps->late_n++;
    ps->late_sum += v;
  }
  if (v > ps->hi)
    ps->hi = v;
  if (v < f->lowest)
    f->lowest = v;
  bool stalled = v < STALL_RPM;
  if (!stalled) {
    f->turned = true;
    if (v < ps->lo_turning)
      ps->lo_turning = v;
  }
  ps->n_stalled += stalled;
  ps->n_below += !stalled && !isnan(f->min) && v < f->min;
  ps->n_above += !isnan(f->max) && v > f->max;
  bool fault = r->state == KILN_TEL_STATE_CRITICAL;
  ps->n_fault += fault;
  feed(&f->stall, &f->stall_fire, F->phase, F->t, v);
  if (r->state != KILN_TEL_STATE_NONE)
    feed(&f->fault, &f->fault_fire, F->phase, F->t, fault);
  /* A stopped fan is stalled, not also slow: the watch skips it. */
  if (f->has_below)
    feed(&f->below, &f->below_fire, F->phase, F->t, stalled ? NAN : v);
  if (f->has_above)
    feed(&f->above, &f->above_fire, F->phase, F->t, v);
}

/* An empty header: not in the spec's labels, and never turned. */
static bool ignored(const struct fans *F, const struct fan *f) {
  return F->spec && F->spec->n_labels > 0 && !f->listed && !f->turned;
}

/* ---- the load ------------------------------------------------------- */

struct spinner {
  pthread_t thread;
  atomic_bool *stop;
  double result; /* kept, so the loop is not optimised away */
};

struct load {
  struct spinner *sp;
  size_t n;
  atomic_bool stop;
};

static void *spin(void *arg) {
  struct spinner *sp = arg;
  double a = 1.0, b = 2.0, c = 3.0, d = 4.0;
  while (!atomic_load_explicit(sp->stop, memory_order_relaxed)) {
    /* Independent multiply-adds that settle on fixed points: busy FP
     * units, no overflow, no denormals. */
    for (int i = 0; i < 200000; i++) {
      a = a * 0.9999999 + 0.5;
      b = b * 0.9999998 + 0.25;
      c = c * 0.9999997 + 0.125;
      d = d * 0.9999996 + 0.0625;
    }
  }
  sp->result = a + b + c + d;
  return NULL;
}

/* Starts one spinning thread per online CPU; returns how many run. */
static size_t load_start(struct load *L) {
  long cpus = sysconf(_SC_NPROCESSORS_ONLN);
  if (cpus < 1)
    cpus = 1;
  atomic_init(&L->stop, false);
  L->sp = kiln_xcalloc((size_t)cpus, sizeof *L->sp);
  L->n = 0;
  for (long i = 0; i < cpus; i++) {
    struct spinner *sp = &L->sp[L->n];
    sp->stop = &L->stop;
    if (pthread_create(&sp->thread, NULL, spin, sp) != 0)
      break;
    L->n++;
  }
  return L->n;
}

static void load_stop(struct load *L) {
  atomic_store(&L->stop, true);
  for (size_t i = 0; i < L->n; i++)
    pthread_join(L->sp[i].thread, NULL);
  free(L->sp);
  L->sp = NULL;
  L->n = 0;
}

/* ---- sampling -------------------------------------------------------- */

static void sleep_until(double when) {
  for (;;) {
    double left = when - kiln_monotonic_now();
    if (left <= 0)
      return;
    struct timespec ts = {.tv_sec = (time_t)left,
                          .tv_nsec = (long)((left - floor(left)) * 1e9)};
    nanosleep(&ts, NULL);
  }
}

/* Samples through one phase, [start, start + len), at least once, about
 * once a second; `taken` samples at its start are already in. Returns the
 * phase's sample count. */
static size_t sample_phase(struct fans *F, struct kiln_telemetry *tel,
                           enum phase phase, double t0, double start,
                           double len, double total, size_t taken) {
  F->phase = phase;
  double end = start + len, next = start + (double)taken * SAMPLE_INTERVAL;
  size_t k = taken;
  for (;;) {
    if (k > 0 && next >= end)
      break;
    sleep_until(next);
    double now = kiln_monotonic_now();
    /* The schedule's time, not the clock's: a hold of N seconds is then N
     * sample intervals, whatever the wake-up jitter. */
    F->t = next - t0;
    F->late = next - start >= len / 2;
    kiln_telemetry_sample(tel, F->t, on_reading, F);
    k++;
    kiln_emit_progress(F->step, total > 0 ? fmin(1.0, (now - t0) / total) : 0);
    next += SAMPLE_INTERVAL;
    now = kiln_monotonic_now();
    if (next < now)
      next = now; /* sampling fell behind: go on from here */
  }
  sleep_until(end);
  return k;
}

/* ---- judging ---------------------------------------------------------- */

static double mean(const struct phase_stats *ps) {
  return ps->n ? ps->sum / (double)ps->n : NAN;
}

/* Under load, the second half's mean: fans take seconds to speed up. */
static double load_mean(const struct phase_stats *ps) {
  return ps->late_n ? ps->late_sum / (double)ps->late_n : mean(ps);
}

/* More than half of the phase's samples. */
static bool most(size_t bad, size_t n) { return n > 0 && 2 * bad > n; }

static void appendf(char *buf, size_t n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void appendf(char *buf, size_t n, const char *fmt, ...) {
  size_t len = strlen(buf);
  if (len + 1 >= n)
    return;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf + len, n - len, fmt, ap);
  va_end(ap);
}

/* found_list: the labels of the fans found, or why none were. */
static void judge_missing(struct fans *F, size_t found,
                          const char *found_list) {
  const struct kiln_spec_fans *spec = F->spec;
  if (!spec)
    return;
  for (size_t i = 0; i < spec->n_labels; i++) {
    bool present = false;
    for (size_t k = 0; k < F->n && !present; k++)
      present = strcasecmp(spec->labels[i], F->f[k].label) == 0 ||
                strcasecmp(spec->labels[i], F->f[k].hwid) == 0;
    if (!present)
      kiln_emit_diagnosis(F->step, KILN_DIAG_FAIL, "fan-missing",
                          spec->labels[i],
                          "%s: expected by the station spec %s, not found "
                          "among the %zu fans read (%s)",
                          spec->labels[i], F->spec_source, found, found_list);
  }
  if (spec->count >= 0 && found < (size_t)spec->count)
    kiln_emit_diagnosis(F->step, KILN_DIAG_FAIL, "fan-missing", NULL,
                        "%zu fan%s found, the station spec %s expects at "
                        "least %d (%s)",
                        found, found == 1 ? "" : "s", F->spec_source,
                        spec->count, found_list);
}

static void judge_stall(struct fans *F, const struct fan *f) {
  char parts[256] = "";
  bool bad = false;
  for (int p = 0; p < N_PHASES; p++) {
    const struct phase_stats *ps = &f->ph[p];
    if (!most(ps->n_stalled, ps->n))
      continue;
    appendf(parts, sizeof parts, "%s%s in %zu of %zu samples", bad ? ", " : "",
            phase_at[p], ps->n_stalled, ps->n);
    bad = true;
  }
  if (bad)
    kiln_emit_diagnosis(F->step, KILN_DIAG_FAIL, "fan-stalled", f->hwid,
                        "%s %s: 0 RPM, stalled (%s)", f->chip, f->label, parts);
  else if (f->stall_fire.fired) {
    char held[80];
    held_text(&f->stall_fire, held, sizeof held);
    kiln_emit_diagnosis(F->step, KILN_DIAG_FAIL, "fan-stalled", f->hwid,
                        "%s %s: 0 RPM, stalled (%s, %s)", f->chip, f->label,
                        phase_at[f->stall_fire.phase], held);
  }
}

static void judge_range(struct fans *F, const struct fan *f, bool above) {
  double limit = above ? f->max : f->min;
  const struct fired *fire = above ? &f->above_fire : &f->below_fire;
  char parts[512] = "";
  bool bad = false;
  for (int p = 0; p < N_PHASES; p++) {
    const struct phase_stats *ps = &f->ph[p];
    size_t out = above ? ps->n_above : ps->n_below;
    if (!most(out, ps->n))
      continue;
    appendf(parts, sizeof parts, "%s%.0f RPM %s (%zu of %zu samples)",
            bad ? ", " : "", above ? ps->hi : ps->lo_turning, phase_at[p], out,
            ps->n);
    bad = true;
  }
  if (!bad && !fire->fired)
    return;
  if (!bad) {
    char held[80];
    held_text(fire, held, sizeof held);
    snprintf(parts, sizeof parts, "%g RPM %s, %s (worst %g RPM)",
             fire->fire.value, phase_at[fire->phase], held, fire->fire.worst);
  }
  kiln_emit_diagnosis(F->step, KILN_DIAG_FAIL, "fan-out-of-range", f->hwid,
                      "%s %s: %s, %s its %s of %.0f RPM (%s)", f->chip,
                      f->label, parts, above ? "above" : "below",
                      above ? "maximum" : "minimum", limit,
                      above ? f->max_from : f->min_from);
}

/* A fan its own hardware (a BMC) rates critical. */
static void judge_fault(struct fans *F, const struct fan *f) {
  char parts[256] = "";
  bool bad = false;
  for (int p = 0; p < N_PHASES; p++) {
    const struct phase_stats *ps = &f->ph[p];
    if (!most(ps->n_fault, ps->n))
      continue;
    appendf(parts, sizeof parts, "%s%s in %zu of %zu samples", bad ? ", " : "",
            phase_at[p], ps->n_fault, ps->n);
    bad = true;
  }
  if (!bad && !f->fault_fire.fired)
    return;
  if (!bad) {
    char held[80];
    held_text(&f->fault_fire, held, sizeof held);
    snprintf(parts, sizeof parts, "%s, %s", phase_at[f->fault_fire.phase],
             held);
  }
  kiln_emit_diagnosis(F->step, KILN_DIAG_FAIL, "fan-fault", f->hwid,
                      "%s %s: the hardware reports the fan critical (%s; "
                      "lowest %.0f RPM)",
                      f->chip, f->label, parts, f->lowest);
}

static void judge_unreadable(struct fans *F, const struct fan *f,
                             const size_t samples[N_PHASES]) {
  for (int p = 0; p < N_PHASES; p++) {
    const struct phase_stats *ps = &f->ph[p];
    if (ps->n == 0)
      kiln_emit_diagnosis(F->step, KILN_DIAG_FAIL, "fan-unreadable", f->hwid,
                          "%s %s: no reading %s (in %zu samples; read at "
                          "other times: a driver error or a fault)",
                          f->chip, f->label, phase_at[p], samples[p]);
    else if (ps->n < samples[p])
      kiln_emit_log(F->step, KILN_SEV_WARNING,
                    "%s %s: read in %zu of %zu samples %s", f->chip, f->label,
                    ps->n, samples[p], phase_at[p]);
  }
}

static void judge_response(struct fans *F, const struct fan *f, double share) {
  double idle = mean(&f->ph[PH_IDLE]), load = load_mean(&f->ph[PH_LOAD]);
  if (!(idle >= STALL_RPM) || isnan(load))
    return; /* stalled or unread: already a FAIL of its own */
  double rise = load / idle - 1;
  kiln_emit_measurement(F->step, "rpm_rise", 100 * rise, f->hwid);
  if (rise < share)
    kiln_emit_diagnosis(F->step, KILN_DIAG_FAIL, "fan-no-response", f->hwid,
                        "%s %s: %.0f RPM under load, %.0f RPM at idle: rose "
                        "%+.1f%%, expected at least +%.1f%%",
                        f->chip, f->label, load, idle, 100 * rise, 100 * share);
}

/* ---- parameters -------------------------------------------------------- */

/* "auto" (NAN) or a speed in RPM. */
static bool param_rpm(struct kiln_step *s, const char *name, double *out) {
  struct kiln_param_value v;
  if (!kiln_step_param_value(s, name, &v))
    return false;
  *out = v.is_word ? NAN : v.number;
  return true;
}

static bool param_bool(struct kiln_step *s, const char *name, bool *out) {
  struct kiln_param_value v;
  if (!kiln_step_param_value(s, name, &v))
    return false;
  *out = v.number != 0;
  return true;
}

/* ---- the run --------------------------------------------------------- */

/* Sources that can give fans: their reasons matter when none were found. */
static const char *const fan_sources[] = {"sensors", "ipmi", NULL};
extern const struct kiln_module kiln_module_fans; /* this file's end */

static bool fan_source(const char *name) {
  return kiln_module_reads_source(&kiln_module_fans, name);
}

static void none_found_why(const struct kiln_telemetry *tel, char *buf,
                           size_t n) {
  bool sensors_open = false, ipmi_open = false, ipmi_tried = false;
  buf[0] = '\0';
  for (size_t i = 0; i < tel->n_src; i++) {
    const struct kiln_tel_open *o = &tel->src[i];
    if (!fan_source(o->src->name))
      continue;
    ipmi_tried |= strcmp(o->src->name, "ipmi") == 0;
    if (o->state) {
      sensors_open |= strcmp(o->src->name, "sensors") == 0;
      ipmi_open |= strcmp(o->src->name, "ipmi") == 0;
    } else {
      appendf(buf, n, "%s%s: %s", buf[0] ? "; " : "", o->src->name, o->why);
    }
  }
  if (sensors_open)
    appendf(buf, n, "%slibsensors saw no fan inputs", buf[0] ? "; " : "");
  if (ipmi_open)
    appendf(buf, n, "%sthe BMC reported no fans", buf[0] ? "; " : "");
  else if (!ipmi_tried) /* a build without the BMC source */
    appendf(buf, n, "%sBMC fans need --bmc", buf[0] ? "; " : "");
}

/* Opens every source and takes the first sample, which tells whether
 * there is any fan: the step's and the probe's. */
static void first_sample(struct kiln_telemetry *tel, kiln_tel_emit_fn emit,
                         void *ctx) {
  kiln_telemetry_open(tel, NULL);
  /* A BMC's first readings come from its own thread: wait for them. */
  kiln_telemetry_wait(tel, KILN_TEL_TIMEOUT);
  kiln_telemetry_sample(tel, 0, emit, ctx);
}

static void count_fan(void *ctx, const struct kiln_tel_reading *r) {
  if (r->kind == KILN_TEL_FAN_RPM && isfinite(r->value))
    ++*(size_t *)ctx;
}

/* The probe, kiln list's: the step's first sample. No fan is the step's
 * SKIP, or its FAIL when the station spec expects fans. */
static bool fans_available(char *why, size_t n) {
  const struct kiln_context *ctx = kiln_context();
  struct kiln_telemetry *tel = kiln_xcalloc(1, sizeof *tel);
  size_t readings = 0;
  first_sample(tel, count_fan, &readings);
  char found[600];
  none_found_why(tel, found, sizeof found);
  kiln_telemetry_close(tel);
  free(tel);
  if (readings > 0) {
    snprintf(why, n, "%zu fan reading%s", readings, readings == 1 ? "" : "s");
    return true;
  }
  bool expected =
      ctx->spec && (ctx->spec->fans.count > 0 || ctx->spec->fans.n_labels > 0);
  if (strstr(found, "already in use"))
    snprintf(why, n, "ERROR: cannot read the fans: %s", found);
  else if (expected)
    snprintf(why, n, "FAIL: the station spec expects fans; none found (%s)",
             found);
  else
    snprintf(why, n, "no fans found (%s)", found);
  return false;
}

/* How the step runs: the phases' lengths and the response check. */
struct fans_plan {
  double idle, load; /* seconds */
  bool response;     /* fan_response: RPM must rise under load */
  double share;      /* by this much */
};

/* The parameters, the station spec's response share winning; "auto" load
 * is the rest of the step. False when the step has ended. */
static bool parse_plan(struct kiln_step *s, struct fans *F,
                       struct fans_plan *P) {
  struct kiln_param_value load;
  P->share = 0.10;
  P->response = false;
  if (!kiln_step_param_seconds(s, "idle", &P->idle) ||
      !kiln_step_param_value(s, "load", &load) ||
      !kiln_step_param_seconds(s, "hold", &F->hold) ||
      !param_bool(s, "fan_response", &P->response) ||
      !kiln_step_param_share(s, "response_share", &P->share) ||
      !param_rpm(s, "min_rpm", &F->param_min) ||
      !param_rpm(s, "max_rpm", &F->param_max))
    return false;
  P->load = load.is_word ? -1 : load.number;
  if (F->spec && F->spec->response > 0)
    P->share = F->spec->response;
  if (P->load < 0) { /* auto: the rest of the step */
    double d = kiln_step_duration(s);
    if (d <= 0)
      P->load = P->idle;
    else if (d >= P->idle + SAMPLE_INTERVAL)
      P->load = d - P->idle;
    else
      P->idle = P->load = d / 2;
  }
  return true;
}

/* The first sample found no fan: an ERROR when the sensors cannot be
 * read, a FAIL when the spec expects fans, else a SKIP. */
static void judge_none_found(struct fans *F, struct kiln_telemetry *tel) {
  struct kiln_step *s = F->step;
  bool expected = F->spec && (F->spec->count > 0 || F->spec->n_labels > 0);
  char why[600];
  none_found_why(tel, why, sizeof why);
  if (strstr(why, "already in use")) {
    /* libsensors' state is taken (by a sampler in this process, or one
     * inherited from the parent): that is kiln's failure, not a machine
     * without fans, and a SKIP would hide a stalled fan. */
    kiln_step_error(s, "cannot read the fans: %s", why);
  } else if (expected) {
    kiln_emit_measurement(s, "fans", 0, NULL);
    judge_missing(F, 0, why);
  } else {
    kiln_step_skip(s, "no fans found (%s)", why);
  }
}

/* What was found, then each fan's judgement. */
static void report(struct fans *F, const struct fans_plan *P,
                   const size_t *samples) {
  struct kiln_step *s = F->step;
  size_t judged = 0;
  char list[1024] = "";
  const struct fan *lowest = NULL;
  for (size_t i = 0; i < F->n; i++) {
    const struct fan *f = &F->f[i];
    appendf(list, sizeof list, "%s%s", i ? ", " : "", f->label);
    if (ignored(F, f)) {
      kiln_emit_log(s, KILN_SEV_INFO,
                    "%s %s: 0 RPM throughout and not in the spec's labels: "
                    "an empty header, not judged",
                    f->chip, f->label);
      continue;
    }
    judged++;
    if (!lowest || f->lowest < lowest->lowest)
      lowest = f;
  }
  kiln_emit_measurement(s, "fans", (double)F->n, NULL);
  if (lowest && isfinite(lowest->lowest))
    kiln_emit_measurement(s, "rpm_min", lowest->lowest, lowest->hwid);
  judge_missing(F, F->n, list);
  for (size_t i = 0; i < F->n; i++) {
    const struct fan *f = &F->f[i];
    if (ignored(F, f))
      continue;
    if (f->ph[PH_IDLE].n)
      kiln_emit_measurement(s, "rpm_idle", mean(&f->ph[PH_IDLE]), f->hwid);
    if (f->ph[PH_LOAD].n)
      kiln_emit_measurement(s, "rpm_load", load_mean(&f->ph[PH_LOAD]), f->hwid);
    judge_stall(F, f);
    judge_fault(F, f);
    judge_unreadable(F, f, samples);
    if (f->has_below)
      judge_range(F, f, false);
    if (f->has_above)
      judge_range(F, f, true);
    if (P->response)
      judge_response(F, f, P->share);
  }
  kiln_emit_log(s, KILN_SEV_INFO,
                "%zu of %zu fans judged over %zu idle and "
                "%zu load samples",
                judged, F->n, samples[PH_IDLE], samples[PH_LOAD]);
}

static void fans_run(struct kiln_step *s) {
  const struct kiln_context *ctx = kiln_context();
  struct fans F = {.step = s};
  if (ctx && ctx->spec) {
    F.spec = &ctx->spec->fans;
    F.spec_source = ctx->spec->source ? ctx->spec->source : "";
  }
  struct fans_plan P;
  if (!parse_plan(s, &F, &P))
    return;
  kiln_emit_progress(s, 0);

  struct kiln_telemetry *tel = kiln_xcalloc(1, sizeof *tel);
  double t0 = kiln_monotonic_now(), total = P.idle + P.load;
  size_t samples[N_PHASES] = {0, 0};

  /* The first sample tells whether there is anything to judge. */
  F.phase = PH_IDLE;
  F.t = 0;
  F.late = false;
  first_sample(tel, on_reading, &F);
  if (F.n == 0) {
    judge_none_found(&F, tel);
    kiln_telemetry_close(tel);
    free(tel);
    return;
  }
  kiln_emit_log(s, KILN_SEV_INFO, "%zu fan%s; idle %.0f s, then load %.0f s%s",
                F.n, F.n == 1 ? "" : "s", P.idle, P.load,
                P.response ? ", RPM must rise under load" : "");

  samples[PH_IDLE] = sample_phase(&F, tel, PH_IDLE, t0, t0, P.idle, total, 1);
  struct load L;
  size_t threads = load_start(&L);
  if (threads == 0) {
    load_stop(&L);
    kiln_telemetry_close(tel);
    free(tel);
    kiln_step_error(s, "cannot start any CPU load thread");
    goto out;
  }
  kiln_emit_log(s, KILN_SEV_INFO, "load: %zu spinning thread%s", threads,
                threads == 1 ? "" : "s");
  samples[PH_LOAD] = sample_phase(&F, tel, PH_LOAD, t0, kiln_monotonic_now(),
                                  P.load, total, 0);
  load_stop(&L);
  kiln_telemetry_close(tel);
  free(tel);

  report(&F, &P, samples);
  kiln_emit_progress(s, 1.0);
out:
  for (size_t i = 0; i < F.n; i++)
    fan_free(&F.f[i]);
  free(F.f);
}

static const struct kiln_param_spec fans_params[] = {
    {"idle", "3s", "how long to sample before the load starts",
     .kind = KILN_PARAM_DURATION},
    {"load", "auto",
     "how long to sample under the CPU load (auto: the rest of the step)",
     .kind = KILN_PARAM_DURATION, .words = "auto"},
    {"hold", "5s",
     "a fan out of range this long on end fails, even if most samples of "
     "its phase were in range",
     .kind = KILN_PARAM_DURATION},
    {"fan_response", "no", "yes: every fan's RPM must rise under load",
     .kind = KILN_PARAM_BOOL},
    {"response_share", "10%",
     "how much (10% or 0.10); the station spec's [fans] response wins",
     .kind = KILN_PARAM_SHARE, .max = 10},
    {"min_rpm", "auto",
     "every fan's minimum when the station spec gives none (auto: the "
     "hardware's own fanN_min when above 0)",
     .kind = KILN_PARAM_RPM, .words = "auto"},
    {"max_rpm", "auto",
     "every fan's maximum when the station spec gives none (auto: the "
     "hardware's own fanN_max when above 0)",
     .kind = KILN_PARAM_RPM, .words = "auto"},
    {0},
};

static const struct kiln_measurement_spec fans_measurements[] = {
    {"fans", "", "fan inputs found (all telemetry sources)"},
    {"rpm_min", "RPM", "the lowest speed any judged fan read (on that fan)"},
    {"rpm_idle", "RPM", "a fan's mean speed at idle"},
    {"rpm_load", "RPM",
     "a fan's mean speed over the second half of the load (settled)"},
    {"rpm_rise", "%", "how much a fan sped up under load (fan_response = yes)"},
    {NULL, NULL, NULL},
};

const struct kiln_module kiln_module_fans = {
    .name = "fans",
    .summary = "every expected fan present, turning and in range at idle "
               "and under load",
    .targets = KILN_TARGETS_HOST,
    .stress = true,
    .params = fans_params,
    .measurements = fans_measurements,
    .key_measurement = "rpm_min",
    .available = fans_available,
    .run = fans_run,
    .telemetry_sources = fan_sources,
};
