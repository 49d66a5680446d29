/* Outliers among a run's siblings: median and MAD (see outliers.h). */
#include "serve/outliers.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "kiln/textutil.h"

/* 0.6745 is the 0.75 quantile of the standard normal: MAD / 0.6745
 * estimates the standard deviation; 1.253314 (sqrt(pi / 2)) does the same
 * for the mean absolute deviation. */
#define Z_FROM_MAD 0.6745
#define MEAN_AD_TO_SIGMA 1.253314

static int by_value(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

double kiln_outlier_median(double *v, size_t n) {
  qsort(v, n, sizeof *v, by_value);
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

void kiln_outlier_judge(double x, const double *siblings, size_t n, double k,
                        struct kiln_outlier_judgement *out) {
  *out = (struct kiln_outlier_judgement){.state = KILN_OUTLIER_TOO_FEW,
                                         .siblings = n,
                                         .median = NAN,
                                         .mad = NAN,
                                         .z = NAN};
  if (n < KILN_OUTLIER_MIN_SIBLINGS || !isfinite(x))
    return;
  double *v = kiln_xcalloc(n, sizeof *v);
  memcpy(v, siblings, n * sizeof *v);
  double median = kiln_outlier_median(v, n), mean_ad = 0;
  for (size_t i = 0; i < n; i++) {
    v[i] = fabs(v[i] - median);
    mean_ad += v[i] / (double)n;
  }
  double mad = kiln_outlier_median(v, n);
  free(v);
  double d = x - median, z;
  if (mad > 0)
    z = Z_FROM_MAD * d / mad;
  else if (mean_ad > 0)
    z = d / (MEAN_AD_TO_SIGMA * mean_ad);
  else
    z = d == 0 ? 0 : d > 0 ? INFINITY : -INFINITY;
  out->median = median;
  out->mad = mad;
  out->z = z;
  out->state = fabs(z) > k ? KILN_OUTLIER_OUT : KILN_OUTLIER_IN_LINE;
}

const char *kiln_outlier_state_name(enum kiln_outlier_state s) {
  switch (s) {
  case KILN_OUTLIER_OUT: return "outlier";
  case KILN_OUTLIER_IN_LINE: return "in line";
  case KILN_OUTLIER_TOO_FEW: break;
  }
  return "not enough siblings";
}

/* ---- from the store ---- */

struct step_names {
  char **id, **name;
  size_t n;
};

static int step_row(void *ctx, size_t ncols, const char *const *names,
                    const char *const *v) {
  struct step_names *s = ctx;
  /* step_id name status started ended */
  s->id = kiln_xrealloc(s->id, (s->n + 1) * sizeof *s->id);
  s->name = kiln_xrealloc(s->name, (s->n + 1) * sizeof *s->name);
  s->id[s->n] = kiln_xstrdup(v[0]);
  s->name[s->n] = kiln_xstrdup(v[1]);
  s->n++;
  return 0;
}

static const char *step_name(const struct step_names *s, const char *id) {
  for (size_t i = 0; id && i < s->n; i++)
    if (strcmp(s->id[i], id) == 0)
      return s->name[i];
  return NULL;
}

struct judged {
  struct step_names steps;
  struct kiln_outlier *o;
  size_t n;
};

static char *dup_or_null(const char *s) { return s ? kiln_xstrdup(s) : NULL; }

static int measurement_row(void *ctx, size_t ncols, const char *const *names,
                           const char *const *v) {
  struct judged *j = ctx;
  /* seq step_id name value unit subcomponent lo hi validators */
  if (!v[3])
    return 0;
  const char *step = step_name(&j->steps, v[1]);
  j->o = kiln_xrealloc(j->o, (j->n + 1) * sizeof *j->o);
  j->o[j->n++] = (struct kiln_outlier){
      .step = dup_or_null(step),
      .module = kiln_store_step_module(step),
      .name = dup_or_null(v[2]),
      .unit = dup_or_null(v[4]),
      .subcomponent = dup_or_null(v[5]),
      .value = strtod(v[3], NULL),
      .lo = v[6] ? strtod(v[6], NULL) : NAN,
      .hi = v[7] ? strtod(v[7], NULL) : NAN,
  };
  return 0;
}

/* One group's values of one measurement, as the store gave them. */
struct cached_group {
  char *sku, *profile, *module, *name;
  double *values;
  char **runs;
  size_t n;
};

struct kiln_outlier_cache {
  struct cached_group *g;
  size_t n;
};

struct kiln_outlier_cache *kiln_outlier_cache_new(void) {
  return kiln_xcalloc(1, sizeof(struct kiln_outlier_cache));
}

static void group_clear(struct cached_group *g) {
  free(g->sku);
  free(g->profile);
  free(g->module);
  free(g->name);
  free(g->values);
  for (size_t i = 0; i < g->n; i++)
    free(g->runs[i]);
  free(g->runs);
}

void kiln_outlier_cache_free(struct kiln_outlier_cache *c) {
  if (!c)
    return;
  for (size_t i = 0; i < c->n; i++)
    group_clear(&c->g[i]);
  free(c->g);
  free(c);
}

static bool same_text(const char *a, const char *b) {
  return a == b || (a && b && strcmp(a, b) == 0);
}

/* The run's group's values of (module, name): from the cache, or read
 * into it. NULL with err when the store failed. */
static const struct cached_group *
group_values(struct kiln_store *st, const struct kiln_store_run *run,
             const char *module, const char *name,
             struct kiln_outlier_cache *cache, struct cached_group *own,
             char *err, size_t errn) {
  const char *profile = run->sku ? NULL : run->profile;
  for (size_t i = 0; cache && i < cache->n; i++) {
    const struct cached_group *g = &cache->g[i];
    if (same_text(g->sku, run->sku) && same_text(g->profile, profile) &&
        same_text(g->module, module) && same_text(g->name, name))
      return g;
  }
  struct cached_group g = {0};
  struct kiln_store_group grp = {.sku = run->sku, .profile = run->profile};
  /* One run more than judged: the run itself may be among them. */
  if (kiln_store_group_values(st, &grp, module, name, KILN_OUTLIER_MAX_RUNS + 1,
                              &g.values, &g.runs, &g.n, err, errn) != 0)
    return NULL;
  g.sku = run->sku ? kiln_xstrdup(run->sku) : NULL;
  g.profile = profile ? kiln_xstrdup(profile) : NULL;
  g.module = kiln_xstrdup(module);
  g.name = kiln_xstrdup(name);
  if (!cache) {
    *own = g;
    return own;
  }
  cache->g = kiln_xrealloc(cache->g, (cache->n + 1) * sizeof *cache->g);
  cache->g[cache->n] = g;
  return &cache->g[cache->n++];
}

/* The group's values less the run's own, from at most
 * KILN_OUTLIER_MAX_RUNS runs (the newest first in g). */
static double *siblings_of(const struct cached_group *g, const char *run_id,
                           size_t *n) {
  double *v = kiln_xcalloc(g->n + 1, sizeof *v);
  size_t runs = 0;
  *n = 0;
  for (size_t i = 0; i < g->n; i++) {
    if (strcmp(g->runs[i], run_id) == 0)
      continue;
    if (*n == 0 || strcmp(g->runs[i], g->runs[i - 1]) != 0)
      runs++;
    if (runs > KILN_OUTLIER_MAX_RUNS)
      break;
    v[(*n)++] = g->values[i];
  }
  return v;
}

/* Each (module, measurement) pair's siblings are read once: a run has a
 * figure per core or per GPU of the same measurement. */
static bool same_group(const struct kiln_outlier *a,
                       const struct kiln_outlier *b) {
  return strcmp(a->module, b->module) == 0 && a->name && b->name &&
         strcmp(a->name, b->name) == 0;
}

int kiln_outliers_of_run(struct kiln_store *st,
                         const struct kiln_store_run *run, double k,
                         struct kiln_outlier_cache *cache,
                         struct kiln_outlier **out, size_t *n, char *err,
                         size_t errn) {
  struct judged j = {0};
  int rc = kiln_store_rows(st, run->id, KILN_STORE_STEPS, step_row, &j.steps,
                           err, errn);
  if (rc == 0)
    rc = kiln_store_rows(st, run->id, KILN_STORE_MEASUREMENTS, measurement_row,
                         &j, err, errn);
  for (size_t i = 0; rc == 0 && i < j.n; i++) {
    size_t first = 0;
    while (first < i && !same_group(&j.o[first], &j.o[i]))
      first++;
    if (first < i || !j.o[i].name)
      continue; /* judged with its group, or nothing to judge by */
    struct cached_group own = {0};
    const struct cached_group *g = group_values(
        st, run, j.o[i].module, j.o[i].name, cache, &own, err, errn);
    if (!g) {
      rc = -1;
      break;
    }
    size_t nsib;
    double *sib = siblings_of(g, run->id, &nsib);
    for (size_t m = i; m < j.n; m++)
      if (m == i || same_group(&j.o[i], &j.o[m]))
        kiln_outlier_judge(j.o[m].value, sib, nsib, k, &j.o[m].j);
    free(sib);
    group_clear(&own);
  }
  for (size_t i = 0; i < j.steps.n; i++) {
    free(j.steps.id[i]);
    free(j.steps.name[i]);
  }
  free(j.steps.id);
  free(j.steps.name);
  if (rc != 0) {
    kiln_outliers_free(j.o, j.n);
    *out = NULL;
    *n = 0;
    return -1;
  }
  *out = j.o;
  *n = j.n;
  return 0;
}

void kiln_outliers_free(struct kiln_outlier *o, size_t n) {
  for (size_t i = 0; i < n; i++) {
    free(o[i].step);
    free(o[i].module);
    free(o[i].name);
    free(o[i].unit);
    free(o[i].subcomponent);
  }
  free(o);
}
