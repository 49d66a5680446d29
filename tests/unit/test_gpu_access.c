/* GPU access, checked in the parent: a GPU on the bus that kiln cannot
 * drive is an ERROR naming it and the cause; only "no GPU" is a SKIP. Over
 * a fixture sysfs (two GPUs) and the fake NVML, which knows one of them. */
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

#include "config/profile.h"
#include "fake_nvml.h"
#include "fsutil.h"
#include "kiln/gpu_access.h"
#include "run/plan.h"

#define KNOWN "0000:1b:00.0"   /* the fake NVML's GPU */
#define UNKNOWN "0000:3a:00.0" /* on the bus, unknown to the driver */

static struct fake_nvml fake_driver;

static int setup_all(void **state) {
  if (fake_nvml_setup(&fake_driver, "gpu-access", false) != 0)
    return -1;
  char pci[300];
  snprintf(pci, sizeof pci, "%s/pci", fake_driver.dir);
  if (mkdir(pci, 0755) != 0)
    return -1;
  fs_fake_gpu(pci, KNOWN, "0x2330");
  fs_fake_gpu(pci, UNKNOWN, "0x2330");
  setenv("KILN_SYSFS_PCI", pci, 1);
  return 0;
}

static int teardown_all(void **state) {
  return fake_nvml_teardown(&fake_driver);
}

static int reset_env(void **state) {
  setenv("KILN_NVML_LIB", fake_driver.lib, 1);
  unsetenv("FAKE_INIT_RC");
  unsetenv("FAKE_MIG");
  unsetenv("FAKE_CUDA_VERSION");
  return 0;
}

/* The check's answer for bus with needs, through a fresh access. */
static bool check(const char *bus, unsigned needs, bool mig_allowed, char *why,
                  size_t n) {
  struct kiln_gpu_access *a = kiln_gpu_access_open();
  why[0] = '\0';
  bool ok = kiln_gpu_access_check(a, bus, needs, mig_allowed, why, n);
  kiln_gpu_access_close(a);
  return ok;
}

static void versions_and_sonames(void **state) {
  assert_int_equal(kiln_cuda_min_driver(13000), 580);
  assert_int_equal(kiln_cuda_min_driver(13020), 580);
  assert_int_equal(kiln_cuda_min_driver(12000), 525);
  assert_int_equal(kiln_cuda_min_driver(12080), 525);
  assert_int_equal(kiln_cuda_min_driver(99000), 0);
  /* The unit tests are a build without CUDA. */
  assert_int_equal(kiln_cuda_built_version(), 0);
  char name[64];
  kiln_cuda_lib_soname("libcublas", name, sizeof name);
  assert_string_equal(name, "libcublas.so");
}

static void driver_too_old_for_the_runtime(void **state) {
  char why[512];
  /* A CUDA 13.0 build on a 550 driver (CUDA 12.4): named, with the fix. */
  assert_false(
      kiln_cuda_driver_ok(13000, 12040, "550.54.15", KNOWN, why, sizeof why));
  assert_string_equal(why,
                      "GPU " KNOWN ": NVIDIA driver 550.54.15 supports CUDA "
                      "12.4, older than the CUDA 13.0 runtime this kiln was "
                      "built with, which needs driver 580 or newer: update "
                      "the driver, or use a kiln built with CUDA 12");
  /* Minor-version compatibility: 12.8 runs on a 12.2 driver. */
  assert_true(
      kiln_cuda_driver_ok(12080, 12020, "535.104.05", KNOWN, why, sizeof why));
  assert_true(
      kiln_cuda_driver_ok(13000, 13000, "580.65.06", KNOWN, why, sizeof why));
  /* Unknown: CUDA in the step says what it finds. */
  assert_true(kiln_cuda_driver_ok(13000, 0, "", KNOWN, why, sizeof why));
  assert_false(
      kiln_cuda_driver_ok(0, 13000, "580.65.06", KNOWN, why, sizeof why));
  assert_non_null(strstr(why, "GPU " KNOWN ": this kiln was built without "
                              "CUDA"));
}

