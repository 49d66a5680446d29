/* GPU SKU limit files: the built-in ones are sound, bad files are errors
 * naming file and line, and the planner gives each step its GPU's SKU
 * (PCI id from a fixture sysfs tree, or the spec's override). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "../../stress/gpu_mem.h"
#include "config/profile.h"
#include "config/sku.h"
#include "fsutil.h"
#include "run/plan.h"

static const struct kiln_limit *limit(const struct kiln_sku *sku,
                                      const char *module, const char *name) {
  const struct kiln_profile_module *m = kiln_sku_module(sku, module);
  for (size_t i = 0; m && i < m->n_limits; i++)
    if (strcmp(m->limits[i].measurement, name) == 0)
      return &m->limits[i].limit;
  return NULL;
}

static const char *param(const struct kiln_sku *sku, const char *module,
                         const char *name) {
  const struct kiln_profile_module *m = kiln_sku_module(sku, module);
  for (size_t i = 0; m && i < m->n_params; i++)
    if (strcmp(m->params[i].key, name) == 0)
      return m->params[i].value;
  return NULL;
}

static void builtin_skus_are_sound(void **state) {
  (void)state;
  struct kiln_sku_set set;
  char err[512] = "";
  assert_int_equal(kiln_sku_set_builtin(&set, err, sizeof err), 0);
  assert_true(set.n >= 4);
  for (size_t i = 0; i < set.n; i++) {
    const struct kiln_sku *s = &set.skus[i];
    assert_non_null(s->name);
    assert_true(s->n_basis > 0);
    /* No two SKUs claim one PCI id. */
    for (size_t j = 0; j < s->n_pci_ids; j++) {
      uint32_t id = s->pci_ids[j];
      assert_ptr_equal(kiln_sku_for_pci_id(&set, id >> 16, id & 0xffff), s);
    }
    /* A bandwidth floor is a share of the datasheet's, never above it. */
    const struct kiln_limit *bw = limit(s, "gpu.membw", "bandwidth_gbps");
    assert_non_null(bw);
    assert_true(bw->has_lo && s->hbm_gbps > 0 && bw->lo < s->hbm_gbps);
    assert_non_null(param(s, "gpu.health", "pcie_gen"));
    /* The bench's table of datasheet bandwidths agrees with the SKU. */
    for (size_t j = 0; j < s->n_pci_ids; j++) {
      const struct kiln_hbm_spec *h =
          kiln_hbm_lookup(s->pci_ids[j] & 0xffff, NULL);
      assert_non_null(h);
      assert_true(h->gbps == s->hbm_gbps);
    }
    /* Nothing here was measured on a GPU yet: every file must say so. */
    assert_true(s->provisional);
  }
  const struct kiln_sku *h100 = kiln_sku_for_pci_id(&set, 0x10de, 0x2330);
  assert_non_null(h100);
  assert_string_equal(h100->id, "h100-sxm5-80gb");
  assert_string_equal(h100->source, "built-in:sku/h100-sxm5-80gb");
  const struct kiln_sku *h200 = kiln_sku_for_pci_id(&set, 0x10de, 0x2335);
  assert_non_null(h200);
  /* DCGM's H200 floor has a unit error; ours is in GB/s like the rest. */
  assert_true(limit(h200, "gpu.membw", "bandwidth_gbps")->lo > 3000);
  assert_null(kiln_sku_for_pci_id(&set, 0x10de, 0x2999));
  assert_null(kiln_sku_for_pci_id(&set, 0x8086, 0x2330));
  char names[256];
  kiln_sku_set_names(&set, names, sizeof names);
  assert_non_null(strstr(names, "h200-sxm-141gb"));
  kiln_sku_set_free(&set);
}

