/* The NVML loader, gpu.health and the "nvml" telemetry source without a
 * driver: a missing library and one without NVML's symbols (SKIP paths and
 * the loader's reasons), then a fake libnvidia-ml built here at test time
 * (cc -shared) whose answers come from FAKE_* environment variables: the
 * versioned-symbol fallbacks, optional symbols left NULL, and gpu.health's
 * judgement of each unhealthy value. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <unistd.h>

#include "fake_nvml.h"
#include "harness.h"
#include "kiln/module.h"
#include "kiln/nvml.h"
#include "kiln/result.h"
#include "kiln/telemetry.h"
#include "kiln/textutil.h"
#include "run/runner.h"
#include "run/sampler.h"

#define BUS "0000:1b:00.0"

static struct fake_nvml fake_driver;

static int build_fake(void **state) {
  return fake_nvml_setup(&fake_driver, "nvml", true);
}

static int remove_fake(void **state) {
  return fake_nvml_teardown(&fake_driver);
}

static const char *const fake_vars[] = {"FAKE_INIT_RC",
                                        "FAKE_ECC",
                                        "FAKE_DBE_PAGES",
                                        "FAKE_PAGES_PENDING",
                                        "FAKE_UNC_ROWS",
                                        "FAKE_ROWS_PENDING",
                                        "FAKE_ROWS_FAILED",
                                        "FAKE_INFOROM_RC",
                                        "FAKE_PROCS",
                                        "FAKE_REASONS",
                                        "FAKE_GEN",
                                        "FAKE_WIDTH",
                                        "FAKE_MAX_GEN",
                                        "FAKE_FABRIC",
                                        "FAKE_FABRIC_STATE",
                                        "FAKE_FABRIC_STATUS",
                                        NULL};

/* A healthy fake GPU unless the test says otherwise. */
static int reset_env(void **state) {
  for (size_t i = 0; fake_vars[i]; i++)
    unsetenv(fake_vars[i]);
  setenv("KILN_NVML_LIB", fake_driver.lib, 1);
  return 0;
}

/* Runs gpu.health on BUS in-process (the harness targets "host"). */
static void run_health(const char *const *params, struct captured *out) {
  memset(out, 0, sizeof *out);
  size_t np = 0;
  while (params && params[2 * np])
    np++;
  struct kiln_kv kv[4] = {{0}};
  assert_true(np < 4);
  for (size_t i = 0; i < np; i++) {
    kv[i].key = (char *)params[2 * i];
    kv[i].value = (char *)params[2 * i + 1];
  }
  struct kiln_step_config cfg = {
      .module = kiln_module_find("gpu.health"),
      .id = "gpu.health[0]",
      .target = BUS,
      .duration = 0,
      .params = kv,
      .n_params = np,
  };
  assert_non_null(cfg.module);
  harness_run_step(&cfg, out);
}

/* ---- without a driver ---- */

static void test_missing_library(void **state) {
  setenv("KILN_NVML_LIB", "/nonexistent/libnvidia-ml.so.1", 1);
  char why[512];
  assert_null(kiln_nvml_open(why, sizeof why));
  assert_string_equal(why, "/nonexistent/libnvidia-ml.so.1 not found");
  kiln_nvml_return rc = KILN_NVML_SUCCESS;
  assert_null(kiln_nvml_open_rc(&rc, why, sizeof why));
  assert_int_equal(rc, KILN_NVML_ERROR_LIBRARY_NOT_FOUND);

  /* The GPU is on the bus (else no step): no driver is an ERROR. */
  struct captured c;
  run_health(NULL, &c);
  assert_int_equal(harness_end_verdict(&c), KILN_ERROR);
  const struct kiln_wire_event *end = &c.events[c.n - 1];
  assert_non_null(strstr(end->message, "0000:1b:00.0"));
  assert_non_null(strstr(end->message, "not found"));
  harness_free(&c);

  const struct kiln_tel_source *src = kiln_tel_source_find("nvml");
  assert_non_null(src);
  assert_null(src->open(why, sizeof why));
  assert_non_null(strstr(why, "not found"));
}

/* NVML cannot be opened: both openers say why (and the code), and a GPU
 * step that needs it ends ERROR. */