static void no_driver_installed(void **state) {
  setenv("KILN_NVML_LIB", "/nonexistent/libnvidia-ml.so.1", 1);
  char why[512];
  assert_false(check(KNOWN, KILN_GPU_NEEDS_DRIVER, false, why, sizeof why));
  assert_string_equal(why, "GPU " KNOWN ": NVIDIA driver not installed "
                           "(/nonexistent/libnvidia-ml.so.1 not found)");
}

static void driver_not_loaded(void **state) {
  setenv("FAKE_INIT_RC", "9", 1);
  char why[512];
  assert_false(check(UNKNOWN, KILN_GPU_NEEDS_DRIVER, false, why, sizeof why));
  assert_string_equal(why, "GPU " UNKNOWN ": NVIDIA driver installed but not "
                           "loaded (nvmlInit_v2: Driver Not Loaded): load it "
                           "(modprobe nvidia) and see dmesg");
  /* Any other failure to start: NVML's own words. */
  setenv("FAKE_INIT_RC", "999", 1);
  assert_false(check(KNOWN, KILN_GPU_NEEDS_DRIVER, false, why, sizeof why));
  assert_non_null(strstr(why, "GPU " KNOWN ": the NVIDIA driver does not "
                              "answer (nvmlInit_v2: "));
}

static void gpu_the_driver_does_not_see(void **state) {
  char why[512];
  assert_true(check(KNOWN, KILN_GPU_NEEDS_DRIVER, false, why, sizeof why));
  assert_false(check(UNKNOWN, KILN_GPU_NEEDS_DRIVER, false, why, sizeof why));
  assert_non_null(strstr(why, "GPU " UNKNOWN ": on the PCI bus but the NVIDIA "
                              "driver does not see it"));
  assert_non_null(strstr(why, "lspci -k -s " UNKNOWN));
}

static void mig_mode_against_the_profile(void **state) {
  setenv("FAKE_MIG", "1", 1);
  char why[512];
  assert_false(check(KNOWN, KILN_GPU_NEEDS_DRIVER, false, why, sizeof why));
  assert_non_null(strstr(why, "GPU " KNOWN ": in MIG mode, which this "
                              "profile does not allow (mig_allowed = no)"));
  assert_true(check(KNOWN, KILN_GPU_NEEDS_DRIVER, true, why, sizeof why));
}

static void cuda_modules_need_a_cuda_build(void **state) {
  char why[512];
  assert_true(check(KNOWN, KILN_GPU_NEEDS_DRIVER, false, why, sizeof why));
  assert_false(check(KNOWN, KILN_GPU_NEEDS_DRIVER | KILN_GPU_NEEDS_CUDA, false,
                     why, sizeof why));
  assert_non_null(strstr(why, "GPU " KNOWN ": this kiln was built without "
                              "CUDA"));
}

static void library_probe(void **state) {
  char why[512];
  const char *missing[] = {"libkiln-nonexistent.so.99", NULL};
  assert_false(kiln_lib_loadable(missing, why, sizeof why));
  assert_string_equal(why, "libkiln-nonexistent.so.99 not found: "
                           "libkiln-nonexistent.so.99: cannot open shared "
                           "object file: No such file or directory");
  /* The first name that loads wins; the probe leaves nothing loaded. */
  const char *fallback[] = {"libkiln-nonexistent.so.99", "libm.so.6", NULL};
  assert_true(kiln_lib_loadable(fallback, why, sizeof why));
}

static const char profile_text[] = "[profile]\n"
                                   "phase.1 = gpu.health, gpu.p2p\n"
                                   "phase.2 = gpu.membw, cpu.compute\n";

