/* Child side of a step: parameters, fault flags and the event emitters. */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/duration.h"
#include "core/settings.h"
#include "core/step_child.h"
#include "core/wire.h"
#include "kiln/result.h"
#include "kiln/step.h"
#include "kiln/textutil.h"

/* Running figures a step publishes at most; more are dropped. */
#define RUNNING_FIGURES 64

struct running_figure {
  char *name, *hwid;
  double last_call, published; /* monotonic */
};

struct kiln_step {
  struct kiln_step_config cfg;
  int fd;
  double deadline;
  bool ended;
  enum kiln_verdict end_verdict;
  char *end_reason;
  pthread_mutex_t lock;
  double publish_every; /* seconds between a running figure's publications */
  struct running_figure running[RUNNING_FIGURES];
  size_t n_running;
};

struct kiln_step *kiln_step_new(const struct kiln_step_config *cfg,
                                int event_fd) {
  struct kiln_step *s = kiln_xcalloc(1, sizeof *s);
  s->cfg = *cfg;
  s->fd = event_fd;
  s->deadline = kiln_monotonic_now() + cfg->duration;
  pthread_mutex_init(&s->lock, NULL);
  s->publish_every =
      cfg->publish_every > 0 ? cfg->publish_every : KILN_PUBLISH_EVERY_DEFAULT;
  return s;
}

void kiln_step_free(struct kiln_step *s) {
  if (!s)
    return;
  pthread_mutex_destroy(&s->lock);
  free(s->end_reason);
  for (size_t i = 0; i < s->n_running; i++) {
    free(s->running[i].name);
    free(s->running[i].hwid);
  }
  free(s);
}

static void send_event(struct kiln_step *s, struct kiln_wire_event *ev) {
  ev->time = kiln_now();
  char *line = kiln_wire_encode(ev);
  if (!line)
    return;
  size_t len = strlen(line);
  pthread_mutex_lock(&s->lock);
  /* One writer per pipe; loop over short writes. A closed pipe (parent
   * gone) raises SIGPIPE, which ends the child as it should. */
  for (size_t off = 0; off < len;) {
    ssize_t w = write(s->fd, line + off, len - off);
    if (w < 0) {
      if (errno == EINTR)
        continue;
      break;
    }
    off += (size_t)w;
  }
  pthread_mutex_unlock(&s->lock);
  free(line);
}

const char *kiln_step_id(const struct kiln_step *s) { return s->cfg.id; }
const char *kiln_step_target(const struct kiln_step *s) {
  return s->cfg.target;
}
int kiln_step_target_index(const struct kiln_step *s) {
  return s->cfg.target_index;
}
double kiln_step_duration(const struct kiln_step *s) { return s->cfg.duration; }
double kiln_step_deadline(const struct kiln_step *s) { return s->deadline; }
bool kiln_step_time_left(const struct kiln_step *s) {
  return kiln_monotonic_now() < s->deadline;
}

const char *kiln_step_param(const struct kiln_step *s, const char *name) {
  const struct kiln_settings settings = {
      .module = s->cfg.module,
      .params = s->cfg.params,
      .n_params = s->cfg.n_params,
      .sku_params = s->cfg.sku_params,
      .n_sku_params = s->cfg.n_sku_params,
  };
  return kiln_settings_param(&settings, name, NULL, NULL);
}

static const char *param_or_error(struct kiln_step *s, const char *name) {
  const char *v = kiln_step_param(s, name);
  if (!v)
    kiln_step_error(s, "parameter '%s' is not declared by %s", name,
                    s->cfg.module->name);
  return v;
}

bool kiln_step_param_value(struct kiln_step *s, const char *name,
                           struct kiln_param_value *out) {
  const char *v = param_or_error(s, name);
  if (!v)
    return false;
  const struct kiln_param_spec *p = kiln_module_param(s->cfg.module, name);
  char why[256];
  if (kiln_param_parse(p, v, out, why, sizeof why) != 0) {
    kiln_step_error(s, "parameter %s = '%s' %s", name, v, why);
    return false;
  }
  return true;
}

/* The parsed value of a parameter declared as `kind`, not one of its
 * words ("auto": the module reads those as text first). */
static bool param_of_kind(struct kiln_step *s, const char *name,
                          enum kiln_param_kind kind,
                          struct kiln_param_value *out) {
  if (!kiln_step_param_value(s, name, out))
    return false;
  const struct kiln_param_spec *p = kiln_module_param(s->cfg.module, name);
  if (p->kind != kind || out->is_word) {
    kiln_step_error(s, "parameter %s = '%s' is not what %s reads here", name,
                    kiln_step_param(s, name), s->cfg.module->name);
    return false;
  }
  return true;
}

bool kiln_step_param_long(struct kiln_step *s, const char *name, long *out) {
  struct kiln_param_value v;
  if (!param_of_kind(s, name, KILN_PARAM_INTEGER, &v))
    return false;
  *out = v.integer;
  return true;
}

bool kiln_step_param_double(struct kiln_step *s, const char *name,
                            double *out) {
  struct kiln_param_value v;
  if (!param_of_kind(s, name, KILN_PARAM_NUMBER, &v))
    return false;
  *out = v.number;
  return true;
}

bool kiln_step_param_seconds(struct kiln_step *s, const char *name,
                             double *out) {
  struct kiln_param_value v;
  if (!param_of_kind(s, name, KILN_PARAM_DURATION, &v))
    return false;
  *out = v.number;
  return true;
}

