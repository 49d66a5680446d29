/* edac: the kernel's memory error counters (EDAC), per controller and per
 * DIMM, watched for the whole run in the parent (its hook below; the
 * telemetry sampler, src/run/sampler.c, drives it: include/kiln/monitor.h).
 * Counts at the start are the baseline: only errors during the run count.
 * Any uncorrectable error fails at once. */
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "kiln/module.h"
#include "kiln/monitor.h"
#include "kiln/spec.h"
#include "kiln/telemetry.h"
#include "kiln/watch.h"

enum edac_role { ROLE_NONE, ROLE_CE, ROLE_UE };

struct edac {
  double ce_max, ue_max;
};

static int edac_setup(struct kiln_monitor *m, char *err, size_t n) {
  struct edac *e = kiln_monitor_state(m);
  const struct kiln_spec *spec = kiln_monitor_spec(m);
  if (kiln_monitor_limit(m, NULL, "ce_max", spec ? spec->watch.ce_max : NAN,
                         &e->ce_max, err, n) ||
      kiln_monitor_limit(m, NULL, "ue_max", spec ? spec->watch.ue_max : NAN,
                         &e->ue_max, err, n))
    return -1;
  if (isnan(e->ce_max))
    e->ce_max = 10;
  if (isnan(e->ue_max))
    e->ue_max = 0;
  return 0;
}

/* "mc0/ce_count", "mc0/dimm0/ue_count": judged with no hold. */
static void edac_watch(struct kiln_monitor *m, const struct kiln_tel_reading *r,
                       struct kiln_monitor_series *s) {
  const struct edac *e = kiln_monitor_state(m);
  const char *slash = strrchr(r->id, '/');
  const char *last = slash ? slash + 1 : r->id;
  s->role = strstr(last, "ue_count")   ? ROLE_UE
            : strstr(last, "ce_count") ? ROLE_CE
                                       : ROLE_NONE;
  s->judged = s->watched = s->role != ROLE_NONE;
  if (s->role == ROLE_CE) {
    s->symptom = "edac-correctable";
    kiln_watch_init(&s->watch, KILN_WATCH_INCREASE, e->ce_max, 0);
  } else if (s->role == ROLE_UE) {
    s->symptom = "edac-uncorrectable";
    kiln_watch_init(&s->watch, KILN_WATCH_INCREASE, e->ue_max, 0);
  }
}

static void edac_end(struct kiln_monitor *m, char *skip_why, size_t n) {
  if (!kiln_monitor_saw(m)) {
    char sources[500];
    kiln_monitor_source_reasons(m, NULL, sources, sizeof sources);
    snprintf(skip_why, n, "no EDAC memory error counters: %s",
             sources[0] ? sources : "no source");
    return;
  }
  /* Controller totals only: the per-DIMM counters add up to them. */
  double ce = 0, ue = 0;
  for (size_t i = 0; i < kiln_monitor_n_series(m); i++) {
    const struct kiln_monitor_series *s = kiln_monitor_series_at(m, i);
    if (strstr(s->key, "/dimm"))
      continue;
    double rise = s->last > s->first ? s->last - s->first : 0;
    if (s->role == ROLE_CE)
      ce += rise;
    else if (s->role == ROLE_UE)
      ue += rise;
  }
  kiln_monitor_measure(m, "ce_increase", ce, NULL);
  kiln_monitor_measure(m, "ue_increase", ue, NULL);
}

static const char *const edac_sources[] = {"edac", NULL};

static const struct kiln_monitor_hook edac_hook = {
    .sources = edac_sources,
    .state_size = sizeof(struct edac),
    .setup = edac_setup,
    .watch = edac_watch,
    .end = edac_end,
};

static const struct kiln_param_spec edac_params[] = {
    {"ce_max", "10", "correctable errors allowed per counter over the run",
     .kind = KILN_PARAM_NUMBER, .min = 0, .max = INFINITY},
    {"ue_max", "0", "uncorrectable errors allowed over the run",
     .kind = KILN_PARAM_NUMBER, .min = 0, .max = INFINITY},
    {0},
};

static const struct kiln_measurement_spec edac_measurements[] = {
    {"ce_increase", "errors", "correctable errors during the run, all DIMMs"},
    {"ue_increase", "errors", "uncorrectable errors during the run"},
    {NULL, NULL, NULL},
};

const struct kiln_module kiln_module_edac = {
    .name = "edac",
    .summary = "memory error counters (EDAC) watched for the whole run",
    .targets = KILN_TARGETS_MONITOR,
    .params = edac_params,
    .measurements = edac_measurements,
    .key_measurement = "ce_increase",
    .monitor = &edac_hook,
};