static void assert_nvml_refused(const char *want_why,
                                kiln_nvml_return want_rc) {
  char why[512];
  assert_null(kiln_nvml_open(why, sizeof why));
  assert_string_equal(why, want_why);
  kiln_nvml_return rc = KILN_NVML_SUCCESS;
  assert_null(kiln_nvml_open_rc(&rc, why, sizeof why));
  assert_int_equal(rc, want_rc);
  struct captured c;
  run_health(NULL, &c);
  assert_int_equal(harness_end_verdict(&c), KILN_ERROR);
  harness_free(&c);
}

static void test_library_without_symbols(void **state) {
  setenv("KILN_NVML_LIB", "libm.so.6", 1);
  assert_nvml_refused("libm.so.6: missing symbol nvmlInit_v2",
                      KILN_NVML_ERROR_FUNCTION_NOT_FOUND);
}

/* A file that is no library at all (a broken install): said, not a crash. */
static void test_library_not_an_elf(void **state) {
  char path[] = "/tmp/kiln-nvml-junk-XXXXXX";
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  assert_int_equal(write(fd, "not a library\n", 14), 14);
  close(fd);
  setenv("KILN_NVML_LIB", path, 1);
  char why[512];
  kiln_nvml_return rc = KILN_NVML_SUCCESS;
  assert_null(kiln_nvml_open_rc(&rc, why, sizeof why));
  assert_int_equal(rc, KILN_NVML_ERROR_LIBRARY_NOT_FOUND);
  char want[128];
  snprintf(want, sizeof want, "%s cannot be loaded: ", path);
  assert_true(strncmp(why, want, strlen(want)) == 0);
  unlink(path);
}

static void test_init_fails(void **state) {
  setenv("FAKE_INIT_RC", "9", 1);
  assert_nvml_refused("nvmlInit_v2: Driver Not Loaded",
                      KILN_NVML_ERROR_DRIVER_NOT_LOADED);
}

/* ---- symbol resolution ---- */

static void test_new_driver_symbols(void **state) {
  char why[512];
  struct kiln_nvml *nv = kiln_nvml_open(why, sizeof why);
  assert_non_null(nv);
  assert_string_equal(nv->compute_running_processes_used,
                      "nvmlDeviceGetComputeRunningProcesses_v3");
  assert_string_equal(nv->clocks_event_reasons_used,
                      "nvmlDeviceGetCurrentClocksEventReasons");
  assert_non_null(nv->device_get_remapped_rows);
  assert_non_null(nv->system_get_cuda_driver_version);
  assert_non_null(nv->device_get_pcie_replay_counter);
  /* Not exported by the fake: optional, so NULL and still open. */
  assert_null(nv->system_get_nvml_version);
  assert_null(nv->device_get_retired_pages_v2);
  assert_non_null(nv->device_get_retired_pages);
  kiln_nvml_device dev;
  assert_int_equal(nv->device_get_handle_by_pci_bus_id(BUS, &dev), 0);
  unsigned int n = 99;
  setenv("FAKE_DBE_PAGES", "2", 1);
  assert_int_equal(
      kiln_nvml_retired_page_count(nv, dev, KILN_NVML_RETIRE_DBE, &n), 0);
  assert_int_equal(n, 2);
  kiln_nvml_close(nv);
}

static void test_old_driver_fallbacks(void **state) {
  setenv("KILN_NVML_LIB", fake_driver.lib_old, 1);
  char why[512];
  struct kiln_nvml *nv = kiln_nvml_open(why, sizeof why); /* nvmlInit */
  assert_non_null(nv);
  assert_string_equal(nv->compute_running_processes_used,
                      "nvmlDeviceGetComputeRunningProcesses_v2");
  assert_string_equal(nv->clocks_event_reasons_used,
                      "nvmlDeviceGetCurrentClocksThrottleReasons");
  assert_null(nv->device_get_remapped_rows);
  assert_null(nv->system_get_cuda_driver_version);
  kiln_nvml_close(nv);

  /* gpu.health on it: _v2 processes found, remapped rows unsupported. */
  setenv("FAKE_PROCS", "1", 1);
  struct captured c;
  run_health(NULL, &c);
  char msg[512];
  assert_int_equal(harness_fail_symptom(&c, "gpu-not-idle", msg, sizeof msg),
                   1);
  assert_non_null(strstr(msg, "pid 2000"));
  assert_true(
      harness_logged(&c, "remapped rows: not supported by this driver"));
  harness_free(&c);
}

