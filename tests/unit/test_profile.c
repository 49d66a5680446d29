/* Profile parsing, parameter and duration parsing and limit evaluation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "config/profile.h"
#include "config/sku.h"
#include "kiln/limits.h"
#include "kiln/module.h"
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

/* Every parameter and duration is checked when the profile is read, with
 * the file, line, key and value: not hours later when its step starts. */
static void rejects_bad_values_at_load(void **state) {
  (void)state;
  expect_error("[profile]\nphase.1 = dram.patterns\n[dram.patterns]\n"
               "mem = banana\n",
               "bad.ini:4: [dram.patterns] mem = 'banana' is not a size (10%, "
               "512M, 2G)");
  expect_error("[profile]\nphase.1 = cpu.compute\n[cpu.compute]\n"
               "kernel = avx9000\n",
               "bad.ini:4: [cpu.compute] kernel = 'avx9000' is not one of "
               "auto, avx512, avx2 or portable");
  expect_error("[profile]\nphase.1 = cpu.compute\n[cpu.compute]\npairs = 1\n",
               "bad.ini:4: [cpu.compute] pairs = '1' is out of range "
               "(2..16777216)");
  expect_error("[profile]\nphase.1 = gpu.membw\n[gpu.membw]\n"
               "min_copies = 1\n",
               "bad.ini:4: [gpu.membw] min_copies = '1' is under the minimum "
               "of 2");
  expect_error("[profile]\nphase.1 = gpu.membw\n[gpu.membw]\nmem = 150%\n",
               "bad.ini:4: [gpu.membw] mem = '150%' is not a share in (0, 1]");
  expect_error("[profile]\nphase.1 = gpu.gemm\n[gpu.gemm]\n"
               "types = fp64, fp4\n",
               "bad.ini:4: [gpu.gemm] types = 'fp64, fp4' has 'fp4', not one "
               "of fp64, fp32, tf32, bf16 or fp8");
  expect_error("[profile]\nphase.1 = gpu.p2p\n[gpu.p2p]\nsize = 1K\n",
               "bad.ini:4: [gpu.p2p] size = '1K' is out of range (4K..16G)");
  expect_error("[profile]\nphase.1 = fans\n[fans]\nfan_response = maybe\n",
               "bad.ini:4: [fans] fan_response = 'maybe' is not yes or no");
  expect_error("[profile]\nphase.1 = fans\n[fans]\nhold = soon\n",
               "bad.ini:4: [fans] hold = 'soon' is not a duration");
  expect_error("[profile]\nphase.1 = gpu.health\n[gpu.health]\n"
               "pcie_gen = 9\n",
               "bad.ini:4: [gpu.health] pcie_gen = '9' is out of range (1..6)");
  expect_error("[profile]\nphase.1 = gpu.health\n[gpu.health]\n"
               "pcie_gen = fastest\n",
               "bad.ini:4: [gpu.health] pcie_gen = 'fastest' is not an "
               "integer, nor max");
  expect_error(
      "[profile]\nmonitors = thermal\nphase.1 = cpu.compute\n"
      "[thermal]\ntemp_max = -3\n",
      "bad.ini:5: [thermal] temp_max = '-3' is under the minimum of 0");
  /* Durations that cannot make a real test, with the range. */
  expect_error("[profile]\nphase.1 = cpu.compute\nduration = 0s\n",
               "bad.ini:3: duration '0s' is under the minimum of 1s (the range "
               "is 1s..7d)");
  expect_error("[profile]\nphase.1 = cpu.compute\ngrace = 0s\n",
               "bad.ini:3: grace '0s' is under the minimum of 1s");
  expect_error("[profile]\nphase.1 = cpu.compute\nhang_timeout = 0.001s\n",
               "bad.ini:3: hang_timeout '0.001s' is under the minimum of 1s");
  expect_error("[profile]\nphase.1 = cpu.compute\n[cpu.compute]\n"
               "duration = 0x10\n",
               "bad.ini:4: duration '0x10' is not a duration");
  expect_error("[profile]\nphase.1 = cpu.compute\nduration = 8d\n",
               "bad.ini:3: duration '8d' is over the cap of 7d");
}

/* Every module's table declares each parameter's kind, and its default is
 * a value of that kind (an empty default means "not set"). */
static void every_parameter_declares_its_kind(void **state) {
  (void)state;
  size_t params = 0;
  for (const struct kiln_module *const *m = kiln_modules; *m; m++)
    for (const struct kiln_param_spec *p = (*m)->params; p && p->name; p++) {
      params++;
      if (p->kind == KILN_PARAM_UNDECLARED)
        fail_msg("%s: parameter %s declares no kind", (*m)->name, p->name);
      if ((p->kind == KILN_PARAM_WORD || p->kind == KILN_PARAM_WORDS) &&
          !p->words)
        fail_msg("%s: parameter %s lists no words", (*m)->name, p->name);
      if (!p->def || !p->def[0])
        continue;
      struct kiln_param_value v;
      char why[256] = "";
      if (kiln_param_parse(p, p->def, &v, why, sizeof why) != 0)
        fail_msg("%s: default %s = '%s' %s", (*m)->name, p->name, p->def, why);
    }
  assert_true(params > 20);
}

