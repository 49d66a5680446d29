/* The line judges its own (src/serve/outliers.c): median and MAD worked by
 * hand, the MAD-0 fallbacks, too few siblings; and from a store, a run 5%
 * under its 10 passing siblings of the same SKU is an outlier while they
 * are not. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fsutil.h"
#include "line_runs.h"
#include "serve/outliers.h"

static void median_of_odd_and_even_counts(void **state) {
  double odd[] = {3, 1, 2}, even[] = {4, 1, 3, 2};
  assert_float_equal(kiln_outlier_median(odd, 3), 2, 0);
  assert_float_equal(kiln_outlier_median(even, 4), 2.5, 0);
}

/* Siblings 10..17: median 13.5; deviations 3.5 2.5 1.5 0.5 0.5 1.5 2.5 3.5,
 * so MAD 2. x = 5: z = 0.6745 * -8.5 / 2 = -2.866625 (in line at k 3.5);
 * x = 3: z = 0.6745 * -10.5 / 2 = -3.541125 (an outlier). */
static void robust_z_worked_by_hand(void **state) {
  const double sib[] = {17, 10, 15, 11, 13, 16, 12, 14};
  struct kiln_outlier_judgement j;
  kiln_outlier_judge(5, sib, 8, 3.5, &j);
  assert_int_equal(j.state, KILN_OUTLIER_IN_LINE);
  assert_int_equal(j.siblings, 8);
  assert_float_equal(j.median, 13.5, 1e-12);
  assert_float_equal(j.mad, 2.0, 1e-12);
  assert_float_equal(j.z, -2.866625, 1e-9);
  kiln_outlier_judge(3, sib, 8, 3.5, &j);
  assert_int_equal(j.state, KILN_OUTLIER_OUT);
  assert_float_equal(j.z, -3.541125, 1e-9);
  assert_string_equal(kiln_outlier_state_name(j.state), "outlier");
  /* k is the caller's: at 4 the same figure is in line. */
  kiln_outlier_judge(3, sib, 8, 4.0, &j);
  assert_int_equal(j.state, KILN_OUTLIER_IN_LINE);
  /* The siblings are left as they were given. */
  assert_float_equal(sib[0], 17, 0);
}

static void too_few_siblings_are_not_judged(void **state) {
  const double sib[] = {100, 100, 100, 100, 100, 100, 100};
  struct kiln_outlier_judgement j;
  kiln_outlier_judge(1, sib, 7, 3.5, &j);
  assert_int_equal(j.state, KILN_OUTLIER_TOO_FEW);
  assert_int_equal(j.siblings, 7);
  assert_true(isnan(j.z));
  assert_string_equal(kiln_outlier_state_name(j.state), "not enough siblings");
}

/* Six of eight siblings at 100: MAD 0. The mean absolute deviation,
 * (10 + 10) / 8 = 2.5, stands in: x = 95 gives -5 / (1.253314 * 2.5) =
 * -1.595769 (in line), x = 80 gives -6.383077 (an outlier). All siblings
 * equal: the same value is in line, any other an outlier. */
static void mad_zero_falls_back_to_the_mean_deviation(void **state) {
  const double sib[] = {100, 100, 90, 100, 100, 110, 100, 100};
  struct kiln_outlier_judgement j;
  kiln_outlier_judge(95, sib, 8, 3.5, &j);
  assert_float_equal(j.mad, 0, 0);
  assert_int_equal(j.state, KILN_OUTLIER_IN_LINE);
  assert_float_equal(j.z, -1.595769, 1e-6);
  kiln_outlier_judge(80, sib, 8, 3.5, &j);
  assert_int_equal(j.state, KILN_OUTLIER_OUT);
  assert_float_equal(j.z, -6.383077, 1e-6);
  const double same[] = {7, 7, 7, 7, 7, 7, 7, 7};
  kiln_outlier_judge(7, same, 8, 3.5, &j);
  assert_int_equal(j.state, KILN_OUTLIER_IN_LINE);
  assert_float_equal(j.z, 0, 0);
  kiln_outlier_judge(7.01, same, 8, 3.5, &j);
  assert_int_equal(j.state, KILN_OUTLIER_OUT);
  assert_true(isinf(j.z) && j.z > 0);
}

/* ---- from the store ---- */

static const struct kiln_outlier *find(const struct kiln_outlier *o, size_t n,
                                       const char *name) {
  for (size_t i = 0; i < n; i++)
    if (strcmp(o[i].name, name) == 0)
      return &o[i];
  fail_msg("no measurement %s", name);
  return NULL;
}