/* ---- gpu.health's judgement ---- */

static void test_healthy_gpu_passes(void **state) {
  struct captured c;
  run_health(NULL, &c);
  assert_int_equal(harness_fail_diagnoses(&c, NULL, 0), 0);
  assert_int_equal(harness_end_verdict(&c), KILN_PASS);
  const struct kiln_wire_event *m = harness_measurement(&c, "pcie_gen", BUS);
  assert_non_null(m);
  assert_true(m->value == 5);
  m = harness_measurement(&c, "power_w", BUS);
  assert_non_null(m);
  assert_true(m->value > 71.4 && m->value < 71.6);
  assert_non_null(harness_measurement(&c, "temperature_c", BUS));
  assert_non_null(harness_measurement(&c, "retired_pages", BUS));
  assert_non_null(harness_measurement(&c, "remapped_rows_pending", BUS));
  assert_true(harness_logged(&c, "driver 550.54.15, CUDA driver API 12.4"));
  harness_free(&c);
}

static void expect_fail(const char *var, const char *value, const char *symptom,
                        const char *needle) {
  setenv(var, value, 1);
  struct captured c;
  run_health(NULL, &c);
  char msg[512] = "";
  assert_int_equal(harness_fail_symptom(&c, symptom, msg, sizeof msg), 1);
  assert_int_equal(harness_fail_diagnoses(&c, NULL, 0), 1);
  /* Every FAIL names the GPU: bus id and model. */
  assert_non_null(strstr(msg, "GPU " BUS " (NVIDIA H100 80GB HBM3)"));
  assert_non_null(strstr(msg, needle));
  harness_free(&c);
  unsetenv(var);
}

static void test_unhealthy_values_fail(void **state) {
  expect_fail("FAKE_PAGES_PENDING", "1", "gpu-retired-pages-pending",
              "page retirement pending");
  expect_fail("FAKE_ROWS_PENDING", "1", "gpu-row-remap-pending",
              "row remapping pending");
  expect_fail("FAKE_ROWS_FAILED", "1", "gpu-row-remap-failed",
              "row remapping has failed");
  expect_fail("FAKE_ECC", "0", "gpu-ecc-disabled", "ECC is disabled");
  expect_fail("FAKE_INFOROM_RC", "14", "gpu-inforom-corrupted", "InfoROM");
  expect_fail("FAKE_PROCS", "2", "gpu-not-idle", "2 other processes");
  expect_fail("FAKE_PROCS", "40", "gpu-not-idle", "40 other processes");
  expect_fail("FAKE_WIDTH", "8", "gpu-pcie-width", "x8, expected x16");
}

/* ---- clock-event reasons: one table, judged when held ---- */

static void test_clock_reason_table(void **state) {
  unsigned long long all = 0, protecting = 0;
  for (size_t i = 0; i < KILN_NVML_CLOCK_REASONS; i++) {
    const struct kiln_nvml_clock_reason *r = &kiln_nvml_clock_reasons[i];
    assert_true(r->bit == 1ULL << i); /* in bit order, none missing */
    all |= r->bit;
    if (r->protecting)
      protecting |= r->bit;
  }
  assert_true(all == 0x1ff);
  assert_true(protecting == KILN_NVML_CLOCKS_PROTECTING);
  assert_true(KILN_NVML_CLOCKS_PROTECTING ==
              (KILN_NVML_CLOCKS_HW_SLOWDOWN | KILN_NVML_CLOCKS_SW_THERMAL |
               KILN_NVML_CLOCKS_HW_THERMAL | KILN_NVML_CLOCKS_HW_POWER_BRAKE));
  char buf[256];
  kiln_nvml_clock_reasons_text(0, buf, sizeof buf);
  assert_string_equal(buf, "none");
  kiln_nvml_clock_reasons_text(KILN_NVML_CLOCKS_SW_THERMAL |
                                   KILN_NVML_CLOCKS_HW_THERMAL,
                               buf, sizeof buf);
  assert_string_equal(buf, "SW thermal slowdown, HW thermal slowdown");
  kiln_nvml_clock_reasons_text(KILN_NVML_CLOCKS_HW_SLOWDOWN | 0x10000ULL, buf,
                               sizeof buf);
  assert_string_equal(buf, "HW slowdown, other (0x10000)");
  kiln_nvml_clock_reasons_text(0x1ff, buf, 12); /* truncated, terminated */
  assert_true(strlen(buf) < 12);
}

