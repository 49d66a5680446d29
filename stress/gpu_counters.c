/* See gpu_counters.h. */
#include "gpu_counters.h"

#include <stdio.h>
#include <string.h>

#include "kiln/result.h"
#include "kiln/step.h"

#define UNSUPPORTED KILN_NVML_ERROR_NOT_SUPPORTED

void kiln_gpu_counters_read(const struct kiln_nvml *nv, kiln_nvml_device dev,
                            struct kiln_gpu_counters *out) {
  memset(out, 0, sizeof *out);
  out->ecc_mode_rc = out->corrected_rc = out->uncorrected_rc = out->rows_rc =
      out->replay_rc = UNSUPPORTED;
  if (nv->device_get_ecc_mode) {
    int cur = 0, pend = 0;
    out->ecc_mode_rc = nv->device_get_ecc_mode(dev, &cur, &pend);
    out->ecc_on = cur == KILN_NVML_FEATURE_ENABLED;
  }
  if (nv->device_get_total_ecc_errors) {
    out->corrected_rc = nv->device_get_total_ecc_errors(
        dev, KILN_NVML_ERROR_CORRECTED, KILN_NVML_VOLATILE_ECC,
        &out->corrected);
    out->uncorrected_rc = nv->device_get_total_ecc_errors(
        dev, KILN_NVML_ERROR_UNCORRECTED, KILN_NVML_VOLATILE_ECC,
        &out->uncorrected);
  }
  if (nv->device_get_remapped_rows)
    out->rows_rc =
        nv->device_get_remapped_rows(dev, &out->rows_corr, &out->rows_unc,
                                     &out->rows_pending, &out->rows_failed);
  if (nv->device_get_pcie_replay_counter)
    out->replay_rc = nv->device_get_pcie_replay_counter(dev, &out->replay);
}

struct kiln_nvml *kiln_gpu_counters_open(struct kiln_step *s, const char *bus,
                                         kiln_nvml_device *dev,
                                         const char *unchecked) {
  char why[256];
  struct kiln_nvml *nv = kiln_nvml_open(why, sizeof why);
  if (!nv) {
    kiln_emit_log(s, KILN_SEV_WARNING, "GPU %s: NVML unavailable (%s): %s", bus,
                  why, unchecked);
    return NULL;
  }
  kiln_nvml_return rc = kiln_nvml_device_by_bus(nv, bus, dev);
  if (rc != KILN_NVML_SUCCESS) {
    kiln_emit_log(s, KILN_SEV_WARNING, "GPU %s: NVML cannot find it (%s): %s",
                  bus, kiln_nvml_error(nv, rc), unchecked);
    kiln_nvml_close(nv);
    return NULL;
  }
  return nv;
}

/* The rise of a counter read both times; a counter that went down was
 * reset (driver reload) during the step, so all it holds is new. */
static unsigned long long rise(unsigned long long before,
                               unsigned long long after) {
  return after >= before ? after - before : after;
}

/* NVML's error on a counter read before or after (the first one), or
 * KILN_NVML_SUCCESS when both reads worked. */
static kiln_nvml_return either_failed(kiln_nvml_return before,
                                      kiln_nvml_return after) {
  return before != KILN_NVML_SUCCESS ? before : after;
}

/* "GPU bus: what: NVML's error", a warning: a figure not measured. */
static void log_unread(struct kiln_step *s, const char *bus,
                       const struct kiln_nvml *nv, kiln_nvml_return rc,
                       const char *what) {
  kiln_emit_log(s, KILN_SEV_WARNING, "GPU %s: %s: %s", bus, what,
                kiln_nvml_error(nv, rc));
}

static bool ecc_off(const struct kiln_gpu_counters *c) {
  return (c->ecc_mode_rc == KILN_NVML_SUCCESS && !c->ecc_on) ||
         c->ecc_mode_rc == UNSUPPORTED;
}

void kiln_gpu_ecc_note(struct kiln_step *s, const char *bus,
                       const struct kiln_nvml *nv,
                       const struct kiln_gpu_counters *before) {
  if (before->ecc_mode_rc == KILN_NVML_SUCCESS && before->ecc_on)
    kiln_emit_log(s, KILN_SEV_INFO,
                  "GPU %s: ECC is on: the hardware corrects single-bit flips "
                  "before the patterns can see them, so they are counted by "
                  "the hardware (NVML's volatile corrected count, "
                  "ecc_corrected) rather than seen by the patterns; an "
                  "uncorrectable error or a new row remapping fails the step",
                  bus);
  else if (ecc_off(before))
    kiln_emit_log(s, KILN_SEV_INFO,
                  "GPU %s: ECC is %s: the patterns see every flipped bit", bus,
                  before->ecc_mode_rc == UNSUPPORTED ? "not supported" : "off");
  else
    kiln_emit_log(s, KILN_SEV_WARNING,
                  "GPU %s: ECC mode unreadable (%s): flips the hardware may "
                  "correct are not seen by the patterns",
                  bus, kiln_nvml_error(nv, before->ecc_mode_rc));
}

static void judge_uncorrected(struct kiln_step *s, const char *bus,
                              const char *name,
                              const struct kiln_gpu_counters *b,
                              const struct kiln_gpu_counters *a) {
  unsigned long long n = rise(b->uncorrected, a->uncorrected);
  if (n)
    kiln_emit_diagnosis(s, KILN_DIAG_FAIL, "gpu-ecc-uncorrectable", bus,
                        "GPU %s (%s): %llu uncorrectable ECC error%s during "
                        "the memory test (NVML volatile count %llu -> %llu)",
                        bus, name, n, n == 1 ? "" : "s", b->uncorrected,
                        a->uncorrected);
}

