/* Profile parsing, duration parsing and limit evaluation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "kiln/limits.h"
#include "kiln/profile.h"
#include "kiln/sku.h"
#include "kiln/verdict.h"

static const char good[] = "; a comment\n"
                           "[profile]\n"
                           "name = station\n"
                           "description = line 7 burn-in\n"
                           "duration = 2m\n"
                           "grace = 10s\n"
                           "phase.2 = dram.patterns, dram.bandwidth\n"
                           "phase.1 = cpu.compute\n"
                           "\n"
                           "[cpu.compute]\n"
                           "gflops_per_core.min = 20\n"
                           "duration = 1h30m\n"
                           "[dram.patterns]\n"
                           "mem = 25%\n"
                           "errors.max = 0\n"
                           "errors.min = 0\n";

static void parses_a_full_profile(void **state) {
  (void)state;
  struct kiln_profile p;
  char err[512] = "";
  assert_int_equal(kiln_profile_parse(good, "station.ini", &p, err, sizeof err),
                   0);
  assert_string_equal(p.name, "station");
  assert_string_equal(p.description, "line 7 burn-in");
  assert_true(p.duration == 120.0);
  assert_true(p.grace == 10.0);
  assert_int_equal(p.n_modules, 3);
  assert_string_equal(p.modules[0].name, "dram.patterns");
  assert_int_equal(p.modules[0].phase, 2);
  assert_string_equal(p.modules[2].name, "cpu.compute");
  assert_int_equal(p.modules[2].phase, 1);
  assert_true(p.modules[2].duration == 5400.0);
  assert_int_equal(p.modules[2].n_limits, 1);
  assert_true(p.modules[2].limits[0].limit.has_lo);
  assert_false(p.modules[2].limits[0].limit.has_hi);
  assert_true(p.modules[2].limits[0].limit.lo == 20.0);
  assert_int_equal(p.modules[0].n_params, 1);
  assert_string_equal(p.modules[0].params[0].key, "mem");
  assert_string_equal(p.modules[0].params[0].value, "25%");
  assert_int_equal(p.modules[0].params[0].line, 14);
  assert_int_equal(p.modules[0].n_limits, 1); /* min and max merge */
  assert_true(p.modules[0].limits[0].limit.has_lo &&
              p.modules[0].limits[0].limit.has_hi);
  assert_true(p.modules[1].duration < 0); /* profile default applies */
  kiln_profile_free(&p);
}

/* Each bad profile must be refused with the file, the line and the cause. */
static void expect_error(const char *text, const char *want) {
  struct kiln_profile p;
  char err[512] = "";
  assert_int_equal(kiln_profile_parse(text, "bad.ini", &p, err, sizeof err),
                   -1);
  if (!strstr(err, want))
    fail_msg("error '%s' does not contain '%s'", err, want);
}

static void rejects_bad_profiles(void **state) {
  (void)state;
  expect_error("[profile]\nphase.1 = cpu.compute\n[nope.module]\nx = 1\n",
               "bad.ini:4: unknown module [nope.module]");
  expect_error("[profile]\nphase.1 = cpu.compute, warp.drive\n",
               "bad.ini:2: unknown module 'warp.drive'");
  expect_error("[profile]\nphase.1 = cpu.compute\n[cpu.compute]\nbogus = 1\n",
               "bad.ini:4: cpu.compute has no parameter 'bogus'");
  expect_error("[profile]\nphase.1 = cpu.compute\n[cpu.compute]\n"
               "teraflops.min = 1\n",
               "bad.ini:4: cpu.compute has no measurement 'teraflops'");
  expect_error("[profile]\nphase.1 = cpu.compute\n[cpu.compute]\n"
               "gflops.min = fast\n",
               "bad.ini:4: limit gflops.min = 'fast' is not a number");
  expect_error("[profile]\nphase.1 = cpu.compute\n[cpu.compute]\n"
               "gflops.min = 5\ngflops.max = 1\n",
               "bad.ini:5: gflops.min 5 is above gflops.max 1");
  expect_error("[profile]\nphase.1 = cpu.compute\nduration = -5s\n",
               "bad.ini:3: duration '-5s' is not a duration");
  expect_error("[profile]\nphase.1 = cpu.compute\nthis line is garbage\n",
               "bad.ini:3: syntax error");
  expect_error("[profile\nphase.1 = cpu.compute\n", "bad.ini:1:");
  expect_error("[profile]\nphase.1 = cpu.compute\nphase.2 = cpu.compute\n",
               "bad.ini:3: module 'cpu.compute' is listed in two phases");
  expect_error("[profile]\nphase.x = cpu.compute\n", "bad.ini:2: bad phase");
  expect_error("[profile]\nname = empty\n", "bad.ini: no modules to run");
  expect_error("[cpu.compute]\nkernel = auto\n[profile]\nphase.1 = "
               "cpu.compute\n",
               "bad.ini:2: [cpu.compute] is configured but no phase");
  expect_error("orphan = 1\n", "bad.ini:1: 'orphan' is outside any [section]");
  char longline[400];
  memset(longline, 'x', sizeof longline);
  memcpy(longline, "[profile]\nname = ", 17);
  longline[sizeof longline - 1] = 0;
  expect_error(longline, "bad.ini:2: line longer than");
}

