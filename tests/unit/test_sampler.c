/* The telemetry sampler drives monitors through their hook alone
 * (kiln_monitor_hook, include/kiln/monitor.h): a module the registry does
 * not list, whose name is no monitor's, watching the EDAC counters of a
 * fixture sysfs ($KILN_SYSROOT), is set up, handed its readings, fired and
 * ended by its own hook. And a monitor's parameters resolve as every
 * step's do (core/settings.h): the profile's value, else the GPU SKU's,
 * else the module's default; the sampler used to skip the SKU. */
#include <limits.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "config/sku.h"
#include "fsutil.h"
#include "kiln/bus.h"
#include "kiln/monitor.h"
#include "kiln/result.h"
#include "kiln/telemetry.h"
#include "kiln/textutil.h"
#include "run/plan.h"
#include "run/sampler.h"

/* ---- a monitor of the test's own ---- */

struct watcher {
  double ce_max;
  size_t readings; /* handed to its reading hook */
};

static int watcher_setup(struct kiln_monitor *m, char *err, size_t n) {
  struct watcher *w = kiln_monitor_state(m);
  if (kiln_monitor_limit(m, NULL, "ce_max", NAN, &w->ce_max, err, n) != 0)
    return -1;
  kiln_monitor_set_timing(m, 0, 0);
  return 0;
}

static void watcher_watch(struct kiln_monitor *m,
                          const struct kiln_tel_reading *r,
                          struct kiln_monitor_series *s) {
  const struct watcher *w = kiln_monitor_state(m);
  if (strcmp(r->id, "mc0/ce_count") != 0)
    return;
  s->role = 1;
  s->judged = s->watched = true;
  s->symptom = "test-ce-rise";
  kiln_watch_init(&s->watch, KILN_WATCH_INCREASE, w->ce_max, 0);
}

static void watcher_reading(struct kiln_monitor *m,
                            const struct kiln_monitor_series *s, double value) {
  struct watcher *w = kiln_monitor_state(m);
  w->readings++;
}

static void watcher_end(struct kiln_monitor *m, char *skip_why, size_t n) {
  const struct watcher *w = kiln_monitor_state(m);
  kiln_monitor_measure(m, "readings", (double)w->readings, NULL);
  if (!kiln_monitor_saw(m))
    snprintf(skip_why, n, "no mc0");
}

static const char *const watcher_sources[] = {"edac", NULL};

static const struct kiln_monitor_hook watcher_hook = {
    .sources = watcher_sources,
    .state_size = sizeof(struct watcher),
    .setup = watcher_setup,
    .watch = watcher_watch,
    .reading = watcher_reading,
    .end = watcher_end,
};

static const struct kiln_param_spec watcher_params[] = {
    {"ce_max", "10", "errors allowed", .kind = KILN_PARAM_NUMBER, .min = 0,
     .max = INFINITY},
    {0},
};

static const struct kiln_measurement_spec watcher_measurements[] = {
    {"readings", "", "readings its hook was handed"},
    {NULL, NULL, NULL},
};

static const struct kiln_module watcher_module = {
    .name = "test.watcher",
    .summary = "watches mc0's correctable errors",
    .targets = KILN_TARGETS_MONITOR,
    .params = watcher_params,
    .measurements = watcher_measurements,
    .monitor = &watcher_hook,
};

/* ---- a run of one monitor over a fixture EDAC controller ---- */

static void put(const char *root, const char *name, const char *text) {
  char path[PATH_MAX];
  snprintf(path, sizeof path, "%s/sys/devices/system/edac/mc/mc0/%s", root,
           name);
  fs_write_file(path, text);
}

static char *edac_root(void) {
  char tmpl[] = "/tmp/kiln-sampler-XXXXXX";
  assert_non_null(mkdtemp(tmpl));
  char path[PATH_MAX];
  static const char *const dirs[] = {"sys",  "devices", "system",
                                     "edac", "mc",      "mc0"};
  snprintf(path, sizeof path, "%s", tmpl);
  for (size_t i = 0; i < sizeof dirs / sizeof *dirs; i++) {
    snprintf(path + strlen(path), sizeof path - strlen(path), "/%s", dirs[i]);
    assert_int_equal(mkdir(path, 0755), 0);
  }
  put(tmpl, "mc_name", "test IMC\n");
  put(tmpl, "ce_count", "3\n");
  put(tmpl, "ue_count", "0\n");
  return kiln_xstrdup(tmpl);
}

struct outcome {
  enum kiln_verdict verdict;
  char symptom[64];
  double readings; /* the hook's measurement; NaN: none */
};

