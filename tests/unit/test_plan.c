/* Planning: --only/--skip globs, durations, phases and fault placement. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "config/profile.h"
#include "run/inject.h"
#include "run/plan.h"

static const char text[] = "[profile]\n"
                           "duration = 20s\n"
                           "phase.1 = gpu.query\n"
                           "phase.2 = cpu.compute, dram.patterns\n"
                           "phase.3 = dram.bandwidth\n"
                           "[dram.patterns]\n"
                           "duration = 5s\n";

static int setup(void **state) {
  static struct kiln_profile p;
  char err[256];
  if (kiln_profile_parse(text, "t.ini", &p, err, sizeof err) != 0)
    return -1;
  *state = &p;
  return 0;
}

static int teardown(void **state) {
  kiln_profile_free(*state);
  return 0;
}

static const struct kiln_plan_step *find(const struct kiln_plan *pl,
                                         const char *id) {
  for (size_t i = 0; i < pl->n_steps; i++)
    if (strcmp(pl->steps[i].id, id) == 0)
      return &pl->steps[i];
  return NULL;
}

static void plans_phases_in_order(void **state) {
  struct kiln_plan pl;
  char err[256];
  struct kiln_plan_options o = {0};
  assert_int_equal(kiln_plan_build(*state, &o, &pl, err, sizeof err), 0);
  assert_int_equal(pl.n_steps, 4);
  assert_string_equal(pl.steps[0].id, "gpu.query"); /* no GPU: one SKIP */
  assert_non_null(pl.steps[0].skip_reason);
  assert_string_equal(pl.steps[0].skip_reason,
                      "no NVIDIA GPU found on the PCI bus");
  assert_string_equal(pl.steps[1].id, "cpu.compute");
  assert_string_equal(pl.steps[2].id, "dram.patterns");
  assert_int_equal(pl.steps[1].phase, 2);
  assert_int_equal(pl.steps[2].phase, 2);
  assert_string_equal(pl.steps[3].id, "dram.bandwidth");
  assert_true(find(&pl, "cpu.compute")->duration == 20);
  assert_true(find(&pl, "dram.patterns")->duration == 5);
  kiln_plan_free(&pl);
}

/* Phases one after another, each as long as its longest step that runs:
 * gpu.query skips (no GPU), then max(20, 5), then 20. */
static void planned_seconds_add_up_phases(void **state) {
  struct kiln_plan pl;
  char err[256];
  struct kiln_plan_options o = {0};
  assert_int_equal(kiln_plan_build(*state, &o, &pl, err, sizeof err), 0);
  assert_true(kiln_plan_seconds(&pl) == 40);
  assert_null(kiln_plan_sku(&pl)); /* no GPU, no SKU */
  kiln_plan_free(&pl);
  /* A one-at-a-time module's steps add up (pcie.bw: 3 GPUs of 10 s beside
   * a 25 s step: 30 s); a skipped one takes none. */
  const struct kiln_module *bw = kiln_module_find("pcie.bw");
  const struct kiln_module *cpu = kiln_module_find("cpu.compute");
  assert_true(bw && bw->one_at_a_time && cpu && !cpu->one_at_a_time);
  struct kiln_plan_step steps[] = {
      {.module = bw, .phase = 1, .duration = 10},
      {.module = bw, .phase = 1, .duration = 10},
      {.module = bw, .phase = 1, .duration = 10},
      {.module = bw, .phase = 1, .duration = 10, .skip_reason = "gone"},
      {.module = cpu, .phase = 1, .duration = 25},
      {.module = cpu, .phase = 2, .duration = 7},
  };
  struct kiln_plan hand = {.steps = steps, .n_steps = 6};
  assert_true(kiln_plan_seconds(&hand) == 37);
}

