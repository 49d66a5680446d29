/* gpu.health: each GPU's health as the driver (NVML) sees it at idle,
 * before any stress: ECC on, no pending page retirement or row remapping,
 * a valid InfoROM, nobody else on the GPU, no slowdown of the GPU
 * protecting itself held for `hold` seconds, the NVSwitch fabric
 * registered (HGX), and the PCIe link at the generation and width
 * expected. Versions, persistence and MIG mode are logged. Needs no CUDA:
 * NVML is loaded at run time, and without it the step is an ERROR with the
 * loader's reason. It runs in a phase of its own before any module opens
 * a CUDA context (every built-in profile), which would show as another
 * process on the GPU and change its P-state. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "kiln/gpu_access.h"
#include "kiln/gpu_enum.h"
#include "kiln/module.h"
#include "kiln/nvml.h"
#include "kiln/result.h"
#include "kiln/step.h"

#define UNSUPPORTED "not supported by this driver"
/* A protecting clock-event reason seen at idle is sampled this many times
 * over `hold` seconds, the first included. */
#define HOLD_SAMPLES 5
#define MAX_HOLD_S 60.0

struct gpu {
  struct kiln_step *s;
  struct kiln_nvml *nv;
  kiln_nvml_device dev;
  const char *bus;
  char name[KILN_NVML_STRING_SIZE];
};

static const char *err(const struct gpu *g, kiln_nvml_return rc) {
  return kiln_nvml_error(g->nv, rc);
}

static bool gpu_health_available(char *why, size_t n) {
  char ids[64][16];
  size_t count = kiln_gpu_enumerate(ids, 64);
  if (count == 0) {
    snprintf(why, n, "no NVIDIA GPU found on the PCI bus");
    return false;
  }
  snprintf(why, n, "%zu NVIDIA GPU%s, through NVML", count,
           count == 1 ? "" : "s");
  return true;
}

static void log_versions(struct gpu *g) {
  char driver[KILN_NVML_STRING_SIZE] = "?", nvml[KILN_NVML_STRING_SIZE] = "?";
  char cuda[32] = "?";
  if (g->nv->system_get_driver_version &&
      g->nv->system_get_driver_version(driver, sizeof driver) !=
          KILN_NVML_SUCCESS)
    snprintf(driver, sizeof driver, "?");
  if (g->nv->system_get_nvml_version &&
      g->nv->system_get_nvml_version(nvml, sizeof nvml) != KILN_NVML_SUCCESS)
    snprintf(nvml, sizeof nvml, "?");
  int v = 0;
  if (g->nv->system_get_cuda_driver_version &&
      g->nv->system_get_cuda_driver_version(&v) == KILN_NVML_SUCCESS && v > 0)
    snprintf(cuda, sizeof cuda, "%d.%d", v / 1000, (v % 1000) / 10);
  driver[sizeof driver - 1] = nvml[sizeof nvml - 1] = '\0';
  kiln_emit_log(g->s, KILN_SEV_INFO,
                "GPU %s (%s): driver %s, CUDA driver API %s, NVML %s", g->bus,
                g->name, driver, cuda, nvml);
}

static void check_persistence(struct gpu *g) {
  int mode = 0;
  if (!g->nv->device_get_persistence_mode) {
    kiln_emit_log(g->s, KILN_SEV_INFO, "GPU %s: persistence mode: %s", g->bus,
                  UNSUPPORTED);
    return;
  }
  kiln_nvml_return rc = g->nv->device_get_persistence_mode(g->dev, &mode);
  if (rc != KILN_NVML_SUCCESS)
    kiln_emit_log(g->s, KILN_SEV_INFO, "GPU %s: persistence mode: %s", g->bus,
                  err(g, rc));
  else if (mode == KILN_NVML_FEATURE_ENABLED)
    kiln_emit_log(g->s, KILN_SEV_INFO, "GPU %s: persistence mode on", g->bus);
  else
    kiln_emit_log(g->s, KILN_SEV_WARNING,
                  "GPU %s (%s): persistence mode off: the driver tears the "
                  "GPU down between clients (nvidia-persistenced not running?)",
                  g->bus, g->name);
}