static void parses_a_sku_file(void **state) {
  (void)state;
  static const char text[] = "[sku]\n"
                             "name = Test GPU\n"
                             "pci_ids = 10de:2330, 10de:2331\n"
                             "status = measured\n"
                             "basis = 2026-11-21, GPU 0, make bench\n"
                             "basis.2 = second line\n"
                             "hbm_gbps = 3350\n"
                             "[gpu.membw]\n"
                             "bandwidth_gbps.min = 3000\n"
                             "mem = 80%\n";
  struct kiln_sku s;
  char err[512] = "";
  assert_int_equal(kiln_sku_parse(text, "t.ini", "t", &s, err, sizeof err), 0);
  assert_string_equal(s.name, "Test GPU");
  assert_false(s.provisional);
  assert_int_equal(s.n_pci_ids, 2);
  assert_int_equal(s.pci_ids[1], 0x10de2331u);
  assert_int_equal(s.n_basis, 2);
  assert_true(s.hbm_gbps == 3350);
  assert_true(limit(&s, "gpu.membw", "bandwidth_gbps")->lo == 3000);
  assert_string_equal(param(&s, "gpu.membw", "mem"), "80%");
  assert_null(kiln_sku_module(&s, "gpu.memtest"));
  kiln_sku_free(&s);
}