static void test_hold(void **state) {
  struct kiln_nvml_hold h;
  const unsigned long long slow = KILN_NVML_CLOCKS_HW_SLOWDOWN;
  kiln_nvml_hold_init(&h, KILN_NVML_CLOCKS_PROTECTING, 2.0);
  /* Reasons not watched are no run. */
  assert_false(kiln_nvml_hold_feed(&h, 0, KILN_NVML_CLOCKS_SW_POWER_CAP));
  assert_false(h.active);
  /* 1.5 s of it, then gone: never held. */
  for (int i = 0; i <= 3; i++)
    assert_false(kiln_nvml_hold_feed(&h, 1.0 + 0.5 * i, slow));
  assert_false(kiln_nvml_hold_feed(&h, 3.0, KILN_NVML_CLOCKS_GPU_IDLE));
  assert_int_equal(h.held, 0);
  /* From 4.0 s: holds at 6.0 s, and the first run is kept up to date. */
  assert_false(kiln_nvml_hold_feed(&h, 4.0, slow));
  assert_false(kiln_nvml_hold_feed(&h, 5.0, KILN_NVML_CLOCKS_HW_THERMAL));
  assert_true(kiln_nvml_hold_feed(&h, 6.0, slow));
  assert_false(kiln_nvml_hold_feed(&h, 7.0, slow)); /* still the same run */
  assert_int_equal(h.held, 1);
  assert_true(h.first_since == 4.0 && h.first_for == 3.0);
  assert_int_equal(h.first_samples, 4);
  assert_true(h.first_bits == (slow | KILN_NVML_CLOCKS_HW_THERMAL));
  /* A second run that holds is counted; the first stays described. */
  kiln_nvml_hold_feed(&h, 8.0, 0);
  kiln_nvml_hold_feed(&h, 9.0, slow);
  assert_true(kiln_nvml_hold_feed(&h, 11.0, slow));
  assert_int_equal(h.held, 2);
  assert_true(h.first_since == 4.0 && h.first_for == 3.0);
  /* Hold 0: one sample holds. */
  kiln_nvml_hold_init(&h, KILN_NVML_CLOCKS_HW_POWER_BRAKE, 0);
  assert_false(kiln_nvml_hold_feed(&h, 1.0, slow)); /* not watched */
  assert_true(kiln_nvml_hold_feed(&h, 2.0, KILN_NVML_CLOCKS_HW_POWER_BRAKE));
}

/* gpu.health at idle: a protecting reason is sampled over `hold`; it fails
 * only when every sample shows it. FAKE_REASONS lists answer in turn. */