static void planner_marks_each_step(void **state) {
  struct kiln_profile p;
  char err[256];
  assert_int_equal(
      kiln_profile_parse(profile_text, "t.ini", &p, err, sizeof err), 0);
  assert_false(p.mig_allowed);
  struct kiln_plan pl;
  struct kiln_plan_options o = {0};
  assert_int_equal(kiln_plan_build(&p, &o, &pl, err, sizeof err), 0);
  kiln_plan_check_gpus(&pl, p.mig_allowed);
  size_t errors = 0;
  for (size_t i = 0; i < pl.n_steps; i++) {
    const struct kiln_plan_step *s = &pl.steps[i];
    if (strcmp(s->id, "cpu.compute") == 0) {
      assert_true(kiln_plan_step_runs(s));
      continue;
    }
    if (strcmp(s->id, "gpu.health[0]") == 0) {
      assert_true(kiln_plan_step_runs(s)); /* NVML knows it */
      continue;
    }
    /* The GPU the driver does not see, and every CUDA step (no CUDA in
     * this build): ERROR, each naming its GPU. */
    assert_non_null(s->error_reason);
    assert_null(s->skip_reason);
    assert_false(kiln_plan_step_runs(s));
    if (strcmp(s->id, "gpu.p2p") == 0) {
      assert_non_null(strstr(s->error_reason, KNOWN));
      assert_non_null(strstr(s->error_reason, UNKNOWN));
    } else {
      assert_non_null(strstr(s->error_reason, s->target));
    }
    errors++;
  }
  assert_int_equal(errors, 4); /* health[1], p2p, membw[0], membw[1] */
  kiln_plan_free(&pl);

  /* No GPU on the bus: the one case that is a SKIP. */
  char empty[300];
  snprintf(empty, sizeof empty, "%s/empty", fake_driver.dir);
  assert_int_equal(mkdir(empty, 0755), 0);
  char *saved = strdup(getenv("KILN_SYSFS_PCI"));
  setenv("KILN_SYSFS_PCI", empty, 1);
  assert_int_equal(kiln_plan_build(&p, &o, &pl, err, sizeof err), 0);
  kiln_plan_check_gpus(&pl, p.mig_allowed);
  for (size_t i = 0; i < pl.n_steps; i++)
    assert_null(pl.steps[i].error_reason);
  kiln_plan_free(&pl);
  setenv("KILN_SYSFS_PCI", saved, 1);
  free(saved);
  kiln_profile_free(&p);
}

static void profiles_say_mig_allowed(void **state) {
  struct kiln_profile p;
  char err[256];
  assert_int_equal(kiln_profile_parse("[profile]\nmig_allowed = yes\n"
                                      "phase.1 = gpu.health\n",
                                      "t.ini", &p, err, sizeof err),
                   0);
  assert_true(p.mig_allowed);
  kiln_profile_free(&p);
  assert_int_equal(kiln_profile_parse("[profile]\nmig_allowed = maybe\n"
                                      "phase.1 = gpu.health\n",
                                      "t.ini", &p, err, sizeof err),
                   -1);
  assert_string_equal(err, "t.ini:2: mig_allowed 'maybe': use yes or no");
  /* The production profiles say it where a reader looks for it. */
  static const char *const names[] = {"standard", "burnin"};
  for (size_t i = 0; i < 2; i++) {
    assert_non_null(strstr(kiln_builtin_profile(names[i]), "mig_allowed = no"));
    assert_int_equal(kiln_profile_load(names[i], &p, err, sizeof err), 0);
    assert_false(p.mig_allowed);
    kiln_profile_free(&p);
  }
}

int main(void) {
  cmocka_set_message_output(CM_OUTPUT_TAP);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(versions_and_sonames),
      cmocka_unit_test(driver_too_old_for_the_runtime),
      cmocka_unit_test_setup(no_driver_installed, reset_env),
      cmocka_unit_test_setup(driver_not_loaded, reset_env),
      cmocka_unit_test_setup(gpu_the_driver_does_not_see, reset_env),
      cmocka_unit_test_setup(mig_mode_against_the_profile, reset_env),
      cmocka_unit_test_setup(cuda_modules_need_a_cuda_build, reset_env),
      cmocka_unit_test(library_probe),
      cmocka_unit_test_setup(planner_marks_each_step, reset_env),
      cmocka_unit_test(profiles_say_mig_allowed),
  };
  return cmocka_run_group_tests(tests, setup_all, teardown_all);
}
