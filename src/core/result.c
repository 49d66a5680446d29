#include "kiln/result.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kiln/textutil.h"

#define GROW(arr, count, cap)                                                  \
  do {                                                                         \
    if ((count) == (cap)) {                                                    \
      (cap) = (cap) ? 2 * (cap) : 8;                                           \
      (arr) = kiln_xrealloc((arr), (cap) * sizeof *(arr));                     \
    }                                                                          \
  } while (0)

void kiln_run_init(struct kiln_run *run) { memset(run, 0, sizeof *run); }

static void free_step(struct kiln_step_result *s) {
  for (size_t i = 0; i < s->n_measurements; i++) {
    free(s->measurements[i].name);
    free(s->measurements[i].unit);
    free(s->measurements[i].hwid);
  }
  for (size_t i = 0; i < s->n_diagnoses; i++) {
    free(s->diagnoses[i].symptom);
    free(s->diagnoses[i].message);
    free(s->diagnoses[i].hwid);
  }
  for (size_t i = 0; i < s->n_logs; i++)
    free(s->logs[i].message);
  for (size_t i = 0; i < s->n_limits; i++)
    free(s->limits[i].measurement);
  free(s->limits);
  free(s->measurements);
  free(s->diagnoses);
  free(s->logs);
  free(s->id);
  free(s->module);
  free(s->target);
  free(s->reason);
  free(s->key_measurement);
}

void kiln_run_free(struct kiln_run *run) {
  for (size_t i = 0; i < run->n_steps; i++)
    free_step(&run->steps[i]);
  free(run->steps);
  free(run->kiln_version);
  free(run->profile);
  free(run->profile_source);
  free(run->command_line);
  free(run->report_dir);
  free(run->sku);
  free(run->dut.serial);
  free(run->dut.hostname);
  free(run->dut.vendor);
  free(run->dut.product);
  free(run->dut.board_serial);
  free(run->dut.bios_vendor);
  free(run->dut.bios_version);
  free(run->dut.bios_date);
  for (size_t i = 0; i < run->n_hardware; i++) {
    struct kiln_hw_info *h = &run->hardware[i];
    free(h->id);
    free(h->kind);
    free(h->name);
    free(h->location);
    free(h->serial);
    free(h->part_number);
    free(h->manufacturer);
    free(h->version);
  }
  free(run->hardware);
  free(run->abort_reason);
  memset(run, 0, sizeof *run);
}

static char *text_or_empty(const char *s) {
  return kiln_utf8_sanitize(s ? s : "");
}

void kiln_run_add_hardware(struct kiln_run *run, const struct kiln_hw_info *h) {
  run->hardware = kiln_xrealloc(run->hardware,
                                (run->n_hardware + 1) * sizeof *run->hardware);
  run->hardware[run->n_hardware++] = (struct kiln_hw_info){
      .id = text_or_empty(h->id),
      .kind = text_or_empty(h->kind),
      .name = text_or_empty(h->name),
      .location = text_or_empty(h->location),
      .serial = text_or_empty(h->serial),
      .part_number = text_or_empty(h->part_number),
      .manufacturer = text_or_empty(h->manufacturer),
      .version = text_or_empty(h->version),
  };
}

struct kiln_step_result *kiln_run_add_step(struct kiln_run *run, const char *id,
                                           const char *module,
                                           const char *target, int phase) {
  run->steps =
      kiln_xrealloc(run->steps, (run->n_steps + 1) * sizeof *run->steps);
  struct kiln_step_result *s = &run->steps[run->n_steps];
  memset(s, 0, sizeof *s);
  s->index = run->n_steps++;
  s->id = kiln_utf8_sanitize(id);
  s->module = kiln_utf8_sanitize(module);
  s->target = kiln_utf8_sanitize(target);
  s->phase = phase;
  s->state = KILN_STEP_PENDING;
  s->verdict = KILN_PASS;
  return s;
}

struct kiln_measurement *
kiln_step_add_measurement(struct kiln_step_result *s, const char *name,
                          double value, const char *unit,
                          const struct kiln_limit *limit, const char *hwid,
                          double time) {
  GROW(s->measurements, s->n_measurements, s->cap_measurements);
  struct kiln_measurement *m = &s->measurements[s->n_measurements++];
  memset(m, 0, sizeof *m);
  m->name = kiln_utf8_sanitize(name);
  m->value = value;
  m->unit = kiln_utf8_sanitize(unit);
  if (limit)
    m->limit = *limit;
  m->hwid = kiln_utf8_sanitize(hwid);
  m->pass = kiln_limit_ok(&m->limit, value);
  m->time = time;
  return m;
}