static void test_health_slowdown_needs_a_hold(void **state) {
  static const char *const quick[] = {"hold", "0.2s", NULL};
  static const struct {
    const char *reasons, *needle;
  } held[] = {
      {"0x9", "HW slowdown held for 0.2 s (5 samples in a row; allowed: "
              "under 0.2 s)"},
      {"0x40", "HW thermal slowdown held"},
      {"0x20", "SW thermal slowdown held"},
      {"0x80", "HW power brake slowdown held"},
  };
  struct captured c;
  char msg[512];
  for (size_t i = 0; i < sizeof held / sizeof *held; i++) {
    setenv("FAKE_REASONS", held[i].reasons, 1);
    run_health(quick, &c);
    assert_int_equal(
        harness_fail_symptom(&c, "gpu-clock-slowdown", msg, sizeof msg), 1);
    assert_int_equal(harness_fail_diagnoses(&c, NULL, 0), 1);
    assert_non_null(strstr(msg, "GPU " BUS " (NVIDIA H100 80GB HBM3): clocks "
                                "slowed at idle: "));
    if (!strstr(msg, held[i].needle))
      fail_msg("%s: '%s'", held[i].reasons, msg);
    harness_free(&c);
  }
  /* One sample of HW slowdown (a P-state change), then idle: passes. */
  setenv("FAKE_REASONS", "0x9,0x1", 1);
  run_health(quick, &c);
  assert_int_equal(harness_fail_diagnoses(&c, NULL, 0), 0);
  assert_int_equal(harness_end_verdict(&c), KILN_PASS);
  assert_true(
      harness_logged(&c, "HW slowdown at idle in 1 of 5 samples over 0.2 s, "
                         "not held: not judged"));
  harness_free(&c);
  /* All but the last sample: still not held. */
  setenv("FAKE_REASONS", "0x8,0x8,0x8,0x8,0x0", 1);
  run_health(quick, &c);
  assert_int_equal(harness_end_verdict(&c), KILN_PASS);
  assert_true(harness_logged(&c, "in 4 of 5 samples"));
  harness_free(&c);
  /* Hold 0: the one sample decides. */
  static const char *const now[] = {"hold", "0", NULL};
  setenv("FAKE_REASONS", "0x8,0x0", 1);
  run_health(now, &c);
  assert_int_equal(harness_fail_symptom(&c, "gpu-clock-slowdown", NULL, 0), 1);
  harness_free(&c);
  /* A bad hold is an ERROR naming it. */
  static const char *const bad[] = {"hold", "forever", NULL};
  run_health(bad, &c);
  assert_int_equal(harness_end_verdict(&c), KILN_ERROR);
  assert_non_null(strstr(c.events[c.n - 1].message, "hold"));
  harness_free(&c);
}

/* HGX: the NVSwitch fabric registration. */
static void test_health_fabric(void **state) {
  struct captured c;
  char msg[512];
  run_health(NULL, &c); /* the fake's default: completed, success */
  assert_int_equal(harness_end_verdict(&c), KILN_PASS);
  assert_true(harness_logged(&c, "NVSwitch fabric registration completed"));
  harness_free(&c);

  setenv("FAKE_FABRIC_STATE", "2", 1);
  run_health(NULL, &c);
  assert_int_equal(harness_fail_symptom(&c, "gpu-fabric", msg, sizeof msg), 1);
  assert_string_equal(msg, "GPU " BUS " (NVIDIA H100 80GB HBM3): NVSwitch "
                           "fabric registration in progress, expected "
                           "completed (fabric manager not running?)");
  harness_free(&c);
  setenv("FAKE_FABRIC_STATE", "1", 1);
  run_health(NULL, &c);
  assert_int_equal(harness_fail_symptom(&c, "gpu-fabric", msg, sizeof msg), 1);
  assert_non_null(strstr(msg, "not started"));
  harness_free(&c);

  /* Completed with an error status. */
  setenv("FAKE_FABRIC_STATE", "3", 1);
  setenv("FAKE_FABRIC_STATUS", "999", 1);
  run_health(NULL, &c);
  assert_int_equal(harness_fail_symptom(&c, "gpu-fabric", msg, sizeof msg), 1);
  assert_non_null(strstr(msg, "registration failed: Unknown Error (fabric "
                              "manager not running?)"));
  harness_free(&c);

  /* No NVSwitch: logged only. */
  setenv("FAKE_FABRIC", "unsupported", 1);
  run_health(NULL, &c);
  assert_int_equal(harness_end_verdict(&c), KILN_PASS);
  assert_true(harness_logged(&c, "no NVSwitch fabric"));
  harness_free(&c);

  /* An older driver: the unversioned call (nvmlGpuFabricInfo_t). */
  unsetenv("FAKE_FABRIC");
  unsetenv("FAKE_FABRIC_STATUS");
  setenv("KILN_NVML_LIB", fake_driver.lib_old, 1);
  setenv("FAKE_FABRIC_STATE", "2", 1);
  run_health(NULL, &c);
  assert_int_equal(harness_fail_symptom(&c, "gpu-fabric", msg, sizeof msg), 1);
  harness_free(&c);
  unsetenv("FAKE_FABRIC_STATE");
  run_health(NULL, &c);
  assert_int_equal(harness_fail_symptom(&c, "gpu-fabric", NULL, 0), 0);
  assert_true(harness_logged(&c, "NVSwitch fabric registration completed"));
  harness_free(&c);
}