static void bad_sku_files_name_file_and_line(void **state) {
  (void)state;
  static const struct {
    const char *text, *err;
  } cases[] = {
      {"[sku]\nname = x\npci_ids = 10de:2330\n", "b.ini: [sku] has no basis"},
      {"[sku]\nname = x\nbasis = y\n", "b.ini: [sku] has no pci_ids"},
      {"[sku]\npci_ids = 10de:2330\nbasis = y\n", "b.ini: [sku] has no name"},
      {"[sku]\nname = x\npci_ids = 10de:zz\n",
       "b.ini:3: pci_ids: '10de:zz' is not a PCI id (e.g. 10de:2330)"},
      {"[sku]\nstatus = great\n",
       "b.ini:2: status 'great' is not measured or provisional"},
      {"[sku]\nhbm_gbps = -1\n",
       "b.ini:2: hbm_gbps '-1' is not a positive number (GB/s)"},
      {"[sku]\ncolour = green\n",
       "b.ini:2: unknown key 'colour' in [sku] (keys: name, pci_ids, status, "
       "basis, hbm_gbps)"},
      {"[sku]\nname = x\n[gpu.warp]\nx.min = 1\n",
       "b.ini:4: unknown module [gpu.warp] (see `kiln list`)"},
      {"[gpu.membw]\nbandwidth_gbps.min = fast\n",
       "b.ini:2: limit bandwidth_gbps.min = 'fast' is not a number"},
      {"[gpu.membw]\nwidth = 3\n", "b.ini:2: gpu.membw has no parameter "
                                   "'width'"},
      {"[gpu.membw]\nduration = 3s\n",
       "b.ini:2: gpu.membw has no parameter 'duration'"},
      {"[profile]\nname = x\n", "b.ini:2: unknown module [profile]"},
      {"name = x\n", "b.ini:1: 'name' is outside any [section]"},
      {"[sku\n", "b.ini:1: syntax error"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    struct kiln_sku s;
    char err[512] = "";
    assert_int_equal(
        kiln_sku_parse(cases[i].text, "b.ini", "b", &s, err, sizeof err), -1);
    if (strncmp(err, cases[i].err, strlen(cases[i].err)) != 0)
      fail_msg("case %zu: got '%s', want '%s'", i, err, cases[i].err);
  }
}

static void load_by_id_or_path(void **state) {
  (void)state;
  struct kiln_sku s;
  char err[512] = "";
  assert_int_equal(kiln_sku_load("h200-sxm-141gb", &s, err, sizeof err), 0);
  assert_string_equal(s.id, "h200-sxm-141gb");
  kiln_sku_free(&s);
  assert_int_equal(kiln_sku_load("h900", &s, err, sizeof err), -1);
  assert_non_null(strstr(err, "no GPU SKU named 'h900' (built-in: "));
  assert_non_null(strstr(err, "h100-pcie"));
  assert_int_equal(kiln_sku_load("/nonexistent/x.ini", &s, err, sizeof err),
                   -1);
  assert_non_null(strstr(err, "/nonexistent/x.ini"));
  assert_int_equal(
      kiln_sku_load("profiles/sku/h100-pcie.ini", &s, err, sizeof err), 0);
  assert_string_equal(s.id, "h100-pcie");
  assert_string_equal(s.source, "profiles/sku/h100-pcie.ini");
  kiln_sku_free(&s);
}

/* A fixture sysfs with GPUs of the given device ids. */
static char root[64];
static void make_gpu(const char *bus, const char *device) {
  fs_fake_gpu(root, bus, device);
}

static void planner_gives_each_gpu_its_sku(void **state) {
  (void)state;
  snprintf(root, sizeof root, "/tmp/kiln-sku-XXXXXX");
  assert_non_null(mkdtemp(root));
  make_gpu("0000:1b:00.0", "0x2335"); /* H200 */
  make_gpu("0000:3a:00.0", "0x2999"); /* unknown */
  setenv("KILN_SYSFS_PCI", root, 1);
  static const char text[] = "[profile]\n"
                             "phase.1 = gpu.health, cpu.compute\n";
  struct kiln_profile p;
  char err[512];
  assert_int_equal(kiln_profile_parse(text, "t.ini", &p, err, sizeof err), 0);
  struct kiln_plan plan;
  struct kiln_plan_options o = {0};
  assert_int_equal(kiln_plan_build(&p, &o, &plan, err, sizeof err), 0);
  assert_int_equal(plan.n_steps, 3);
  struct kiln_sku_set set;
  assert_int_equal(kiln_sku_set_builtin(&set, err, sizeof err), 0);
  kiln_plan_assign_skus(&plan, &set, NULL);
  const struct kiln_plan_step *h0 = NULL, *h1 = NULL, *cpu = NULL;
  for (size_t i = 0; i < plan.n_steps; i++) {
    const struct kiln_plan_step *s = &plan.steps[i];
    if (strcmp(s->module->name, "cpu.compute") == 0)
      cpu = s;
    else if (strcmp(s->target, "0000:1b:00.0") == 0)
      h0 = s;
    else
      h1 = s;
  }
  assert_non_null(h0);
  assert_non_null(h1);
  assert_non_null(cpu);
  assert_non_null(h0->sku);
  assert_string_equal(h0->sku->id, "h200-sxm-141gb");
  assert_non_null(strstr(h0->sku_note, "chosen by PCI id 10de:2335"));
  assert_non_null(strstr(h0->sku_note, "PROVISIONAL"));
  assert_null(h1->sku);
  assert_non_null(strstr(h1->sku_note, "(10de:2999): no SKU file"));
  /* No SKU has a [cpu.compute]: the host step hears nothing of SKUs. */
  assert_null(cpu->sku);
  assert_null(cpu->sku_note);

  struct kiln_sku over;
  assert_int_equal(kiln_sku_load("a100-sxm4-80gb", &over, err, sizeof err), 0);
  kiln_plan_assign_skus(&plan, &set, &over);
  assert_ptr_equal(h0->sku, &over);
  assert_ptr_equal(h1->sku, &over);
  assert_non_null(strstr(h1->sku_note, "named by the station spec"));
  kiln_plan_free(&plan);
  kiln_sku_free(&over);
  kiln_sku_set_free(&set);
  kiln_profile_free(&p);
  unsetenv("KILN_SYSFS_PCI");
  fs_rm_rf(root);
}

int main(void) {
  cmocka_set_message_output(CM_OUTPUT_TAP);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(builtin_skus_are_sound),
      cmocka_unit_test(parses_a_sku_file),
      cmocka_unit_test(bad_sku_files_name_file_and_line),
      cmocka_unit_test(load_by_id_or_path),
      cmocka_unit_test(planner_gives_each_gpu_its_sku),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
