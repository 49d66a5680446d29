/* Profile loading, on the INI reader (config/ini.h). Layout:
 *   [profile]  name, description, duration, grace, hang_timeout,
 *              spec (station spec file, relative to the profile's file),
 *              stagger (seconds between the starts of a phase's GPU steps),
 *              mig_allowed (yes/no, default no: GPUs in MIG mode ERROR),
 *              publish_every (a stress step's running figures, 1s to 30s),
 *              phase.N = module, module   (phases run in N order),
 *              monitors = thermal, edac   (watched for the whole run)
 *   [MODULE]   parameters, `<measurement>.min` / `.max` limits,
 *              duration (overrides the profile's default)             */
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/ini.h"
#include "config/profile.h"
#include "kiln/module.h"
#include "kiln/textutil.h"

struct parse_state {
  struct kiln_profile *p;
  struct kiln_ini *ini; /* the reading, for errors and lines */
  /* Set for a SKU file: its own section's keys go here, and module
   * sections need no phase (see kiln_profile_parse_modules). */
  const char *header;
  kiln_profile_header_fn *header_key;
  void *header_ctx;
};

static struct kiln_profile_module *find_module(struct kiln_profile *p,
                                               const char *name) {
  for (size_t i = 0; i < p->n_modules; i++)
    if (strcmp(p->modules[i].name, name) == 0)
      return &p->modules[i];
  return NULL;
}

static int parse_number(const char *v, double *out) {
  char *end;
  errno = 0;
  double x = strtod(v, &end);
  if (errno || end == v || *end || !isfinite(x))
    return -1;
  *out = x;
  return 0;
}

static int parse_phase_list(struct parse_state *st, const char *key,
                            const char *value) {
  bool monitors = strcmp(key, "monitors") == 0;
  long phase = KILN_MONITOR_PHASE;
  if (!monitors) {
    char *end;
    errno = 0;
    phase = strtol(key + strlen("phase."), &end, 10);
    if (errno || *end || end == key + strlen("phase.") || phase < 1 ||
        phase > 99)
      return kiln_ini_fail(st->ini,
                           "bad phase key '%s' (use phase.1 .. phase.99)", key);
  }
  char *list = kiln_xstrdup(value);
  char *save = NULL;
  int ok = 1;
  size_t listed = 0;
  for (char *tok = strtok_r(list, ", \t", &save); tok && ok;
       tok = strtok_r(NULL, ", \t", &save)) {
    listed++;
    const struct kiln_module *mod = kiln_module_find(tok);
    if (!mod) {
      ok = kiln_ini_fail(st->ini, "unknown module '%s' (see `kiln list`)", tok);
      break;
    }
    if (monitors != (mod->targets == KILN_TARGETS_MONITOR)) {
      ok =
          kiln_ini_fail(st->ini,
                        monitors ? "'%s' is not a monitor: list it in a phase"
                                 : "'%s' is a monitor: list it in `monitors =`",
                        tok);
      break;
    }
    if (find_module(st->p, tok)) {
      ok = kiln_ini_fail(st->ini, "module '%s' is listed in two phases", tok);
      break;
    }
    struct kiln_profile *p = st->p;
    p->modules =
        kiln_xrealloc(p->modules, (p->n_modules + 1) * sizeof *p->modules);
    struct kiln_profile_module *m = &p->modules[p->n_modules++];
    memset(m, 0, sizeof *m);
    m->name = kiln_xstrdup(tok);
    m->line = kiln_ini_line(st->ini);
    m->phase = (int)phase;
    m->duration = -1;
  }
  free(list);
  if (ok && listed == 0)
    return kiln_ini_fail(st->ini, "%s lists no module", key);
  return ok;
}

/* A duration in min..KILN_DURATION_MAX: one that cannot make a real test
 * (a 0 s step passes having tested nothing) is refused with the range. */
static int parse_duration(struct parse_state *st, const char *key,
                          const char *value, double min, double *out) {
  char why[256];
  if (kiln_duration_parse_range(value, min, KILN_DURATION_MAX, out, why,
                                sizeof why) != 0)
    return kiln_ini_fail(st->ini, "%s %s", key, why);
  return 1;
}

