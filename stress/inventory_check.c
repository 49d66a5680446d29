/* inventory.check: the machine against the station spec. Every difference
 * (missing, extra, wrong model, wrong count, wrong link, wrong BIOS) is its
 * own FAIL diagnosis, so the report lists them all, not just the first. */
#include <stdio.h>
#include <string.h>

#include "kiln/context.h"
#include "kiln/inventory.h"
#include "kiln/inventory_spec.h"
#include "kiln/module.h"
#include "kiln/result.h"
#include "kiln/step.h"

static void report_difference(void *ctx, const char *kind, const char *hwid,
                              const char *message) {
  struct kiln_step *s = ctx;
  char symptom[48];
  snprintf(symptom, sizeof symptom, "inventory-%s", kind);
  kiln_emit_diagnosis(s, KILN_DIAG_FAIL, symptom, hwid, "%s", message);
}

/* The probe, kiln list's and the step's: a station spec to compare with. */
static bool inventory_check_available(char *why, size_t n) {
  const struct kiln_context *ctx = kiln_context();
  if (!ctx->spec) {
    snprintf(why, n,
             "no station spec: give --spec FILE, or spec = FILE in "
             "the profile's [profile] section");
    return false;
  }
  snprintf(why, n, "station spec %s", ctx->spec->source);
  return true;
}

static void inventory_check_run(struct kiln_step *s) {
  const struct kiln_context *ctx = kiln_context();
  char why[512];
  if (!inventory_check_available(why, sizeof why)) {
    kiln_step_skip(s, "%s", why);
    return;
  }
  /* The parent took the inventory at run start; a step run on its own
   * (tests) takes its own. */
  struct kiln_inventory own;
  const struct kiln_inventory *inv = ctx->inventory;
  if (!inv) {
    char err[512];
    struct kiln_inventory_options o = {.pci_dump = ctx->pci_dump};
    memset(&own, 0, sizeof own);
    if (kiln_inventory_collect(&own, &o, err, sizeof err) != 0) {
      kiln_step_error(s, "%s", err);
      return;
    }
    inv = &own;
  }
  kiln_emit_progress(s, 0.5);
  size_t n = kiln_spec_compare(ctx->spec, inv, report_difference, s);
  kiln_emit_measurement(s, "differences", (double)n, NULL);
  kiln_emit_log(
      s, KILN_SEV_INFO,
      "compared with station spec %s: %zu difference%s; %zu GPUs, "
      "%zu NICs, %zu NVMe drives, %zu DIMM slots, %zu PCI devices%s%s",
      ctx->spec->source, n, n == 1 ? "" : "s", inv->n_gpus, inv->n_nics,
      inv->n_nvmes, inv->memory.n_dimms, inv->pci.n,
      inv->pci.from_dump ? " from " : "",
      inv->pci.from_dump ? inv->pci.source : "");
  kiln_emit_progress(s, 1.0);
  if (inv == &own)
    kiln_inventory_free(&own);
}

static const struct kiln_measurement_spec inventory_check_measurements[] = {
    {"differences", "", "differences between the machine and the spec"},
    {NULL, NULL, NULL},
};

static const struct kiln_param_spec inventory_check_params[] = {{0}};

const struct kiln_module kiln_module_inventory_check = {
    .name = "inventory.check",
    .summary = "the machine's inventory against the station spec",
    .targets = KILN_TARGETS_HOST,
    .stress = false,
    .params = inventory_check_params,
    .measurements = inventory_check_measurements,
    .key_measurement = "differences",
    .available = inventory_check_available,
    .run = inventory_check_run,
};
