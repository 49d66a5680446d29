/* "Profile, then SKU, then default" in its one place (core/settings.h): a
 * parameter the profile sets wins over the SKU's, the SKU's over the
 * module's default, and each says which file and line set it; a limit is
 * handed on once per measurement, the winner, in the profile's, the SKU's,
 * then the defaults' order. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/settings.h"

static const struct kiln_param_spec params[] = {
    {"a", "1", "", .kind = KILN_PARAM_NUMBER},
    {"b", "2", "", .kind = KILN_PARAM_NUMBER},
    {"c", "3", "", .kind = KILN_PARAM_NUMBER},
    {0},
};

static const struct kiln_default_limit defaults[] = {
    {"x", {.has_hi = true, .hi = 100}},
    {"z", {.has_lo = true, .lo = 1}},
    {NULL, {0}},
};

static const struct kiln_module module = {
    .name = "test.settings",
    .summary = "three parameters, two default limits",
    .targets = KILN_TARGETS_HOST,
    .params = params,
    .default_limits = defaults,
};

static struct kiln_kv profile_params[] = {{"a", "10", 4}};
static struct kiln_kv sku_params[] = {{"a", "20", 8}, {"b", "21", 9}};
static struct kiln_profile_limit profile_limits[] = {
    {"y", {.has_lo = true, .lo = 5}, 5},
};
static struct kiln_profile_limit sku_limits[] = {
    {"x", {.has_hi = true, .hi = 50}, 10},
    {"y", {.has_lo = true, .lo = 7}, 11},
};

static const struct kiln_settings settings = {
    .module = &module,
    .params = profile_params,
    .n_params = 1,
    .limits = profile_limits,
    .n_limits = 1,
    .source = "profile.ini",
    .sku_params = sku_params,
    .n_sku_params = 2,
    .sku_limits = sku_limits,
    .n_sku_limits = 2,
    .sku_source = "sku.ini",
};

static void profile_then_sku_then_default(void **state) {
  (void)state;
  const char *from;
  int line;
  assert_string_equal(kiln_settings_param(&settings, "a", &from, &line), "10");
  assert_string_equal(from, "profile.ini");
  assert_int_equal(line, 4);
  assert_string_equal(kiln_settings_param(&settings, "b", &from, &line), "21");
  assert_string_equal(from, "sku.ini");
  assert_int_equal(line, 9);
  assert_string_equal(kiln_settings_param(&settings, "c", &from, &line), "3");
  assert_null(from);
  assert_int_equal(line, 0);
  assert_null(kiln_settings_param(&settings, "undeclared", NULL, NULL));
  /* No SKU: the default. */
  const struct kiln_settings bare = {.module = &module};
  assert_string_equal(kiln_settings_param(&bare, "b", NULL, NULL), "2");
}

struct handed {
  const char *measurement[8];
  struct kiln_limit limit[8];
  size_t n;
};

static void hand(void *ctx, const char *measurement,
                 const struct kiln_limit *limit) {
  struct handed *h = ctx;
  assert_true(h->n < 8);
  h->measurement[h->n] = measurement;
  h->limit[h->n++] = *limit;
}

static void one_limit_per_measurement_the_winner(void **state) {
  (void)state;
  struct handed h = {0};
  kiln_settings_limits(&settings, hand, &h);
  assert_int_equal(h.n, 3);
  assert_string_equal(h.measurement[0], "y"); /* the profile's 5, not 7 */
  assert_true(h.limit[0].has_lo && h.limit[0].lo == 5);
  assert_string_equal(h.measurement[1], "x"); /* the SKU's 50, not 100 */
  assert_true(h.limit[1].has_hi && h.limit[1].hi == 50);
  assert_string_equal(h.measurement[2], "z"); /* the default */
  assert_true(h.limit[2].has_lo && h.limit[2].lo == 1);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(profile_then_sku_then_default),
      cmocka_unit_test(one_limit_per_measurement_the_winner),
  };
  cmocka_set_message_output(CM_OUTPUT_TAP);
  return cmocka_run_group_tests(tests, NULL, NULL);
}