static void check_ecc(struct gpu *g) {
  if (!g->nv->device_get_ecc_mode) {
    kiln_emit_log(g->s, KILN_SEV_WARNING, "GPU %s: ECC mode: %s", g->bus,
                  UNSUPPORTED);
    return;
  }
  int cur = 0, pend = 0;
  kiln_nvml_return rc = g->nv->device_get_ecc_mode(g->dev, &cur, &pend);
  if (rc == KILN_NVML_ERROR_NOT_SUPPORTED) {
    kiln_emit_log(g->s, KILN_SEV_INFO, "GPU %s: this GPU has no ECC", g->bus);
    return;
  }
  if (rc != KILN_NVML_SUCCESS) {
    kiln_emit_log(g->s, KILN_SEV_WARNING, "GPU %s: ECC mode: %s", g->bus,
                  err(g, rc));
    return;
  }
  if (cur != KILN_NVML_FEATURE_ENABLED)
    kiln_emit_diagnosis(
        g->s, KILN_DIAG_FAIL, "gpu-ecc-disabled", g->bus,
        "GPU %s (%s): ECC is disabled (expected enabled)%s", g->bus, g->name,
        pend == KILN_NVML_FEATURE_ENABLED ? "; enabled pending a reset" : "");
  else if (pend != KILN_NVML_FEATURE_ENABLED)
    kiln_emit_log(g->s, KILN_SEV_WARNING,
                  "GPU %s (%s): ECC will be disabled at the next reset", g->bus,
                  g->name);
}

static void check_retired_pages(struct gpu *g) {
  if (!g->nv->device_get_retired_pages_v2 && !g->nv->device_get_retired_pages) {
    kiln_emit_log(g->s, KILN_SEV_INFO, "GPU %s: retired pages: %s", g->bus,
                  UNSUPPORTED);
  } else {
    unsigned int sbe = 0, dbe = 0;
    kiln_nvml_return r1 = kiln_nvml_retired_page_count(
        g->nv, g->dev, KILN_NVML_RETIRE_MULTIPLE_SBE, &sbe);
    kiln_nvml_return r2 =
        kiln_nvml_retired_page_count(g->nv, g->dev, KILN_NVML_RETIRE_DBE, &dbe);
    if (r1 == KILN_NVML_SUCCESS && r2 == KILN_NVML_SUCCESS) {
      kiln_emit_measurement(g->s, "retired_pages", (double)sbe + dbe, g->bus);
      if (sbe + dbe)
        kiln_emit_log(g->s, KILN_SEV_WARNING,
                      "GPU %s (%s): %u page(s) retired for single-bit errors, "
                      "%u for double-bit errors",
                      g->bus, g->name, sbe, dbe);
    } else {
      /* Row remapping replaced page retirement on Ampere and newer. */
      kiln_emit_log(g->s, KILN_SEV_INFO, "GPU %s: retired pages: %s", g->bus,
                    err(g, r1 != KILN_NVML_SUCCESS ? r1 : r2));
    }
  }
  if (!g->nv->device_get_retired_pages_pending_status)
    return;
  int pending = 0;
  kiln_nvml_return rc =
      g->nv->device_get_retired_pages_pending_status(g->dev, &pending);
  if (rc == KILN_NVML_SUCCESS && pending == KILN_NVML_FEATURE_ENABLED)
    kiln_emit_diagnosis(g->s, KILN_DIAG_FAIL, "gpu-retired-pages-pending",
                        g->bus,
                        "GPU %s (%s): page retirement pending: the GPU needs "
                        "a reset before it can be used",
                        g->bus, g->name);
}