static void loads_builtin_and_files(void **state) {
  (void)state;
  struct kiln_profile p;
  char err[512] = "";
  for (const char *const *name = kiln_builtin_profile_names; *name; name++) {
    if (kiln_profile_load(*name, &p, err, sizeof err) != 0)
      fail_msg("built-in profile %s: %s", *name, err);
    kiln_profile_free(&p);
  }
  assert_int_equal(kiln_profile_load("quick", &p, err, sizeof err), 0);
  assert_string_equal(p.name, "quick");
  kiln_profile_free(&p);
  assert_int_equal(kiln_profile_load("nosuch", &p, err, sizeof err), -1);
  assert_non_null(strstr(err, "no profile named 'nosuch'"));
  assert_int_equal(kiln_profile_load("/nonexistent/x.ini", &p, err, sizeof err),
                   -1);
  assert_non_null(strstr(err, "/nonexistent/x.ini: No such file"));
  assert_int_equal(kiln_profile_load("profiles/quick.ini", &p, err, sizeof err),
                   0);
  kiln_profile_free(&p);
}

/* gpu.health judges a GPU at idle: nothing may hold a CUDA context on it
 * then (it would be "another process" and change the P-state). In every
 * built-in profile it is alone in its phase, and that phase comes before
 * every other GPU module's. */
static void gpu_health_runs_alone_first(void **state) {
  (void)state;
  char err[512] = "";
  for (const char *const *name = kiln_builtin_profile_names; *name; name++) {
    struct kiln_profile p;
    if (kiln_profile_load(*name, &p, err, sizeof err) != 0)
      fail_msg("built-in profile %s: %s", *name, err);
    int health = 0;
    for (size_t i = 0; i < p.n_modules; i++)
      if (strcmp(p.modules[i].name, "gpu.health") == 0)
        health = p.modules[i].phase;
    if (!health)
      fail_msg("built-in profile %s has no gpu.health", *name);
    for (size_t i = 0; i < p.n_modules; i++) {
      const struct kiln_profile_module *m = &p.modules[i];
      if (strcmp(m->name, "gpu.health") == 0 || m->phase == KILN_MONITOR_PHASE)
        continue;
      if (m->phase == health)
        fail_msg("profile %s: %s shares phase %d with gpu.health", *name,
                 m->name, health);
      if (strncmp(m->name, "gpu.", 4) == 0 && m->phase < health)
        fail_msg("profile %s: %s (phase %d) runs before gpu.health (phase %d)",
                 *name, m->name, m->phase, health);
    }
    kiln_profile_free(&p);
  }
}

/* DCGM's NVLink CRC limit, a rate, in every built-in SKU with NVLinks (a
 * SKU's limits apply to its GPUs only: a profile's would also ask it of
 * GPUs without NVLink, which cannot measure it). */
static void nvlink_skus_limit_the_crc_rate(void **state) {
  (void)state;
  char err[512] = "";
  struct kiln_sku_set set;
  assert_int_equal(kiln_sku_set_builtin(&set, err, sizeof err), 0);
  size_t nvlink_skus = 0;
  for (size_t i = 0; i < set.n; i++) {
    const struct kiln_profile_module *m =
        kiln_sku_module(&set.skus[i], "gpu.p2p");
    bool nvlinks = false, crc = false;
    for (size_t k = 0; m && k < m->n_limits; k++) {
      const struct kiln_profile_limit *l = &m->limits[k];
      if (strcmp(l->measurement, "nvlinks") == 0 && l->limit.has_lo &&
          l->limit.lo > 0)
        nvlinks = true;
      if (strcmp(l->measurement, "nvlink_crc_per_s") == 0)
        crc = l->limit.has_hi && !l->limit.has_lo && l->limit.hi == 100;
    }
    if (nvlinks && !crc)
      fail_msg("SKU %s: NVLinks without nvlink_crc_per_s.max = 100",
               set.skus[i].id);
    nvlink_skus += nvlinks;
  }
  assert_true(nvlink_skus >= 3); /* A100 SXM4, H100 SXM5, H200 SXM */
  kiln_sku_set_free(&set);
}

