/* The line judges its own: a run's measurement set against the same
 * measurement of its siblings (the recent passing runs of its SKU, module
 * and measurement name, kiln_store_group_values) with the median and the
 * median absolute deviation (MAD), robust against the odd sibling that is
 * itself off. The robust z is 0.6745 * (x - median) / MAD (Iglewicz and
 * Hoaglin); |z| > k is an outlier, even when x is inside its limits.
 * With fewer than KILN_OUTLIER_MIN_SIBLINGS siblings nothing is judged.
 * When MAD is 0 (more than half the siblings equal) the mean absolute
 * deviation stands in, as (x - median) / (1.253314 * meanAD); when that
 * is 0 too (all siblings equal) any other value is an outlier (z infinite)
 * and the same value is not (z 0).
 * Layer: serve (src/serve/). */
#ifndef KILN_SERVE_OUTLIERS_H
#define KILN_SERVE_OUTLIERS_H

#include <stddef.h>

#include "store/store.h"

#define KILN_OUTLIER_K_DEFAULT 3.5
#define KILN_OUTLIER_MIN_SIBLINGS 8
/* How many recent passing runs make a measurement's siblings. */
#define KILN_OUTLIER_MAX_RUNS 200

enum kiln_outlier_state {
  KILN_OUTLIER_TOO_FEW, /* not enough siblings to judge */
  KILN_OUTLIER_IN_LINE,
  KILN_OUTLIER_OUT,
};

struct kiln_outlier_judgement {
  enum kiln_outlier_state state;
  size_t siblings;
  double median, mad; /* of the siblings; NAN when too few */
  double z;           /* robust z; NAN when too few, +-INFINITY: see above */
};

/* The median of v[0..n) (n > 0); v is sorted in place. */
double kiln_outlier_median(double *v, size_t n);
/* Judges x against siblings[0..n) (left as they are) with threshold k. */
void kiln_outlier_judge(double x, const double *siblings, size_t n, double k,
                        struct kiln_outlier_judgement *out);
/* "outlier", "in line" or "not enough siblings". */
const char *kiln_outlier_state_name(enum kiln_outlier_state s);

/* One measurement of a run, judged. */
struct kiln_outlier {
  char *step, *module, *name, *unit, *subcomponent; /* NULL: none */
  double value;
  double lo, hi; /* its limits; NAN: none */
  struct kiln_outlier_judgement j;
};
/* The siblings read for one request, kept by group, module and
 * measurement: the line page judges many runs of the same groups. */
struct kiln_outlier_cache;
struct kiln_outlier_cache *kiln_outlier_cache_new(void);
void kiln_outlier_cache_free(struct kiln_outlier_cache *c);

/* Every measurement of run judged against its siblings in the store (the
 * run's own values left out); cache may be NULL. 0, or -1 with err when
 * the store failed. */
int kiln_outliers_of_run(struct kiln_store *st,
                         const struct kiln_store_run *run, double k,
                         struct kiln_outlier_cache *cache,
                         struct kiln_outlier **out, size_t *n, char *err,
                         size_t errn);
void kiln_outliers_free(struct kiln_outlier *o, size_t n);

#endif