struct kiln_diagnosis *kiln_step_add_diagnosis(struct kiln_step_result *s,
                                               enum kiln_diag_type type,
                                               const char *symptom,
                                               const char *message,
                                               const char *hwid, double time) {
  GROW(s->diagnoses, s->n_diagnoses, s->cap_diagnoses);
  struct kiln_diagnosis *d = &s->diagnoses[s->n_diagnoses++];
  d->type = type;
  d->symptom = kiln_utf8_sanitize(symptom);
  d->message = kiln_utf8_sanitize(message);
  d->hwid = kiln_utf8_sanitize(hwid);
  d->time = time;
  return d;
}

struct kiln_log *kiln_step_add_log(struct kiln_step_result *s,
                                   enum kiln_severity sev, const char *message,
                                   double time) {
  GROW(s->logs, s->n_logs, s->cap_logs);
  struct kiln_log *l = &s->logs[s->n_logs++];
  l->severity = sev;
  l->message = kiln_utf8_sanitize(message);
  l->time = time;
  return l;
}

bool kiln_step_set_limit(struct kiln_step_result *s, const char *measurement,
                         const struct kiln_limit *limit) {
  if (!kiln_limit_is_set(limit) || kiln_step_limit(s, measurement))
    return false;
  GROW(s->limits, s->n_limits, s->cap_limits);
  s->limits[s->n_limits++] = (struct kiln_step_limit){
      .measurement = kiln_utf8_sanitize(measurement),
      .limit = *limit,
  };
  return true;
}

const struct kiln_limit *kiln_step_limit(const struct kiln_step_result *s,
                                         const char *measurement) {
  for (size_t i = 0; i < s->n_limits; i++)
    if (strcmp(s->limits[i].measurement, measurement) == 0)
      return &s->limits[i].limit;
  return NULL;
}

static bool measured(const struct kiln_step_result *s, const char *name) {
  for (size_t i = 0; i < s->n_measurements; i++)
    if (strcmp(s->measurements[i].name, name) == 0)
      return true;
  return false;
}

/* Why the step did not measure name, from its own logs: the last one that
 * names it, else the last that says something could not be measured. */
static const char *why_unmeasured(const struct kiln_step_result *s,
                                  const char *name) {
  for (size_t i = s->n_logs; i-- > 0;)
    if (strstr(s->logs[i].message, name))
      return s->logs[i].message;
  static const char *const phrases[] = {"not measured", "not checked",
                                        "not supported"};
  for (size_t i = s->n_logs; i-- > 0;)
    for (size_t k = 0; k < sizeof phrases / sizeof *phrases; k++)
      if (strstr(s->logs[i].message, phrases[k]))
        return s->logs[i].message;
  return NULL;
}

/* "limit x.max = 0 set but x was not measured: why" for each limit the
 * step left unjudged, joined by "; " (NULL when none). */
static char *unmeasured_limits(const struct kiln_step_result *s) {
  char *text = NULL;
  for (size_t i = 0; i < s->n_limits; i++) {
    const struct kiln_step_limit *l = &s->limits[i];
    if (measured(s, l->measurement))
      continue;
    char spelled[256];
    kiln_limit_spell(l->measurement, &l->limit, spelled, sizeof spelled);
    const char *why = why_unmeasured(s, l->measurement);
    char *line = kiln_strdup_printf(
        "limit %s set but %s was not measured%s%s", spelled, l->measurement,
        why ? ": " : " (the step gave no reason)", why ? why : "");
    if (text) {
      char *both = kiln_strdup_printf("%s; %s", text, line);
      free(text);
      free(line);
      text = both;
    } else {
      text = line;
    }
  }
  return text;
}

bool kiln_step_failing(const struct kiln_step_result *s) {
  for (size_t i = 0; i < s->n_diagnoses; i++)
    if (s->diagnoses[i].type == KILN_DIAG_FAIL)
      return true;
  for (size_t i = 0; i < s->n_measurements; i++)
    if (!s->measurements[i].pass)
      return true;
  return false;
}