static int profile_key(struct parse_state *st, const char *key,
                       const char *value) {
  struct kiln_profile *p = st->p;
  if (strcmp(key, "name") == 0) {
    free(p->name);
    p->name = kiln_xstrdup(value);
  } else if (strcmp(key, "description") == 0) {
    free(p->description);
    p->description = kiln_xstrdup(value);
  } else if (strcmp(key, "duration") == 0) {
    return parse_duration(st, key, value, KILN_STEP_DURATION_MIN, &p->duration);
  } else if (strcmp(key, "grace") == 0) {
    return parse_duration(st, key, value, KILN_GRACE_MIN, &p->grace);
  } else if (strcmp(key, "hang_timeout") == 0) {
    return parse_duration(st, key, value, KILN_HANG_TIMEOUT_MIN,
                          &p->hang_timeout);
  } else if (strcmp(key, "stagger") == 0) {
    return parse_duration(st, key, value, 0, &p->stagger);
  } else if (strcmp(key, "mig_allowed") == 0) {
    if (strcmp(value, "yes") == 0 || strcmp(value, "no") == 0)
      p->mig_allowed = value[0] == 'y';
    else
      return kiln_ini_fail(st->ini, "mig_allowed '%s': use yes or no", value);
  } else if (strcmp(key, "publish_every") == 0) {
    /* At most 30 s: a node that dies loses at most that of a step. */
    if (kiln_duration_parse(value, &p->publish_every) != 0 ||
        p->publish_every < 1 || p->publish_every > 30)
      return kiln_ini_fail(
          st->ini, "publish_every '%s' is not a duration from 1s to 30s",
          value);
  } else if (strcmp(key, "spec") == 0) {
    if (!value[0])
      return kiln_ini_fail(st->ini, "spec is empty: give a station spec file");
    free(p->spec);
    p->spec = kiln_path_beside(kiln_ini_source(st->ini), value);
  } else if (strncmp(key, "phase.", 6) == 0 || strcmp(key, "monitors") == 0) {
    return parse_phase_list(st, key, value);
  } else {
    return kiln_ini_fail(st->ini, "unknown key '%s' in [profile]", key);
  }
  return 1;
}

static int add_limit(struct parse_state *st, struct kiln_profile_module *pm,
                     const struct kiln_module *mod, const char *key,
                     const char *value) {
  const char *dot = strrchr(key, '.');
  bool lo = strcmp(dot, ".min") == 0;
  char name[128];
  snprintf(name, sizeof name, "%.*s", (int)(dot - key), key);
  if (!kiln_module_measurement(mod, name))
    return kiln_ini_fail(st->ini, "%s has no measurement '%s' to limit",
                         mod->name, name);
  double x;
  if (parse_number(value, &x) != 0)
    return kiln_ini_fail(st->ini, "limit %s = '%s' is not a number", key,
                         value);
  struct kiln_profile_limit *l = NULL;
  for (size_t i = 0; i < pm->n_limits; i++)
    if (strcmp(pm->limits[i].measurement, name) == 0)
      l = &pm->limits[i];
  if (!l) {
    pm->limits =
        kiln_xrealloc(pm->limits, (pm->n_limits + 1) * sizeof *pm->limits);
    l = &pm->limits[pm->n_limits++];
    memset(l, 0, sizeof *l);
    l->measurement = kiln_xstrdup(name);
    l->line = kiln_ini_line(st->ini);
  }
  if (lo) {
    l->limit.has_lo = true;
    l->limit.lo = x;
  } else {
    l->limit.has_hi = true;
    l->limit.hi = x;
  }
  if (l->limit.has_lo && l->limit.has_hi && l->limit.lo > l->limit.hi)
    return kiln_ini_fail(st->ini, "%s.min %g is above %s.max %g", name,
                         l->limit.lo, name, l->limit.hi);
  return 1;
}

static int module_key(struct parse_state *st, const char *section,
                      const char *key, const char *value) {
  const struct kiln_module *mod = kiln_module_find(section);
  if (!mod)
    return kiln_ini_fail(st->ini, "unknown module [%s] (see `kiln list`)",
                         section);
  struct kiln_profile_module *pm = find_module(st->p, section);
  if (!pm && st->header) {
    struct kiln_profile *p = st->p;
    p->modules =
        kiln_xrealloc(p->modules, (p->n_modules + 1) * sizeof *p->modules);
    pm = &p->modules[p->n_modules++];
    memset(pm, 0, sizeof *pm);
    pm->name = kiln_xstrdup(section);
    pm->line = kiln_ini_line(st->ini);
    pm->phase = 1;
    pm->duration = -1;
  }
  if (!pm)
    return kiln_ini_fail(
        st->ini,
        "[%s] is configured but no phase.N in [profile] runs it "
        "(phases must come first)",
        section);
  const char *dot = strrchr(key, '.');
  if (dot && (strcmp(dot, ".min") == 0 || strcmp(dot, ".max") == 0))
    return add_limit(st, pm, mod, key, value);
  if (strcmp(key, "duration") == 0 && !st->header)
    return parse_duration(st, key, value, KILN_STEP_DURATION_MIN,
                          &pm->duration);
  const struct kiln_param_spec *spec = kiln_module_param(mod, key);
  if (!spec)
    return kiln_ini_fail(st->ini, "%s has no parameter '%s'", mod->name, key);
  /* Checked now, as the step will read it: a bad value in a burn-in
   * profile's last phase must not wait hours to be found. */
  struct kiln_param_value parsed;
  char why[256];
  if (kiln_param_parse(spec, value, &parsed, why, sizeof why) != 0)
    return kiln_ini_fail(st->ini, "[%s] %s = '%s' %s", section, key, value,
                         why);
  pm->params =
      kiln_xrealloc(pm->params, (pm->n_params + 1) * sizeof *pm->params);
  struct kiln_kv *kv = &pm->params[pm->n_params++];
  kv->key = kiln_xstrdup(key);
  kv->value = kiln_xstrdup(value);
  kv->line = kiln_ini_line(st->ini);
  return 1;
}

