#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kiln/module.h"
#include "kiln/result.h"
#include "kiln/textutil.h"
#include "run/runner.h"

void harness_run_module(const char *module, double duration,
                        const char *const *params, const char *const *inject,
                        struct captured *out) {
  memset(out, 0, sizeof *out);
  const struct kiln_module *m = kiln_module_find(module);
  if (!m) {
    fprintf(stderr, "harness: no module %s\n", module);
    abort();
  }
  size_t np = 0;
  while (params && params[2 * np])
    np++;
  struct kiln_kv *kv = kiln_xcalloc(np + 1, sizeof *kv);
  for (size_t i = 0; i < np; i++) {
    kv[i].key = (char *)params[2 * i];
    kv[i].value = (char *)params[2 * i + 1];
  }
  struct kiln_step_config cfg = {
      .module = m,
      .id = module,
      .target = "host",
      .target_index = 0,
      .duration = duration,
      .params = kv,
      .n_params = np,
      .inject = inject,
  };
  harness_run_step(&cfg, out);
  free(kv);
}

void harness_run_step(const struct kiln_step_config *cfg,
                      struct captured *out) {
  memset(out, 0, sizeof *out);
  /* A temp file, not a pipe: the module may emit more than a pipe holds. */
  FILE *f = tmpfile();
  if (!f)
    abort();
  struct kiln_step *s = kiln_step_new(cfg, fileno(f));
  kiln_step_run(s);
  kiln_step_free(s);
  rewind(f);
  char *line = NULL;
  size_t cap = 0;
  while (getline(&line, &cap, f) > 0) {
    struct kiln_wire_event ev;
    char err[256];
    if (kiln_wire_decode(line, &ev, err, sizeof err) != 0) {
      fprintf(stderr, "harness: bad event line: %s (%s)\n", line, err);
      abort();
    }
    out->events = kiln_xrealloc(out->events, (out->n + 1) * sizeof ev);
    out->events[out->n++] = ev;
  }
  free(line);
  fclose(f);
}

void harness_free(struct captured *c) {
  for (size_t i = 0; i < c->n; i++)
    kiln_wire_event_clear(&c->events[i]);
  free(c->events);
  memset(c, 0, sizeof *c);
}

int harness_end_verdict(const struct captured *c) {
  for (size_t i = c->n; i-- > 0;)
    if (c->events[i].type == KILN_WIRE_END)
      return (int)c->events[i].verdict;
  return -1;
}

size_t harness_fail_diagnoses(const struct captured *c, char *msg, size_t n) {
  size_t count = 0;
  for (size_t i = 0; i < c->n; i++) {
    const struct kiln_wire_event *e = &c->events[i];
    if (e->type == KILN_WIRE_DIAGNOSIS && e->diag_type == KILN_DIAG_FAIL) {
      if (count == 0 && msg && n)
        snprintf(msg, n, "%s", e->message);
      count++;
    }
  }
  return count;
}

size_t harness_fail_symptom(const struct captured *c, const char *symptom,
                            char *msg, size_t n) {
  size_t count = 0;
  for (size_t i = 0; i < c->n; i++) {
    const struct kiln_wire_event *e = &c->events[i];
    if (e->type == KILN_WIRE_DIAGNOSIS && e->diag_type == KILN_DIAG_FAIL &&
        strcmp(e->symptom, symptom) == 0 && count++ == 0 && msg)
      snprintf(msg, n, "%s", e->message);
  }
  return count;
}

bool harness_logged(const struct captured *c, const char *needle) {
  for (size_t i = 0; i < c->n; i++)
    if (c->events[i].type == KILN_WIRE_LOG && c->events[i].message &&
        strstr(c->events[i].message, needle))
      return true;
  return false;
}

const struct kiln_wire_event *harness_measurement(const struct captured *c,
                                                  const char *name,
                                                  const char *hwid) {
  for (size_t i = 0; i < c->n; i++) {
    const struct kiln_wire_event *e = &c->events[i];
    if (e->type == KILN_WIRE_MEASUREMENT && strcmp(e->name, name) == 0 &&
        (!hwid || strcmp(e->hwid, hwid) == 0))
      return e;
  }
  return NULL;
}

const struct kiln_wire_event *
harness_running(const struct captured *c, const char *name, const char *hwid) {
  for (size_t i = 0; i < c->n; i++) {
    const struct kiln_wire_event *e = &c->events[i];
    if (e->type == KILN_WIRE_RUNNING && strcmp(e->name, name) == 0 &&
        (!hwid || strcmp(e->hwid, hwid) == 0))
      return e;
  }
  return NULL;
}