void kiln_step_finish(struct kiln_step_result *s, enum kiln_verdict ended,
                      const char *reason, double time) {
  s->state = KILN_STEP_DONE;
  s->end = time;
  /* A SKIP says nothing about the hardware; anything found before an
   * ERROR or ABORTED still means the hardware failed. */
  if (ended != KILN_SKIP && kiln_step_failing(s))
    s->verdict = KILN_FAIL;
  else
    s->verdict = ended;
  free(s->reason);
  s->reason = reason ? kiln_utf8_sanitize(reason) : NULL;
  /* Never pass what was not tested: a limit nobody judged is an ERROR. */
  char *missing = s->verdict == KILN_SKIP || s->verdict == KILN_ABORTED
                      ? NULL
                      : unmeasured_limits(s);
  if (missing && s->verdict == KILN_PASS) {
    s->verdict = KILN_ERROR;
    free(s->reason);
    s->reason = kiln_utf8_sanitize(missing);
  } else if (missing) {
    kiln_step_add_log(s, KILN_SEV_ERROR, missing, time);
  }
  free(missing);
  if (s->verdict == KILN_PASS || s->verdict == KILN_FAIL)
    s->progress = 1.0;
}

enum kiln_verdict kiln_run_verdict(const struct kiln_run *run) {
  enum kiln_verdict v = KILN_PASS;
  for (size_t i = 0; i < run->n_steps; i++) {
    const struct kiln_step_result *s = &run->steps[i];
    enum kiln_verdict sv =
        s->state == KILN_STEP_DONE ? s->verdict : KILN_ABORTED;
    v = kiln_verdict_worse(v, sv == KILN_SKIP ? KILN_PASS : sv);
  }
  return v;
}

size_t kiln_run_count(const struct kiln_run *run, enum kiln_verdict v) {
  size_t n = 0;
  for (size_t i = 0; i < run->n_steps; i++)
    if (run->steps[i].state == KILN_STEP_DONE && run->steps[i].verdict == v)
      n++;
  return n;
}

const struct kiln_measurement *
kiln_step_key_measurement(const struct kiln_step_result *s) {
  for (size_t i = 0; s->key_measurement && i < s->n_measurements; i++)
    if (strcmp(s->measurements[i].name, s->key_measurement) == 0)
      return &s->measurements[i];
  return s->n_measurements ? &s->measurements[0] : NULL;
}

void kiln_measurement_figures(const struct kiln_measurement *m, char *value,
                              size_t value_n, char *limit, size_t limit_n) {
  const struct kiln_limit *l = &m->limit;
  bool below = l->has_lo && !(m->value >= l->lo);
  bool crossed = !kiln_limit_ok(l, m->value) && !isnan(m->value);
  int digits = KILN_FIGURE_DIGITS;
  char v[48], bound[48];
  for (; crossed && digits < 17; digits++) {
    kiln_figure_text_digits(m->value, digits, v, sizeof v);
    kiln_figure_text_digits(below ? l->lo : l->hi, digits, bound, sizeof bound);
    if (strcmp(v, bound) != 0)
      break;
  }
  kiln_figure_text_digits(m->value, digits, value, value_n);
  kiln_limit_describe_digits(l, digits, limit, (unsigned)limit_n);
}

void kiln_step_failure_text(const struct kiln_step_result *s, char *buf,
                            size_t n) {
  if (!n)
    return;
  buf[0] = 0;
  for (size_t i = 0; i < s->n_diagnoses; i++)
    if (s->diagnoses[i].type == KILN_DIAG_FAIL) {
      snprintf(buf, n, "%s", s->diagnoses[i].message);
      return;
    }
  for (size_t i = 0; i < s->n_measurements; i++) {
    const struct kiln_measurement *m = &s->measurements[i];
    if (!m->pass) {
      char value[48], lim[96];
      kiln_measurement_figures(m, value, sizeof value, lim, sizeof lim);
      snprintf(buf, n, "%s%s%s = %s%s%s, limit %s", m->name,
               m->hwid[0] ? " on " : "", m->hwid, value, m->unit[0] ? " " : "",
               m->unit, lim);
      return;
    }
  }
  if (s->reason)
    snprintf(buf, n, "%s", s->reason);
}