static int key_handler(struct kiln_ini *ini, void *ctx, const char *section,
                       const char *key, const char *value) {
  struct parse_state *st = ctx;
  st->ini = ini;
  if (st->header && strcmp(section, st->header) == 0) {
    char err[512] = "";
    if (st->header_key(st->header_ctx, key, value, err, sizeof err) != 0)
      return kiln_ini_fail(ini, "%s", err);
    return 1;
  }
  if (!st->header && strcmp(section, "profile") == 0)
    return profile_key(st, key, value);
  return module_key(st, section, key, value);
}

static const struct kiln_ini_handler profile_ini = {.key = key_handler};

int kiln_profile_parse_modules(const char *text, const char *source,
                               const char *header,
                               kiln_profile_header_fn *header_key, void *ctx,
                               struct kiln_profile *out, char *err, size_t n) {
  memset(out, 0, sizeof *out);
  out->source = kiln_xstrdup(source);
  struct parse_state st = {
      .p = out, .header = header, .header_key = header_key, .header_ctx = ctx};
  if (kiln_ini_parse(text, source, &profile_ini, &st, err, n) != 0) {
    kiln_profile_free(out);
    return -1;
  }
  return 0;
}

int kiln_profile_parse(const char *text, const char *source,
                       struct kiln_profile *out, char *err, size_t n) {
  memset(out, 0, sizeof *out);
  out->source = kiln_xstrdup(source);
  out->duration = 30;
  out->grace = 30;
  out->hang_timeout = 30;
  out->publish_every = 30;
  struct parse_state st = {.p = out};
  if (kiln_ini_parse(text, source, &profile_ini, &st, err, n) != 0) {
    kiln_profile_free(out);
    return -1;
  }
  if (out->n_modules == 0) {
    snprintf(err, n,
             "%s: no modules to run (add phase.1 = MODULE to "
             "[profile])",
             source);
    kiln_profile_free(out);
    return -1;
  }
  if (!out->name)
    out->name = kiln_xstrdup("unnamed");
  if (!out->description)
    out->description = kiln_xstrdup("");
  return 0;
}

int kiln_profile_load(const char *name_or_path, struct kiln_profile *out,
                      char *err, size_t n) {
  const char *builtin = kiln_builtin_profile(name_or_path);
  bool is_path = kiln_names_a_file(name_or_path);
  if (builtin && !is_path) {
    char source[128];
    snprintf(source, sizeof source, "built-in:%s", name_or_path);
    return kiln_profile_parse(builtin, source, out, err, n);
  }
  if (!is_path) {
    char names[256] = "";
    for (const char *const *b = kiln_builtin_profile_names; *b; b++) {
      if (names[0])
        strncat(names, ", ", sizeof names - strlen(names) - 1);
      strncat(names, *b, sizeof names - strlen(names) - 1);
    }
    snprintf(err, n, "no profile named '%s' (built-in: %s; or give a file)",
             name_or_path, names);
    return -1;
  }
  /* Profiles are small; 1 MiB bounds a wrong file. */
  char *text =
      kiln_read_text_file(name_or_path, 1 << 20, "not a profile", err, n);
  if (!text)
    return -1;
  int rc = kiln_profile_parse(text, name_or_path, out, err, n);
  free(text);
  return rc;
}

void kiln_profile_free(struct kiln_profile *p) {
  for (size_t i = 0; i < p->n_modules; i++) {
    struct kiln_profile_module *m = &p->modules[i];
    for (size_t j = 0; j < m->n_params; j++) {
      free(m->params[j].key);
      free(m->params[j].value);
    }
    for (size_t j = 0; j < m->n_limits; j++)
      free(m->limits[j].measurement);
    free(m->params);
    free(m->limits);
    free(m->name);
  }
  free(p->modules);
  free(p->name);
  free(p->description);
  free(p->source);
  free(p->spec);
  memset(p, 0, sizeof *p);
}