bool kiln_step_param_bytes(struct kiln_step *s, const char *name,
                           uint64_t whole, uint64_t *out) {
  struct kiln_param_value v;
  if (!param_of_kind(s, name, KILN_PARAM_SIZE, &v))
    return false;
  *out = v.of_whole ? (uint64_t)(v.number * (double)whole) : (uint64_t)v.number;
  return true;
}

bool kiln_step_param_share(struct kiln_step *s, const char *name, double *out) {
  struct kiln_param_value v;
  if (!param_of_kind(s, name, KILN_PARAM_SHARE, &v))
    return false;
  *out = v.number;
  return true;
}

bool kiln_step_inject(const struct kiln_step *s, const char *fault) {
  for (const char *const *f = s->cfg.inject; f && *f; f++)
    if (strcmp(*f, fault) == 0)
      return true;
  return false;
}

void kiln_emit_measurement(struct kiln_step *s, const char *name, double value,
                           const char *hwid) {
  const struct kiln_measurement_spec *m =
      kiln_module_measurement(s->cfg.module, name);
  struct kiln_wire_event ev = {.type = KILN_WIRE_MEASUREMENT};
  ev.name = (char *)name;
  ev.value = value;
  ev.unit = (char *)(m ? m->unit : "");
  ev.hwid = (char *)(hwid ? hwid : "");
  send_event(s, &ev);
}

/* The figure (name, hwid), made on first sight; NULL when the table is
 * full. Lock held. */
static struct running_figure *
running_figure(struct kiln_step *s, const char *name, const char *hwid) {
  for (size_t i = 0; i < s->n_running; i++)
    if (strcmp(s->running[i].name, name) == 0 &&
        strcmp(s->running[i].hwid, hwid) == 0)
      return &s->running[i];
  if (s->n_running == RUNNING_FIGURES)
    return NULL;
  struct running_figure *f = &s->running[s->n_running++];
  f->name = kiln_xstrdup(name);
  f->hwid = kiln_xstrdup(hwid);
  f->last_call = f->published = -INFINITY;
  return f;
}

void kiln_emit_running(struct kiln_step *s, const char *name, double value,
                       const char *hwid) {
  double now = kiln_monotonic_now();
  bool publish = false;
  pthread_mutex_lock(&s->lock);
  struct running_figure *f = running_figure(s, name, hwid ? hwid : "");
  if (f) {
    /* Due by the next call (as far apart as the last two), publish now:
     * waiting for it would be late. */
    double gap = isfinite(f->last_call) ? now - f->last_call : 0;
    publish = now + gap >= f->published + s->publish_every;
    f->last_call = now;
    if (publish)
      f->published = now;
  }
  pthread_mutex_unlock(&s->lock);
  if (!publish)
    return;
  const struct kiln_measurement_spec *m =
      kiln_module_measurement(s->cfg.module, name);
  struct kiln_wire_event ev = {.type = KILN_WIRE_RUNNING};
  ev.name = (char *)name;
  ev.value = value;
  ev.unit = (char *)(m ? m->unit : "");
  ev.hwid = (char *)(hwid ? hwid : "");
  send_event(s, &ev);
}

void kiln_emit_diagnosis(struct kiln_step *s, int diag_type,
                         const char *symptom, const char *hwid, const char *fmt,
                         ...) {
  char msg[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  struct kiln_wire_event ev = {.type = KILN_WIRE_DIAGNOSIS};
  ev.diag_type = diag_type;
  ev.symptom = (char *)symptom;
  ev.hwid = (char *)(hwid ? hwid : "");
  ev.message = msg;
  send_event(s, &ev);
}

void kiln_emit_log(struct kiln_step *s, enum kiln_severity sev, const char *fmt,
                   ...) {
  char msg[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  struct kiln_wire_event ev = {.type = KILN_WIRE_LOG};
  ev.severity = sev;
  ev.message = msg;
  send_event(s, &ev);
}

void kiln_emit_progress(struct kiln_step *s, double fraction) {
  struct kiln_wire_event ev = {.type = KILN_WIRE_PROGRESS};
  ev.value = fraction < 0 ? 0 : fraction > 1 ? 1 : fraction;
  send_event(s, &ev);
}

__attribute__((format(printf, 3, 0))) static void end_step(struct kiln_step *s,
                                                           enum kiln_verdict v,
                                                           const char *fmt,
                                                           va_list ap) {
  char msg[1024];
  vsnprintf(msg, sizeof msg, fmt, ap);
  pthread_mutex_lock(&s->lock);
  if (!s->ended) { /* the first reason is the real one */
    s->ended = true;
    s->end_verdict = v;
    s->end_reason = kiln_xstrdup(msg);
  }
  pthread_mutex_unlock(&s->lock);
}

void kiln_step_skip(struct kiln_step *s, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  end_step(s, KILN_SKIP, fmt, ap);
  va_end(ap);
}

void kiln_step_error(struct kiln_step *s, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  end_step(s, KILN_ERROR, fmt, ap);
  va_end(ap);
}

bool kiln_step_ended(const struct kiln_step *s) { return s->ended; }

void kiln_step_run(struct kiln_step *s) {
  s->deadline = kiln_monotonic_now() + s->cfg.duration;
  s->cfg.module->run(s);
  struct kiln_wire_event ev = {.type = KILN_WIRE_END};
  ev.verdict = s->ended ? s->end_verdict : KILN_PASS;
  ev.message = s->ended ? s->end_reason : "";
  send_event(s, &ev);
}