static void parses_durations(void **state) {
  (void)state;
  double d = -1;
  assert_int_equal(kiln_duration_parse("30s", &d), 0);
  assert_true(d == 30);
  assert_int_equal(kiln_duration_parse("10m", &d), 0);
  assert_true(d == 600);
  assert_int_equal(kiln_duration_parse("2h", &d), 0);
  assert_true(d == 7200);
  assert_int_equal(kiln_duration_parse("1h30m", &d), 0);
  assert_true(d == 5400);
  assert_int_equal(kiln_duration_parse("1.5h", &d), 0);
  assert_true(d == 5400);
  assert_int_equal(kiln_duration_parse("45", &d), 0);
  assert_true(d == 45);
  assert_int_equal(kiln_duration_parse("0s", &d), 0);
  assert_true(d == 0);
  const char *bad[] = {"",    "-5s", "+5s", "5x", "s",      "1h30",
                       "abc", "1e9", NULL,  "8d", "5s junk"};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
    if (kiln_duration_parse(bad[i], &d) == 0)
      fail_msg("'%s' parsed as %g", bad[i] ? bad[i] : "(null)", d);
}

static void evaluates_limits(void **state) {
  (void)state;
  struct kiln_limit none = {0};
  struct kiln_limit floor = {.has_lo = true, .lo = 5};
  struct kiln_limit band = {.has_lo = true, .lo = 1, .has_hi = true, .hi = 2};
  assert_true(kiln_limit_ok(&none, -1e300));
  assert_true(kiln_limit_ok(&floor, 5));
  assert_false(kiln_limit_ok(&floor, 4.999));
  assert_true(kiln_limit_ok(&band, 2));
  assert_false(kiln_limit_ok(&band, 2.0001));
  assert_false(kiln_limit_ok(&band, 0.5));
  assert_false(kiln_limit_ok(&none, 0.0 / 0.0)); /* NaN never passes */
  char buf[64];
  kiln_limit_describe(&band, buf, sizeof buf);
  assert_string_equal(buf, "1 <= x <= 2");
  kiln_limit_describe(&floor, buf, sizeof buf);
  assert_string_equal(buf, "x >= 5");
}

static void combines_verdicts(void **state) {
  (void)state;
  assert_int_equal(kiln_verdict_worse(KILN_PASS, KILN_SKIP), KILN_PASS);
  assert_int_equal(kiln_verdict_worse(KILN_ERROR, KILN_FAIL), KILN_FAIL);
  assert_int_equal(kiln_verdict_worse(KILN_ABORTED, KILN_ERROR), KILN_ERROR);
  assert_int_equal(kiln_verdict_worse(KILN_PASS, KILN_ABORTED), KILN_ABORTED);
  assert_int_equal(kiln_verdict_exit_code(KILN_PASS), 0);
  assert_int_equal(kiln_verdict_exit_code(KILN_FAIL), 1);
  assert_int_equal(kiln_verdict_exit_code(KILN_ERROR), 2);
  assert_int_equal(kiln_verdict_exit_code(KILN_ABORTED), 2);
  enum kiln_verdict v;
  assert_true(kiln_verdict_parse("SKIP", &v));
  assert_int_equal(v, KILN_SKIP);
  assert_false(kiln_verdict_parse("MAYBE", &v));
}

int main(void) {
  cmocka_set_message_output(CM_OUTPUT_TAP);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(parses_a_full_profile),
      cmocka_unit_test(rejects_bad_profiles),
      cmocka_unit_test(loads_builtin_and_files),
      cmocka_unit_test(gpu_health_runs_alone_first),
      cmocka_unit_test(nvlink_skus_limit_the_crc_rate),
      cmocka_unit_test(parses_durations),
      cmocka_unit_test(evaluates_limits),
      cmocka_unit_test(combines_verdicts),
  };
  return cmocka_run_group_tests_name("profile", tests, NULL, NULL);
}
