#include "report_util.h"

#include <stdlib.h>
#include <string.h>

#include "kiln/textutil.h"

void report_count_step(struct report_counts *c,
                       const struct kiln_step_result *s) {
  c->total++;
  if (s->state != KILN_STEP_DONE) {
    c->unfinished++;
    return;
  }
  switch (s->verdict) {
  case KILN_PASS: c->pass++; break;
  case KILN_FAIL: c->fail++; break;
  case KILN_SKIP: c->skip++; break;
  case KILN_ERROR: c->error++; break;
  case KILN_ABORTED: c->aborted++; break;
  }
}

struct report_counts report_count_run(const struct kiln_run *run) {
  struct report_counts c = {0};
  for (size_t i = 0; i < run->n_steps; i++)
    report_count_step(&c, &run->steps[i]);
  return c;
}

void report_counts_text(const struct report_counts *c, char *buf, size_t n) {
  const struct {
    size_t n;
    const char *what;
  } parts[] = {{c->pass, "passed"},     {c->fail, "failed"},
               {c->skip, "skipped"},    {c->error, "error"},
               {c->aborted, "aborted"}, {c->unfinished, "not finished"}};
  size_t used = 0;
  buf[0] = 0;
  const char *sep = "";
  for (size_t i = 0; i < sizeof parts / sizeof *parts; i++) {
    if (!parts[i].n)
      continue;
    int w = snprintf(buf + used, n - used, "%s%zu %s", sep, parts[i].n,
                     parts[i].what);
    if (w < 0 || (size_t)w >= n - used)
      return;
    used += (size_t)w;
    sep = ", ";
  }
}

const char *report_step_label(const struct kiln_step_result *s) {
  switch (s->state) {
  case KILN_STEP_PENDING: return "PENDING";
  case KILN_STEP_RUNNING: return "RUNNING";
  case KILN_STEP_DONE: break;
  }
  return kiln_verdict_name(s->verdict);
}

const char *report_unfinished_reason(const struct kiln_step_result *s) {
  switch (s->state) {
  case KILN_STEP_PENDING: return "not run yet";
  case KILN_STEP_RUNNING: return "started but not finished";
  case KILN_STEP_DONE: break;
  }
  return NULL;
}

const char *report_diag_type_name(enum kiln_diag_type t) {
  switch (t) {
  case KILN_DIAG_PASS: return "PASS";
  case KILN_DIAG_FAIL: return "FAIL";
  case KILN_DIAG_UNKNOWN: break;
  }
  return "UNKNOWN";
}

double report_step_duration(const struct kiln_step_result *s) {
  if (s->start <= 0)
    return 0;
  double end = s->end > 0 ? s->end : kiln_now();
  return end > s->start ? end - s->start : 0;
}

enum kiln_verdict report_run_verdict(const struct kiln_run *run) {
  enum kiln_verdict from_steps = kiln_run_verdict(run);
  if (!run->finished)
    return from_steps;
  return kiln_verdict_worse(run->verdict, from_steps);
}

void report_describe_measurement(const struct kiln_measurement *m, char *buf,
                                 size_t n) {
  char value[48], limit[96];
  kiln_measurement_figures(m, value, sizeof value, limit, sizeof limit);
  snprintf(buf, n, "%s%s%s = %s%s%s%s%s%s", m->name, m->hwid[0] ? " on " : "",
           m->hwid, value, m->unit[0] ? " " : "", m->unit,
           limit[0] ? " (limit " : "", limit, limit[0] ? ")" : "");
}

int report_write_atomic(const char *path, int (*emit)(FILE *f, const void *ctx),
                        const void *ctx, char *err, size_t n) {
  struct kiln_atomic atomic;
  FILE *f = kiln_atomic_open(&atomic, path, err, n);
  if (!f)
    return -1;
  if (emit(f, ctx) != 0) {
    snprintf(err, n, "%s: could not build the report", path);
    kiln_atomic_abort(&atomic);
    return -1;
  }
  return kiln_atomic_commit(&atomic, err, n);
}