/* The value forms of each kind: one parser, the one steps read with. */
static void parses_parameter_kinds(void **state) {
  (void)state;
  struct kiln_param_value v;
  char why[256];
  const struct kiln_param_spec size = {"mem", "10%", "",
                                       .kind = KILN_PARAM_SIZE};
  assert_int_equal(kiln_param_parse(&size, "10%", &v, why, sizeof why), 0);
  assert_true(v.of_whole && v.number == 0.1);
  assert_int_equal(kiln_param_parse(&size, "2G", &v, why, sizeof why), 0);
  assert_true(!v.of_whole && v.number == 2.0 * (1 << 30));
  assert_int_equal(kiln_param_parse(&size, "64KiB", &v, why, sizeof why), 0);
  assert_true(v.number == 65536);
  const char *bad_sizes[] = {"banana", "",        "0",    "-1G",
                             "0x10",   "1G junk", "200%", "5Q"};
  for (size_t i = 0; i < sizeof bad_sizes / sizeof *bad_sizes; i++)
    if (kiln_param_parse(&size, bad_sizes[i], &v, why, sizeof why) == 0)
      fail_msg("size '%s' accepted", bad_sizes[i]);
  const struct kiln_param_spec count = {
      "n",      "1",      "", .kind = KILN_PARAM_INTEGER, .words = "auto",
      .min = 1, .max = 10};
  assert_int_equal(kiln_param_parse(&count, "AUTO", &v, why, sizeof why), 0);
  assert_true(v.is_word);
  assert_string_equal(v.word, "auto");
  assert_int_equal(kiln_param_parse(&count, "10", &v, why, sizeof why), 0);
  assert_int_equal(v.integer, 10);
  assert_int_equal(kiln_param_parse(&count, "11", &v, why, sizeof why), -1);
  assert_string_equal(why, "is out of range (1..10)");
  assert_int_equal(kiln_param_parse(&count, "1.5", &v, why, sizeof why), -1);
  assert_string_equal(why, "is not an integer, nor auto");
  const struct kiln_param_spec share = {"s", "95%", "",
                                        .kind = KILN_PARAM_SHARE};
  assert_int_equal(kiln_param_parse(&share, "95%", &v, why, sizeof why), 0);
  assert_true(v.number == 0.95);
  assert_int_equal(kiln_param_parse(&share, "0", &v, why, sizeof why), -1);
  const struct kiln_param_spec rpm = {"r", "auto", "", .kind = KILN_PARAM_RPM,
                                      .words = "auto"};
  assert_int_equal(kiln_param_parse(&rpm, "400 RPM", &v, why, sizeof why), 0);
  assert_true(v.number == 400);
  const struct kiln_param_spec yes = {"y", "no", "", .kind = KILN_PARAM_BOOL};
  assert_int_equal(kiln_param_parse(&yes, "On", &v, why, sizeof why), 0);
  assert_true(v.number == 1);
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

/* How often a stress step publishes its running figures: 30 s unless the
 * profile says otherwise, never slower than that. */
static void publish_every_is_read_and_bounded(void **state) {
  (void)state;
  struct kiln_profile p;
  char err[512];
  assert_int_equal(kiln_profile_parse("[profile]\nphase.1 = cpu.compute\n",
                                      "a.ini", &p, err, sizeof err),
                   0);
  assert_true(p.publish_every == 30);
  kiln_profile_free(&p);
  assert_int_equal(
      kiln_profile_parse("[profile]\npublish_every = 1s\nphase.1 = "
                         "cpu.compute\n",
                         "a.ini", &p, err, sizeof err),
      0);
  assert_true(p.publish_every == 1);
  kiln_profile_free(&p);
  expect_error("[profile]\npublish_every = 31s\n",
               "bad.ini:2: publish_every '31s' is not a duration from 1s to "
               "30s");
  expect_error("[profile]\npublish_every = 0s\n",
               "bad.ini:2: publish_every '0s'");
  expect_error("[profile]\npublish_every = soon\n",
               "bad.ini:2: publish_every 'soon'");
}

int main(void) {
  cmocka_set_message_output(CM_OUTPUT_TAP);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(parses_a_full_profile),
      cmocka_unit_test(rejects_bad_profiles),
      cmocka_unit_test(rejects_bad_values_at_load),
      cmocka_unit_test(every_parameter_declares_its_kind),
      cmocka_unit_test(parses_parameter_kinds),
      cmocka_unit_test(loads_builtin_and_files),
      cmocka_unit_test(gpu_health_runs_alone_first),
      cmocka_unit_test(nvlink_skus_limit_the_crc_rate),
      cmocka_unit_test(parses_durations),
      cmocka_unit_test(evaluates_limits),
      cmocka_unit_test(combines_verdicts),
      cmocka_unit_test(publish_every_is_read_and_bounded),
  };
  return cmocka_run_group_tests_name("profile", tests, NULL, NULL);
}