/* Runs module m as the plan's one step, with the profile's section cfg
 * and the SKU sku (either may be NULL), while mc0's correctable errors
 * rise by rise. */
static void run_monitor(const struct kiln_module *m,
                        const struct kiln_profile_module *cfg,
                        const struct kiln_sku *sku, int rise,
                        struct outcome *out) {
  char *root = edac_root();
  setenv("KILN_SYSROOT", root, 1);
  struct kiln_plan_step step = {.module = m,
                                .cfg = cfg,
                                .id = (char *)m->name,
                                .target = "host",
                                .phase = KILN_MONITOR_PHASE,
                                .sku = sku};
  struct kiln_plan plan = {.steps = &step, .n_steps = 1};
  struct kiln_run run;
  kiln_run_init(&run);
  kiln_run_add_step(&run, m->name, m->name, "host", KILN_MONITOR_PHASE);
  struct kiln_bus bus;
  kiln_bus_init(&bus, stderr);
  char err[256];
  bool failed;
  struct kiln_sampler *s =
      kiln_sampler_new(&plan, "profile.ini", NULL, err, sizeof err, &failed);
  assert_non_null(s);
  assert_int_equal(kiln_sampler_start(s, &run, &bus, root, err, sizeof err), 0);
  char count[32];
  snprintf(count, sizeof count, "%d\n", 3 + rise);
  put(root, "ce_count", count);
  kiln_sampler_finish(s);
  kiln_sampler_free(s);
  const struct kiln_step_result *st = &run.steps[0];
  assert_int_equal(st->state, KILN_STEP_DONE);
  out->verdict = st->verdict;
  snprintf(out->symptom, sizeof out->symptom, "%s",
           st->n_diagnoses ? st->diagnoses[0].symptom : "");
  out->readings = NAN;
  for (size_t i = 0; i < st->n_measurements; i++)
    if (strcmp(st->measurements[i].name, "readings") == 0)
      out->readings = st->measurements[i].value;
  kiln_run_free(&run);
  unsetenv("KILN_SYSROOT");
  fs_rm_rf(root);
  free(root);
}

static struct kiln_kv profile_ce_max[] = {{"ce_max", "5", 7}};
static const struct kiln_profile_module profile_section = {
    .name = "test.watcher", .params = profile_ce_max, .n_params = 1};

static struct kiln_kv sku_ce_max[] = {{"ce_max", "2", 3}};
static struct kiln_profile_module sku_section = {
    .name = "test.watcher", .params = sku_ce_max, .n_params = 1};
static const struct kiln_sku sku = {
    .id = "t",
    .source = "sku.ini",
    .modules = {.modules = &sku_section, .n_modules = 1},
};

/* kiln list's probe of a monitor is its run's start and end: PASS over a
 * fixture EDAC controller, the step's own SKIP reason without one, and no
 * file written either way. */
static void the_probe_gives_the_runs_verdict(void **state) {
  (void)state;
  const struct kiln_module *edac = kiln_module_find("edac");
  assert_non_null(edac);
  char *root = edac_root();
  setenv("KILN_SYSROOT", root, 1);
  char why[600];
  assert_int_equal(kiln_sampler_probe(edac, NULL, why, sizeof why), KILN_PASS);
  assert_string_equal(why, "");
  char csv[PATH_MAX];
  snprintf(csv, sizeof csv, "%s/telemetry.csv", root);
  assert_int_equal(access(csv, F_OK), -1);
  fs_rm_rf(root);
  free(root);

  char empty[] = "/tmp/kiln-sampler-XXXXXX";
  assert_non_null(mkdtemp(empty));
  setenv("KILN_SYSROOT", empty, 1);
  assert_int_equal(kiln_sampler_probe(edac, NULL, why, sizeof why), KILN_SKIP);
  assert_true(strncmp(why, "no EDAC memory error counters: edac: ", 37) == 0);
  /* A module that is no monitor is no question for it. */
  assert_int_equal(kiln_sampler_probe(kiln_module_find("cpu.compute"), NULL,
                                      why, sizeof why),
                   KILN_ERROR);
  unsetenv("KILN_SYSROOT");
  fs_rm_rf(empty);
}

static void a_monitor_is_found_by_its_hook(void **state) {
  (void)state;
  struct outcome o;
  run_monitor(&watcher_module, NULL, NULL, 20, &o);
  assert_int_equal(o.verdict, KILN_FAIL);
  assert_string_equal(o.symptom, "test-ce-rise");
  /* Its reading hook saw mc0's two counters at the first and last sample. */
  assert_true(o.readings == 4);
  run_monitor(&watcher_module, NULL, NULL, 3, &o);
  assert_int_equal(o.verdict, KILN_PASS); /* 3 against the default 10 */
}