/* run id's one measurement judged; through cache when given. */
static void judge_run(struct kiln_store *st, const char *id,
                      struct kiln_outlier_cache *cache,
                      struct kiln_outlier_judgement *j) {
  struct kiln_outlier *o;
  struct kiln_store_run run;
  size_t n;
  char err[512];
  assert_int_equal(kiln_store_run_get(st, id, &run, err, sizeof err), 0);
  if (kiln_outliers_of_run(st, &run, KILN_OUTLIER_K_DEFAULT, cache, &o, &n, err,
                           sizeof err) != 0)
    fail_msg("outliers of %s: %s", id, err);
  kiln_store_run_clear(&run);
  assert_int_equal(n, 1);
  const struct kiln_outlier *m = find(o, n, "bandwidth_gbps");
  assert_string_equal(m->step, "gpu.membw[0]");
  assert_string_equal(m->module, "gpu.membw");
  assert_string_equal(m->subcomponent, "gpu0");
  assert_float_equal(m->lo, 3000, 0);
  assert_true(isnan(m->hi));
  *j = m->j;
  kiln_outliers_free(o, n);
}

/* Ten passing H100 runs near 4000 GB/s and one at 3800 (5% low, still
 * passing): that one is an outlier, a sibling is not; a run of another SKU
 * has no siblings; a run without a SKU is judged among its profile's. */
static void a_run_5_percent_under_its_siblings_is_an_outlier(void **state) {
  char dir[] = "/tmp/kiln-outliers-XXXXXX";
  assert_non_null(mkdtemp(dir));
  char url[128], err[512];
  snprintf(url, sizeof url, "sqlite:%s/line.db", dir);
  struct kiln_store *st;
  assert_int_equal(kiln_store_open(url, &st, err, sizeof err), 0);
  const double near[] = {4000, 4010, 3990, 4005, 3995,
                         4002, 3998, 4001, 3999, 4000};
  for (int i = 0; i < 10; i++) {
    char id[32], serial[32], started[48];
    snprintf(id, sizeof id, "sib-%d", i);
    snprintf(serial, sizeof serial, "SN-%d", i);
    snprintf(started, sizeof started, "2026-12-02T01:%02d:00.000Z", i);
    struct line_run r = {.id = id,
                         .serial = serial,
                         .sku = "h100-sxm5-80gb",
                         .started = started,
                         .value = near[i]};
    line_run_store(st, &r);
    /* Without a SKU, the same figures under profile "cpu-line". */
    snprintf(id, sizeof id, "nosku-%d", i);
    struct line_run c = {.id = id,
                         .serial = serial,
                         .profile = "cpu-line",
                         .started = started,
                         .value = near[i] / 10};
    line_run_store(st, &c);
  }
  struct line_run low = {.id = "low",
                         .serial = "SN-LOW",
                         .sku = "h100-sxm5-80gb",
                         .started = "2026-12-02T01:30:00.000Z",
                         .value = 3800};
  line_run_store(st, &low);
  struct line_run other = {.id = "other",
                           .serial = "SN-O",
                           .sku = "h200-sxm5-141gb",
                           .started = "2026-12-02T01:31:00.000Z",
                           .value = 3800};
  line_run_store(st, &other);
  struct line_run nosku = {.id = "nosku-low",
                           .serial = "SN-C",
                           .profile = "cpu-line",
                           .started = "2026-12-02T01:32:00.000Z",
                           .value = 380};
  line_run_store(st, &nosku);

  /* Each judged alone, then all through one cache (the line page's way):
   * the same judgements, each run's own value left out of its siblings. */
  struct kiln_outlier_cache *cache = kiln_outlier_cache_new();
  for (int pass = 0; pass < 2; pass++) {
    struct kiln_outlier_cache *c = pass ? cache : NULL;
    struct kiln_outlier_judgement j;
    judge_run(st, "low", c, &j);
    assert_int_equal(j.state, KILN_OUTLIER_OUT);
    assert_int_equal(j.siblings, 10);
    assert_float_equal(j.median, 4000, 1e-9);
    assert_true(j.z < -KILN_OUTLIER_K_DEFAULT);
    judge_run(st, "sib-0", c, &j); /* among 9 others and the low one */
    assert_int_equal(j.state, KILN_OUTLIER_IN_LINE);
    assert_int_equal(j.siblings, 10);
    assert_float_equal(j.median, 3999.5, 1e-9);
    judge_run(st, "other", c, &j);
    assert_int_equal(j.state, KILN_OUTLIER_TOO_FEW);
    assert_int_equal(j.siblings, 0);
    judge_run(st, "nosku-low", c, &j);
    assert_int_equal(j.state, KILN_OUTLIER_OUT);
    assert_int_equal(j.siblings, 10);
    assert_float_equal(j.median, 400, 1e-9);
  }
  kiln_outlier_cache_free(cache);
  kiln_store_close(st);
  fs_rm_rf(dir);
}

int main(void) {
  cmocka_set_message_output(CM_OUTPUT_TAP);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(median_of_odd_and_even_counts),
      cmocka_unit_test(robust_z_worked_by_hand),
      cmocka_unit_test(too_few_siblings_are_not_judged),
      cmocka_unit_test(mad_zero_falls_back_to_the_mean_deviation),
      cmocka_unit_test(a_run_5_percent_under_its_siblings_is_an_outlier),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