static void test_remapped_rows_pending_measured(void **state) {
  setenv("FAKE_ROWS_PENDING", "1", 1);
  struct captured c;
  run_health(NULL, &c);
  const struct kiln_wire_event *m =
      harness_measurement(&c, "remapped_rows_pending", BUS);
  assert_non_null(m);
  assert_true(m->value == 1);
  harness_free(&c);
}

static void test_pcie_gen(void **state) {
  struct captured c;
  char msg[512];
  /* Below the link's maximum while busy: FAIL. */
  setenv("FAKE_REASONS", "0", 1);
  setenv("FAKE_GEN", "3", 1);
  run_health(NULL, &c);
  assert_int_equal(harness_fail_symptom(&c, "gpu-pcie-speed", msg, sizeof msg),
                   1);
  assert_non_null(strstr(msg, "Gen3, expected Gen5"));
  assert_non_null(strstr(msg, BUS));
  harness_free(&c);

  /* While idle the link may be power-managed down: a warning only. */
  setenv("FAKE_REASONS", "1", 1);
  run_health(NULL, &c);
  assert_int_equal(harness_fail_diagnoses(&c, NULL, 0), 0);
  assert_true(harness_logged(&c, "while the GPU idles"));
  harness_free(&c);

  /* The SKU's generation above what the slot can reach: FAIL even idle. */
  setenv("FAKE_GEN", "4", 1);
  setenv("FAKE_MAX_GEN", "4", 1);
  static const char *const gen5[] = {"pcie_gen", "5", NULL};
  run_health(gen5, &c);
  assert_int_equal(harness_fail_symptom(&c, "gpu-pcie-speed", msg, sizeof msg),
                   1);
  assert_non_null(strstr(msg, "only Gen4"));
  harness_free(&c);

  /* Malformed parameter: ERROR naming it. */
  static const char *const bad[] = {"pcie_width", "wide", NULL};
  run_health(bad, &c);
  assert_int_equal(harness_end_verdict(&c), KILN_ERROR);
  harness_free(&c);
}

static void test_unknown_gpu(void **state) {
  /* The fake knows only BUS; run_health targets BUS, so ask NVML directly
   * for another one through the loader. */
  char why[512];
  struct kiln_nvml *nv = kiln_nvml_open(why, sizeof why);
  assert_non_null(nv);
  kiln_nvml_device dev;
  assert_int_equal(nv->device_get_handle_by_pci_bus_id("0000:99:00.0", &dev),
                   KILN_NVML_ERROR_NOT_FOUND);
  kiln_nvml_close(nv);
}

/* ---- telemetry ---- */

struct seen {
  char ids[16][80];
  double values[16], max[16];
  size_t n;
};

static void collect(void *ctx, const struct kiln_tel_reading *r) {
  struct seen *s = ctx;
  if (s->n < 16) {
    snprintf(s->ids[s->n], sizeof s->ids[0], "%s", r->id);
    s->values[s->n] = r->value;
    s->max[s->n] = r->max;
    s->n++;
  }
}

static double value_of(const struct seen *s, const char *id, double *max) {
  for (size_t i = 0; i < s->n; i++)
    if (strcmp(s->ids[i], id) == 0) {
      if (max)
        *max = s->max[i];
      return s->values[i];
    }
  return -1;
}

/* The label of the sampler's nvml reading of GPU 0000:1b:00.0's
 * temperature, into ctx (64 bytes). */
static void temp_label(void *ctx, const struct kiln_tel_reading *r) {
  if (strcmp(r->source, "nvml") == 0 &&
      strcmp(r->id, "gpu0000:1b:00.0/temp") == 0)
    snprintf(ctx, 64, "%s", r->label);
}