static void the_skus_value_reaches_a_monitor(void **state) {
  (void)state;
  struct outcome o;
  run_monitor(&watcher_module, NULL, &sku, 3, &o);
  assert_int_equal(o.verdict, KILN_FAIL); /* 3 against the SKU's 2 */
  run_monitor(&watcher_module, &profile_section, &sku, 3, &o);
  assert_int_equal(o.verdict, KILN_PASS); /* the profile's 5 wins */
}

/* The real edac monitor takes ce_max from a SKU file's [edac] section. */
static void the_edac_monitor_reads_its_sku(void **state) {
  (void)state;
  struct kiln_sku parsed;
  char err[256];
  int rc = kiln_sku_parse("[sku]\nname = t\npci_ids = 10de:2330\n"
                          "basis = a test\n[edac]\nce_max = 2\n",
                          "sku.ini", "t", &parsed, err, sizeof err);
  if (rc != 0)
    fail_msg("%s", err);
  const struct kiln_module *edac = kiln_module_find("edac");
  struct outcome o;
  run_monitor(edac, NULL, NULL, 3, &o);
  assert_int_equal(o.verdict, KILN_PASS); /* 3 against its default 10 */
  run_monitor(edac, NULL, &parsed, 3, &o);
  assert_int_equal(o.verdict, KILN_FAIL);
  assert_string_equal(o.symptom, "edac-correctable");
  kiln_sku_free(&parsed);
}

static void a_malformed_parameter_names_its_file_and_line(void **state) {
  (void)state;
  static struct kiln_kv bad[] = {{"ce_max", "lots", 7}};
  const struct kiln_profile_module section = {
      .name = "test.watcher", .params = bad, .n_params = 1};
  struct kiln_plan_step step = {.module = &watcher_module,
                                .cfg = &section,
                                .id = "test.watcher",
                                .target = "host"};
  struct kiln_plan plan = {.steps = &step, .n_steps = 1};
  char err[256];
  bool failed;
  assert_null(
      kiln_sampler_new(&plan, "profile.ini", NULL, err, sizeof err, &failed));
  assert_true(failed);
  assert_string_equal(err, "profile.ini:7: [test.watcher] ce_max = 'lots' "
                           "is not a number");
}

/* Every monitor the registry lists has the hook the sampler needs. */
static void every_monitor_has_a_hook(void **state) {
  (void)state;
  for (const struct kiln_module *const *m = kiln_modules; *m; m++) {
    if ((*m)->targets != KILN_TARGETS_MONITOR)
      continue;
    const struct kiln_monitor_hook *h = (*m)->monitor;
    if (!h || !h->sources || !h->setup || !h->watch || !h->end)
      fail_msg("monitor %s has no complete hook", (*m)->name);
  }
}

/* --bmc is refused when no step would read the BMC: the modules that
 * read it are known by the sources they name, not by their names. */
static void the_bmc_readers_are_known_by_their_sources(void **state) {
  (void)state;
  assert_true(kiln_module_reads_source(kiln_module_find("thermal"), "ipmi"));
  assert_true(kiln_module_reads_source(kiln_module_find("fans"), "ipmi"));
  assert_true(kiln_module_reads_source(kiln_module_find("fans"), "sensors"));
  assert_false(kiln_module_reads_source(kiln_module_find("edac"), "ipmi"));
  assert_true(kiln_module_reads_source(kiln_module_find("edac"), "edac"));
  assert_false(
      kiln_module_reads_source(kiln_module_find("cpu.compute"), "ipmi"));
}

int main(void) {
  setenv("KILN_SENSORS_CONFIG", "/dev/null", 1);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(a_monitor_is_found_by_its_hook),
      cmocka_unit_test(the_skus_value_reaches_a_monitor),
      cmocka_unit_test(the_edac_monitor_reads_its_sku),
      cmocka_unit_test(a_malformed_parameter_names_its_file_and_line),
      cmocka_unit_test(every_monitor_has_a_hook),
      cmocka_unit_test(the_bmc_readers_are_known_by_their_sources),
      cmocka_unit_test(the_probe_gives_the_runs_verdict),
  };
  cmocka_set_message_output(CM_OUTPUT_TAP);
  return cmocka_run_group_tests(tests, NULL, NULL);
}