static void check_remapped_rows(struct gpu *g) {
  if (!g->nv->device_get_remapped_rows) {
    kiln_emit_log(g->s, KILN_SEV_INFO, "GPU %s: remapped rows: %s", g->bus,
                  UNSUPPORTED);
    return;
  }
  unsigned int corr = 0, unc = 0, pending = 0, failed = 0;
  kiln_nvml_return rc =
      g->nv->device_get_remapped_rows(g->dev, &corr, &unc, &pending, &failed);
  if (rc != KILN_NVML_SUCCESS) {
    kiln_emit_log(g->s, KILN_SEV_INFO, "GPU %s: remapped rows: %s", g->bus,
                  err(g, rc));
    return;
  }
  kiln_emit_measurement(g->s, "remapped_rows_pending", pending ? 1 : 0, g->bus);
  if (corr || unc)
    kiln_emit_log(g->s, KILN_SEV_WARNING,
                  "GPU %s (%s): %u row(s) remapped for correctable errors, %u "
                  "for uncorrectable",
                  g->bus, g->name, corr, unc);
  if (failed)
    kiln_emit_diagnosis(g->s, KILN_DIAG_FAIL, "gpu-row-remap-failed", g->bus,
                        "GPU %s (%s): a row remapping has failed (%u "
                        "correctable, %u uncorrectable remapped): replace the "
                        "GPU",
                        g->bus, g->name, corr, unc);
  if (pending)
    kiln_emit_diagnosis(g->s, KILN_DIAG_FAIL, "gpu-row-remap-pending", g->bus,
                        "GPU %s (%s): row remapping pending: the GPU needs a "
                        "reset",
                        g->bus, g->name);
}

static void check_inforom(struct gpu *g) {
  if (!g->nv->device_validate_inforom) {
    kiln_emit_log(g->s, KILN_SEV_INFO, "GPU %s: InfoROM check: %s", g->bus,
                  UNSUPPORTED);
    return;
  }
  kiln_nvml_return rc = g->nv->device_validate_inforom(g->dev);
  if (rc == KILN_NVML_SUCCESS)
    return;
  if (rc == KILN_NVML_ERROR_CORRUPTED_INFOROM)
    kiln_emit_diagnosis(g->s, KILN_DIAG_FAIL, "gpu-inforom-corrupted", g->bus,
                        "GPU %s (%s): InfoROM is corrupted", g->bus, g->name);
  else
    kiln_emit_log(g->s, KILN_SEV_INFO, "GPU %s: InfoROM check: %s", g->bus,
                  err(g, rc));
}

static void log_mig(struct gpu *g) {
  unsigned int cur = 0, pend = 0;
  if (!g->nv->device_get_mig_mode)
    return;
  kiln_nvml_return rc = g->nv->device_get_mig_mode(g->dev, &cur, &pend);
  if (rc == KILN_NVML_SUCCESS)
    kiln_emit_log(g->s, KILN_SEV_INFO, "GPU %s: MIG mode %s%s", g->bus,
                  cur ? "enabled" : "disabled",
                  cur != pend ? (pend ? " (enabled after reset)"
                                      : " (disabled after reset)")
                              : "");
}

static void check_processes(struct gpu *g) {
  if (!g->nv->device_get_compute_running_processes) {
    kiln_emit_log(g->s, KILN_SEV_WARNING, "GPU %s: running processes: %s",
                  g->bus, UNSUPPORTED);
    return;
  }
  struct kiln_nvml_process_info info[16];
  unsigned int n = 16;
  kiln_nvml_return rc =
      g->nv->device_get_compute_running_processes(g->dev, &n, info);
  if (rc != KILN_NVML_SUCCESS && rc != KILN_NVML_ERROR_INSUFFICIENT_SIZE) {
    kiln_emit_log(g->s, KILN_SEV_WARNING, "GPU %s: running processes: %s",
                  g->bus, err(g, rc));
    return;
  }
  /* On INSUFFICIENT_SIZE n is the full count and info holds nothing. */
  unsigned int listed = rc == KILN_NVML_SUCCESS && n <= 16 ? n : 0;
  char pids[160] = "";
  size_t used = 0;
  unsigned int others = 0;
  pid_t self = getpid();
  for (unsigned int i = 0; i < listed; i++) {
    if ((pid_t)info[i].pid == self)
      continue;
    others++;
    if (used < sizeof pids) {
      int w = snprintf(pids + used, sizeof pids - used, "%s%u",
                       used ? ", " : "", info[i].pid);
      used += w > 0 ? (size_t)w : 0;
    }
  }
  if (rc == KILN_NVML_ERROR_INSUFFICIENT_SIZE)
    others = n;
  if (others)
    kiln_emit_diagnosis(g->s, KILN_DIAG_FAIL, "gpu-not-idle", g->bus,
                        "GPU %s (%s): %u other process%s running on it%s%s%s "
                        "(expected an idle GPU)",
                        g->bus, g->name, others, others == 1 ? "" : "es",
                        pids[0] ? " (pid " : "", pids, pids[0] ? ")" : "");
}