static void test_telemetry(void **state) {
  setenv("FAKE_REASONS", "0x48", 1); /* HW slowdown + HW thermal */
  char crc[] = "/tmp/kiln-nvlink-crc-XXXXXX";
  int fd = mkstemp(crc);
  assert_true(fd >= 0);
  assert_int_equal(write(fd, "5\n", 2), 2);
  close(fd);
  setenv("FAKE_NVLINK_CRC_FILE", crc, 1);
  const struct kiln_tel_source *src = kiln_tel_source_find("nvml");
  char why[256];
  void *st = src->open(why, sizeof why);
  assert_non_null(st);
  struct seen s = {0};
  size_t n = src->sample(st, collect, &s);
  /* The fake has no PCIe replay count without FAKE_PCIE_REPLAY_FILE: 10
   * of 11. */
  assert_int_equal(n, 10);
  double max = 0;
  assert_true(value_of(&s, "gpu0000:1b:00.0/temp", &max) == 34);
  assert_true(max == 87);
  assert_true(value_of(&s, "gpu0000:1b:00.0/power", NULL) == 71.5);
  assert_true(value_of(&s, "gpu0000:1b:00.0/sm_clock", NULL) == 345);
  assert_true(value_of(&s, "gpu0000:1b:00.0/mem_clock", NULL) == 2619);
  assert_true(value_of(&s, "gpu0000:1b:00.0/ecc_corrected", NULL) == 3);
  assert_true(value_of(&s, "gpu0000:1b:00.0/ecc_uncorrected", NULL) == 0);
  assert_true(value_of(&s, "gpu0000:1b:00.0/slowdown_reasons", NULL) == 2);
  assert_true(value_of(&s, "gpu0000:1b:00.0/clock_event_reasons", NULL) ==
              0x48);
  assert_true(value_of(&s, "gpu0000:1b:00.0/nvlink_crc", NULL) == 5);
  assert_true(value_of(&s, "gpu0000:1b:00.0/nvlink_replay", NULL) == 0);
  assert_true(value_of(&s, "gpu0000:1b:00.0/pcie_replay", NULL) == -1);
  src->close(st);
  unlink(crc);
  unsetenv("FAKE_NVLINK_CRC_FILE");

  /* Through the sampler, by name. */
  struct kiln_telemetry tel;
  assert_int_equal(kiln_telemetry_open(&tel, "nvml"), 1);
  char label[64] = "";
  assert_int_equal(kiln_telemetry_sample(&tel, 1.0, temp_label, label), 10);
  assert_string_equal(label, "GPU 0000:1b:00.0 temp");
  kiln_telemetry_close(&tel);
}

struct xids {
  char hwid[32], text[96], source[16];
  unsigned long long code;
  size_t n;
};

static void collect_xid(void *ctx, const struct kiln_tel_event *e) {
  struct xids *x = ctx;
  snprintf(x->hwid, sizeof x->hwid, "%s", e->hwid);
  snprintf(x->text, sizeof x->text, "%s", e->text);
  snprintf(x->source, sizeof x->source, "%s", e->source);
  x->code = e->code;
  x->n++;
}

/* A GPU event lands on the steps running on that GPU; else on a running
 * host step of a gpu.* module; else nowhere (the thermal monitor). */
static void test_xid_attribution(void **state) {
  struct kiln_step_result steps[] = {
      {.module = "gpu.memtest",
       .target = "0000:1b:00.0",
       .state = KILN_STEP_DONE,
       .phase = 1},
      {.module = "gpu.membw",
       .target = "0000:1b:00.0",
       .state = KILN_STEP_RUNNING,
       .phase = 2},
      {.module = "gpu.membw",
       .target = "0000:3a:00.0",
       .state = KILN_STEP_RUNNING,
       .phase = 2},
      {.module = "cpu.compute",
       .target = "host",
       .state = KILN_STEP_RUNNING,
       .phase = 2},
      {.module = "thermal",
       .target = "host",
       .state = KILN_STEP_RUNNING,
       .phase = KILN_MONITOR_PHASE},
      {.module = "gpu.p2p",
       .target = "host",
       .state = KILN_STEP_PENDING,
       .phase = 3},
  };
  struct kiln_run run = {.steps = steps,
                         .n_steps = sizeof steps / sizeof *steps};
  size_t out[4];
  assert_int_equal(kiln_sampler_steps_on_gpu(&run, "0000:1b:00.0", out, 4), 1);
  assert_int_equal(out[0], 1);
  assert_int_equal(kiln_sampler_steps_on_gpu(&run, "0000:9a:00.0", out, 4), 0);
  steps[5].state = KILN_STEP_RUNNING;
  assert_int_equal(kiln_sampler_steps_on_gpu(&run, "0000:9a:00.0", out, 4), 1);
  assert_int_equal(out[0], 5);
  /* A step on the GPU itself wins over the host-wide one. */
  assert_int_equal(kiln_sampler_steps_on_gpu(&run, "0000:3a:00.0", out, 4), 1);
  assert_int_equal(out[0], 2);
}