static void measure_corrected(struct kiln_step *s, const char *bus,
                              const struct kiln_nvml *nv,
                              const struct kiln_gpu_counters *b,
                              const struct kiln_gpu_counters *a) {
  if (ecc_off(b) && ecc_off(a)) {
    /* Nothing corrects a flip: each one is a wrong word in `errors`. */
    kiln_emit_measurement(s, "ecc_corrected", 0, bus);
    return;
  }
  kiln_nvml_return rc = either_failed(b->corrected_rc, a->corrected_rc);
  if (rc != KILN_NVML_SUCCESS) {
    log_unread(s, bus, nv, rc,
               "ecc_corrected not measured: NVML's volatile corrected ECC "
               "count");
    return;
  }
  unsigned long long n = rise(b->corrected, a->corrected);
  if (a->corrected < b->corrected)
    kiln_emit_log(s, KILN_SEV_WARNING,
                  "GPU %s: the volatile ECC counts went down during the test "
                  "(the driver reloaded?): counted from the reset on",
                  bus);
  kiln_emit_measurement(s, "ecc_corrected", (double)n, bus);
  kiln_emit_log(s, n ? KILN_SEV_WARNING : KILN_SEV_INFO,
                "GPU %s: %llu single-bit error%s corrected by ECC during the "
                "test (NVML volatile count %llu -> %llu)",
                bus, n, n == 1 ? "" : "s", b->corrected, a->corrected);
}

static void judge_rows(struct kiln_step *s, const char *bus, const char *name,
                       const struct kiln_nvml *nv,
                       const struct kiln_gpu_counters *b,
                       const struct kiln_gpu_counters *a) {
  if (a->rows_rc != KILN_NVML_SUCCESS) {
    /* Pre-Ampere GPUs retire pages instead (gpu.health judges those). */
    kiln_emit_log(s, KILN_SEV_INFO, "GPU %s: remapped rows: %s", bus,
                  a->rows_rc == UNSUPPORTED ? "not supported by this GPU or "
                                              "driver"
                                            : kiln_nvml_error(nv, a->rows_rc));
    return;
  }
  bool known = b->rows_rc == KILN_NVML_SUCCESS;
  if (a->rows_pending && !(known && b->rows_pending))
    kiln_emit_diagnosis(s, KILN_DIAG_FAIL, "gpu-row-remap-pending", bus,
                        "GPU %s (%s): a row remapping became pending during "
                        "the memory test (rows remapped for uncorrectable "
                        "errors %u -> %u, for correctable %u -> %u): a "
                        "memory row is failing; reset the GPU to apply it",
                        bus, name, known ? b->rows_unc : 0, a->rows_unc,
                        known ? b->rows_corr : 0, a->rows_corr);
  else if (a->rows_pending)
    kiln_emit_log(s, KILN_SEV_WARNING,
                  "GPU %s: a row remapping was pending before the test "
                  "(gpu.health fails it)",
                  bus);
  if (a->rows_failed)
    kiln_emit_diagnosis(s, KILN_DIAG_FAIL, "gpu-row-remap-failed", bus,
                        "GPU %s (%s): a row remapping has failed%s: the GPU "
                        "has no spare rows left for its failing memory",
                        bus, name,
                        known && b->rows_failed ? " (already before the test)"
                                                : " during the memory test");
}

void kiln_gpu_ecc_judge(struct kiln_step *s, const char *bus, const char *name,
                        const struct kiln_nvml *nv,
                        const struct kiln_gpu_counters *before,
                        const struct kiln_gpu_counters *after) {
  kiln_nvml_return rc =
      either_failed(before->uncorrected_rc, after->uncorrected_rc);
  if (rc == KILN_NVML_SUCCESS)
    judge_uncorrected(s, bus, name, before, after);
  else if (!(ecc_off(before) && ecc_off(after)))
    log_unread(s, bus, nv, rc,
               "uncorrectable ECC errors not checked: NVML's volatile "
               "uncorrected ECC count");
  measure_corrected(s, bus, nv, before, after);
  judge_rows(s, bus, name, nv, before, after);
}

double kiln_pcie_replay_rate(unsigned long long n, double seconds) {
  double minutes = seconds / 60;
  return (double)n / (minutes > 1 ? minutes : 1);
}

void kiln_gpu_replay_judge(struct kiln_step *s, const char *bus,
                           const struct kiln_nvml *nv,
                           const struct kiln_gpu_counters *before,
                           const struct kiln_gpu_counters *after,
                           double seconds) {
  kiln_nvml_return rc = either_failed(before->replay_rc, after->replay_rc);
  if (rc != KILN_NVML_SUCCESS) {
    log_unread(s, bus, nv, rc,
               "pcie_replay_per_min not measured: NVML's PCIe replay counter");
    return;
  }
  unsigned long long n = rise(before->replay, after->replay);
  double rate = kiln_pcie_replay_rate(n, seconds);
  kiln_emit_measurement(s, "pcie_replay_per_min", rate, bus);
  kiln_emit_log(s, n ? KILN_SEV_WARNING : KILN_SEV_INFO,
                "GPU %s: PCIe replay counter %u -> %u (+%llu) over %.1f s of "
                "copies: %.2f a minute%s",
                bus, before->replay, after->replay, n, seconds, rate,
                seconds < 60 ? " (judged over a whole minute)" : "");
}