/* Reads the reasons; false (logged) when NVML cannot. */
static bool read_reasons(struct gpu *g, unsigned long long *mask) {
  *mask = 0;
  if (!g->nv->device_get_clocks_event_reasons) {
    kiln_emit_log(g->s, KILN_SEV_INFO, "GPU %s: clock event reasons: %s",
                  g->bus, UNSUPPORTED);
    return false;
  }
  kiln_nvml_return rc = g->nv->device_get_clocks_event_reasons(g->dev, mask);
  if (rc != KILN_NVML_SUCCESS) {
    kiln_emit_log(g->s, KILN_SEV_INFO, "GPU %s: clock event reasons: %s",
                  g->bus, err(g, rc));
    return false;
  }
  return true;
}

static void sleep_s(double s) {
  struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
    ;
}

/* The GPU protecting itself at idle (HW slowdown, thermal, power brake)
 * fails only when held: a reason seen is sampled HOLD_SAMPLES times over
 * `hold` seconds and must show in every sample. Returns the first sample's
 * mask (0 when unknown). */
static unsigned long long check_clock_events(struct gpu *g, double hold) {
  unsigned long long mask;
  if (!read_reasons(g, &mask))
    return 0;
  char all[256];
  kiln_nvml_clock_reasons_text(mask, all, sizeof all);
  kiln_emit_log(g->s, KILN_SEV_INFO, "GPU %s: clock event reasons 0x%llx (%s)",
                g->bus, mask, all);
  struct kiln_nvml_hold h;
  kiln_nvml_hold_init(&h, KILN_NVML_CLOCKS_PROTECTING, hold);
  kiln_nvml_hold_feed(&h, 0, mask);
  if (!(mask & KILN_NVML_CLOCKS_PROTECTING))
    return mask;
  unsigned long long seen = mask & KILN_NVML_CLOCKS_PROTECTING;
  unsigned samples = 1, with = 1;
  if (!h.held) {
    kiln_nvml_clock_reasons_text(seen, all, sizeof all);
    kiln_emit_log(g->s, KILN_SEV_WARNING,
                  "GPU %s: %s at idle: sampling it over %.1f s (a brief one "
                  "is normal: power-excursion protection, P-state changes)",
                  g->bus, all, hold);
  }
  /* Nominal sample times, not the clock's: the verdict depends on what
   * the samples show, not on how long a sleep took. */
  for (int i = 1; i < HOLD_SAMPLES && !h.held; i++) {
    sleep_s(hold / (HOLD_SAMPLES - 1));
    kiln_emit_progress(g->s, 0.5);
    unsigned long long m;
    if (!read_reasons(g, &m))
      continue;
    samples++;
    with += (m & KILN_NVML_CLOCKS_PROTECTING) != 0;
    seen |= m & KILN_NVML_CLOCKS_PROTECTING;
    kiln_nvml_hold_feed(&h, hold * i / (HOLD_SAMPLES - 1), m);
  }
  if (h.held) {
    kiln_nvml_clock_reasons_text(h.first_bits, all, sizeof all);
    kiln_emit_diagnosis(g->s, KILN_DIAG_FAIL, "gpu-clock-slowdown", g->bus,
                        "GPU %s (%s): clocks slowed at idle: %s held for "
                        "%.1f s (%u sample%s in a row; allowed: under %.1f s)",
                        g->bus, g->name, all, h.first_for, h.first_samples,
                        h.first_samples == 1 ? "" : "s", hold);
  } else {
    kiln_nvml_clock_reasons_text(seen, all, sizeof all);
    kiln_emit_log(g->s, KILN_SEV_WARNING,
                  "GPU %s: %s at idle in %u of %u samples over %.1f s, not "
                  "held: not judged",
                  g->bus, all, with, samples, hold);
  }
  return mask;
}