static void filters_and_overrides(void **state) {
  struct kiln_plan pl;
  char err[256];
  struct kiln_plan_options o = {
      .only = "dram.*,cpu.compute", .skip = "dram.band*", .duration = 3};
  assert_int_equal(kiln_plan_build(*state, &o, &pl, err, sizeof err), 0);
  assert_int_equal(pl.n_steps, 2);
  assert_non_null(find(&pl, "cpu.compute"));
  assert_non_null(find(&pl, "dram.patterns"));
  assert_true(find(&pl, "dram.patterns")->duration == 3);
  kiln_plan_free(&pl);

  struct kiln_plan_options typo = {.only = "cpu.compte"};
  assert_int_equal(kiln_plan_build(*state, &typo, &pl, err, sizeof err), -1);
  assert_string_equal(err, "--only 'cpu.compte' matches no module (see "
                           "`kiln list`)");
  struct kiln_plan_options none = {.only = "cpu.*", .skip = "cpu.*"};
  assert_int_equal(kiln_plan_build(*state, &none, &pl, err, sizeof err), -1);
  assert_non_null(strstr(err, "nothing to run"));
}

static void places_faults(void **state) {
  struct kiln_plan pl;
  char err[256];
  const char *faults[] = {"cpu.sdc", "step.hang:dram.bandwidth", "step.crash",
                          NULL};
  struct kiln_plan_options o = {.inject = faults};
  assert_int_equal(kiln_plan_build(*state, &o, &pl, err, sizeof err), 0);
  const struct kiln_plan_step *cpu = find(&pl, "cpu.compute");
  assert_string_equal(cpu->inject[0], "cpu.sdc");
  /* a generic fault goes to the first step that runs: cpu.compute */
  assert_string_equal(cpu->inject[1], "step.crash");
  assert_null(cpu->inject[2]);
  assert_string_equal(find(&pl, "dram.bandwidth")->inject[0], "step.hang");
  assert_null(find(&pl, "dram.patterns")->inject);
  assert_null(find(&pl, "gpu.query")->inject);
  kiln_plan_free(&pl);

  const char *unknown[] = {"cpu.melt", NULL};
  o.inject = unknown;
  assert_int_equal(kiln_plan_build(*state, &o, &pl, err, sizeof err), -1);
  assert_non_null(strstr(err, "unknown fault 'cpu.melt' (known: cpu.sdc"));
  const char *absent[] = {"cpu.sdc", NULL};
  struct kiln_plan_options o2 = {.only = "dram.*", .inject = absent};
  assert_int_equal(kiln_plan_build(*state, &o2, &pl, err, sizeof err), -1);
  assert_string_equal(err, "fault cpu.sdc needs cpu.compute, which this run "
                           "does not run");
}

static bool module_declares(const struct kiln_module *m, const char *fault) {
  for (const char *const *f = m->faults; f && *f; f++)
    if (strcmp(*f, fault) == 0)
      return true;
  return false;
}

/* The fault table and the modules' own lists must agree, or --inject
 * would accept a fault no module honours (a detector never proven). */
static void fault_table_matches_modules(void **state) {
  (void)state;
  for (const struct kiln_fault *f = kiln_faults; f->name; f++) {
    if (!f->module)
      continue;
    const struct kiln_module *m = kiln_module_find(f->module);
    assert_non_null(m);
    if (!module_declares(m, f->name))
      fail_msg("%s does not declare fault %s", f->module, f->name);
  }
  for (const struct kiln_module *const *m = kiln_modules; *m; m++)
    for (const char *const *f = (*m)->faults; f && *f; f++) {
      const struct kiln_fault *k = kiln_fault_find(*f);
      if (!k || !k->module || strcmp(k->module, (*m)->name) != 0)
        fail_msg("%s declares fault %s, missing from kiln_faults", (*m)->name,
                 *f);
    }
}

int main(void) {
  cmocka_set_message_output(CM_OUTPUT_TAP);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(plans_phases_in_order),
      cmocka_unit_test(planned_seconds_add_up_phases),
      cmocka_unit_test(filters_and_overrides),
      cmocka_unit_test(places_faults),
      cmocka_unit_test(fault_table_matches_modules),
  };
  return cmocka_run_group_tests_name("plan", tests, setup, teardown);
}