/* An XID the driver reports arrives once, named, on its GPU; none
 * otherwise; an old driver without events opens with a warning. */
static void test_xid_events(void **state) {
  char file[] = "/tmp/kiln-xid-XXXXXX";
  int fd = mkstemp(file);
  assert_true(fd >= 0);
  close(fd);
  setenv("FAKE_XID_FILE", file, 1);
  struct kiln_telemetry tel;
  assert_int_equal(kiln_telemetry_open(&tel, "nvml"), 1);
  struct xids x = {0};
  assert_int_equal(kiln_telemetry_events(&tel, collect_xid, &x), 0);
  FILE *f = fopen(file, "w");
  assert_non_null(f);
  fputs("79\n", f);
  fclose(f);
  assert_int_equal(kiln_telemetry_events(&tel, collect_xid, &x), 1);
  assert_int_equal(x.n, 1);
  assert_int_equal(x.code, 79);
  assert_string_equal(x.hwid, BUS);
  assert_string_equal(x.source, "nvml");
  assert_string_equal(x.text, "GPU has fallen off the bus");
  assert_int_equal(kiln_telemetry_events(&tel, collect_xid, &x), 0);
  kiln_telemetry_close(&tel);
  assert_string_equal(kiln_nvml_xid_text(48), "double-bit ECC error");
  assert_string_equal(kiln_nvml_xid_text(999999), "see NVIDIA's XID catalog");

  setenv("KILN_NVML_LIB", fake_driver.lib_old, 1);
  const struct kiln_tel_source *src = kiln_tel_source_find("nvml");
  char why[256] = "";
  void *st = src->open(why, sizeof why);
  assert_non_null(st);
  assert_string_equal(why, "NVML: XID events not supported by this driver: "
                           "XIDs are not watched");
  src->close(st);
  unsetenv("FAKE_XID_FILE");
  unlink(file);
}

int main(void) {
  cmocka_set_message_output(CM_OUTPUT_TAP);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup(test_missing_library, reset_env),
      cmocka_unit_test_setup(test_library_without_symbols, reset_env),
      cmocka_unit_test_setup(test_library_not_an_elf, reset_env),
      cmocka_unit_test_setup(test_init_fails, reset_env),
      cmocka_unit_test_setup(test_new_driver_symbols, reset_env),
      cmocka_unit_test_setup(test_old_driver_fallbacks, reset_env),
      cmocka_unit_test_setup(test_healthy_gpu_passes, reset_env),
      cmocka_unit_test_setup(test_unhealthy_values_fail, reset_env),
      cmocka_unit_test(test_clock_reason_table),
      cmocka_unit_test(test_hold),
      cmocka_unit_test_setup(test_health_slowdown_needs_a_hold, reset_env),
      cmocka_unit_test_setup(test_health_fabric, reset_env),
      cmocka_unit_test_setup(test_remapped_rows_pending_measured, reset_env),
      cmocka_unit_test_setup(test_pcie_gen, reset_env),
      cmocka_unit_test_setup(test_unknown_gpu, reset_env),
      cmocka_unit_test_setup(test_telemetry, reset_env),
      cmocka_unit_test_setup(test_xid_events, reset_env),
      cmocka_unit_test(test_xid_attribution),
  };
  return cmocka_run_group_tests(tests, build_fake, remove_fake);
}