/* HGX: the GPU's registration with the NVSwitch fabric (the fabric
 * manager's work), where the driver can tell; a GPU without NVSwitch
 * answers NOT_SUPPORTED and is only logged. */
static void check_fabric(struct gpu *g) {
  if (!g->nv->device_get_gpu_fabric_info_v &&
      !g->nv->device_get_gpu_fabric_info) {
    kiln_emit_log(g->s, KILN_SEV_INFO, "GPU %s: NVSwitch fabric state: %s",
                  g->bus, UNSUPPORTED);
    return;
  }
  unsigned state;
  kiln_nvml_return status;
  kiln_nvml_return rc = kiln_nvml_gpu_fabric(g->nv, g->dev, &state, &status);
  if (rc == KILN_NVML_ERROR_NOT_SUPPORTED ||
      (rc == KILN_NVML_SUCCESS &&
       state == KILN_NVML_GPU_FABRIC_STATE_NOT_SUPPORTED)) {
    kiln_emit_log(g->s, KILN_SEV_INFO,
                  "GPU %s: no NVSwitch fabric (not supported on this GPU)",
                  g->bus);
    return;
  }
  if (rc != KILN_NVML_SUCCESS) {
    kiln_step_error(g->s, "GPU %s: NVSwitch fabric state: %s", g->bus,
                    err(g, rc));
    return;
  }
  if (state != KILN_NVML_GPU_FABRIC_STATE_COMPLETED)
    kiln_emit_diagnosis(g->s, KILN_DIAG_FAIL, "gpu-fabric", g->bus,
                        "GPU %s (%s): NVSwitch fabric registration %s, "
                        "expected completed (fabric manager not running?)",
                        g->bus, g->name, kiln_nvml_fabric_state_name(state));
  else if (status != KILN_NVML_SUCCESS)
    kiln_emit_diagnosis(g->s, KILN_DIAG_FAIL, "gpu-fabric", g->bus,
                        "GPU %s (%s): NVSwitch fabric registration failed: "
                        "%s (fabric manager not running?)",
                        g->bus, g->name, err(g, status));
  else
    kiln_emit_log(g->s, KILN_SEV_INFO,
                  "GPU %s: NVSwitch fabric registration completed", g->bus);
}

/* The expected value: the parameter, or "max" for what the link allows. */
static bool expected(struct gpu *g, const char *param, unsigned int max,
                     bool have_max, unsigned int *out, bool *from_param) {
  const char *v = kiln_step_param(g->s, param);
  *from_param = false;
  if (!v || !*v || strcmp(v, "max") == 0) {
    *out = max;
    return have_max;
  }
  long l;
  if (!kiln_step_param_long(g->s, param, &l))
    return false;
  if (l < 1 || l > 64) {
    kiln_step_error(g->s, "parameter %s: %ld out of range", param, l);
    return false;
  }
  *out = (unsigned int)l;
  *from_param = true;
  return true;
}

static void check_pcie(struct gpu *g, unsigned long long reasons_mask) {
  struct kiln_nvml *nv = g->nv;
  unsigned int gen = 0, width = 0, max_gen = 0, max_width = 0;
  bool have_gen = nv->device_get_curr_pcie_link_generation &&
                  nv->device_get_curr_pcie_link_generation(g->dev, &gen) ==
                      KILN_NVML_SUCCESS;
  bool have_width =
      nv->device_get_curr_pcie_link_width &&
      nv->device_get_curr_pcie_link_width(g->dev, &width) == KILN_NVML_SUCCESS;
  bool have_max_gen = nv->device_get_max_pcie_link_generation &&
                      nv->device_get_max_pcie_link_generation(
                          g->dev, &max_gen) == KILN_NVML_SUCCESS;
  bool have_max_width = nv->device_get_max_pcie_link_width &&
                        nv->device_get_max_pcie_link_width(
                            g->dev, &max_width) == KILN_NVML_SUCCESS;
  unsigned int want_gen = 0, want_width = 0;
  bool gen_param, width_param;
  bool judge_gen =
      expected(g, "pcie_gen", max_gen, have_max_gen, &want_gen, &gen_param);
  if (kiln_step_ended(g->s))
    return;
  bool judge_width = expected(g, "pcie_width", max_width, have_max_width,
                              &want_width, &width_param);
  if (kiln_step_ended(g->s))
    return;
  if (have_gen)
    kiln_emit_measurement(g->s, "pcie_gen", gen, g->bus);
  if (have_width)
    kiln_emit_measurement(g->s, "pcie_width", width, g->bus);
  if (!have_gen || !have_width)
    kiln_emit_log(g->s, KILN_SEV_INFO, "GPU %s: PCIe link: %s", g->bus,
                  UNSUPPORTED);
  if (have_gen && judge_gen && gen < want_gen) {
    /* An idle GPU may clock its link down to save power; the link's
     * trained speed under load is then pcie.link's and the bandwidth
     * tests' to judge. The slot's own maximum is judged below. */
    if (reasons_mask & KILN_NVML_CLOCKS_GPU_IDLE)
      kiln_emit_log(g->s, KILN_SEV_WARNING,
                    "GPU %s (%s): PCIe link at Gen%u, expected Gen%u, while "
                    "the GPU idles (power management may have lowered it)",
                    g->bus, g->name, gen, want_gen);
    else
      kiln_emit_diagnosis(g->s, KILN_DIAG_FAIL, "gpu-pcie-speed", g->bus,
                          "GPU %s (%s): PCIe link at Gen%u, expected Gen%u%s",
                          g->bus, g->name, gen, want_gen,
                          gen_param ? "" : " (the link's maximum)");
  }
  if (gen_param && have_max_gen && max_gen < want_gen)
    kiln_emit_diagnosis(g->s, KILN_DIAG_FAIL, "gpu-pcie-speed", g->bus,
                        "GPU %s (%s): PCIe link can reach only Gen%u with "
                        "this slot, expected Gen%u",
                        g->bus, g->name, max_gen, want_gen);
  if (have_width && judge_width && width < want_width)
    kiln_emit_diagnosis(g->s, KILN_DIAG_FAIL, "gpu-pcie-width", g->bus,
                        "GPU %s (%s): PCIe link at x%u, expected x%u%s", g->bus,
                        g->name, width, want_width,
                        width_param ? "" : " (the link's maximum)");
}

static void measure_thermal_power(struct gpu *g) {
  unsigned int t = 0, mw = 0, limit = 0;
  if (g->nv->device_get_temperature &&
      g->nv->device_get_temperature(g->dev, KILN_NVML_TEMPERATURE_GPU, &t) ==
          KILN_NVML_SUCCESS)
    kiln_emit_measurement(g->s, "temperature_c", t, g->bus);
  if (g->nv->device_get_power_usage &&
      g->nv->device_get_power_usage(g->dev, &mw) == KILN_NVML_SUCCESS)
    kiln_emit_measurement(g->s, "power_w", mw / 1000.0, g->bus);
  if (g->nv->device_get_enforced_power_limit &&
      g->nv->device_get_enforced_power_limit(g->dev, &limit) ==
          KILN_NVML_SUCCESS)
    kiln_emit_log(g->s, KILN_SEV_INFO, "GPU %s: enforced power limit %.0f W",
                  g->bus, limit / 1000.0);
}

static void gpu_health_run(struct kiln_step *s) {
  char why[512];
  struct gpu g = {.s = s, .bus = kiln_step_target(s)};
  double hold;
  if (!kiln_step_param_seconds(s, "hold", &hold))
    return;
  g.nv = kiln_nvml_open(why, sizeof why);
  if (!g.nv) {
    /* The GPU is on the bus (else no step): no NVML is an ERROR. */
    kiln_step_error(s, "GPU %s: NVML: %s", g.bus, why);
    return;
  }
  kiln_nvml_return rc = g.nv->device_get_handle_by_pci_bus_id(g.bus, &g.dev);
  if (rc != KILN_NVML_SUCCESS) {
    if (rc == KILN_NVML_ERROR_NOT_FOUND || rc == KILN_NVML_ERROR_GPU_IS_LOST)
      kiln_emit_diagnosis(s, KILN_DIAG_FAIL, "gpu-lost", g.bus,
                          "GPU %s: on the PCI bus but the driver cannot use "
                          "it: %s",
                          g.bus, err(&g, rc));
    else
      kiln_step_error(s, "GPU %s: NVML handle: %s", g.bus, err(&g, rc));
    kiln_nvml_close(g.nv);
    return;
  }
  if (g.nv->device_get_name(g.dev, g.name, sizeof g.name) != KILN_NVML_SUCCESS)
    snprintf(g.name, sizeof g.name, "unknown model");
  g.name[sizeof g.name - 1] = '\0';
  log_versions(&g);
  check_persistence(&g);
  log_mig(&g);
  check_ecc(&g);
  check_retired_pages(&g);
  check_remapped_rows(&g);
  check_inforom(&g);
  check_processes(&g);
  check_fabric(&g);
  kiln_emit_progress(s, 0.5);
  unsigned long long mask =
      kiln_step_ended(s) ? 0 : check_clock_events(&g, hold);
  if (!kiln_step_ended(s))
    check_pcie(&g, mask);
  if (!kiln_step_ended(s)) {
    measure_thermal_power(&g);
    kiln_emit_progress(s, 1.0);
  }
  kiln_nvml_close(g.nv);
}

static const struct kiln_measurement_spec gpu_health_measurements[] = {
    {"retired_pages", "pages", "pages retired for ECC errors (pre-Ampere)"},
    {"remapped_rows_pending", "bool", "1 when a row remapping awaits a reset"},
    {"pcie_gen", "gen", "current PCIe link generation"},
    {"pcie_width", "lanes", "current PCIe link width"},
    {"temperature_c", "C", "GPU temperature at idle"},
    {"power_w", "W", "board power at idle"},
    {NULL, NULL, NULL},
};

static const struct kiln_param_spec gpu_health_params[] = {
    {"pcie_gen", "max",
     "expected PCIe generation (1-6), or max: the most the GPU and slot "
     "report",
     .kind = KILN_PARAM_INTEGER, .words = "max", .min = 1, .max = 6},
    {"pcie_width", "max",
     "expected PCIe lanes, or max: the most the GPU and slot report",
     .kind = KILN_PARAM_INTEGER, .words = "max", .min = 1, .max = 64},
    {"hold", "2s",
     "HW slowdown, HW or SW thermal slowdown or HW power brake at idle "
     "fails when held this long (sampled 5 times over it; up to 60s)",
     .kind = KILN_PARAM_DURATION, .min = 0, .max = MAX_HOLD_S},
    {0},
};

const struct kiln_module kiln_module_gpu_health = {
    .name = "gpu.health",
    .summary = "driver-reported GPU health at idle: ECC, retired pages and "
               "remapped rows, InfoROM, other processes, slowdowns, NVSwitch "
               "fabric, PCIe link",
    .targets = KILN_TARGETS_GPU,
    .gpu_needs = KILN_GPU_NEEDS_DRIVER,
    .stress = false,
    .params = gpu_health_params,
    .measurements = gpu_health_measurements,
    .key_measurement = "pcie_gen",
    .available = gpu_health_available,
    .run = gpu_health_run,
};
