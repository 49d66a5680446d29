/* edac: the kernel's memory error counters (EDAC), per controller and per
 * DIMM, watched for the whole run by the parent's telemetry sampler
 * (src/run/sampler.c). Counts at the start are the baseline: only errors
 * during the run count. Any uncorrectable error fails at once. */
#include <stddef.h>

#include "kiln/module.h"

static const struct kiln_param_spec edac_params[] = {
    {"ce_max", "10", "correctable errors allowed per counter over the run",
     .kind = KILN_PARAM_NUMBER, .min = 0, .max = INFINITY},
    {"ue_max", "0", "uncorrectable errors allowed over the run",
     .kind = KILN_PARAM_NUMBER, .min = 0, .max = INFINITY},
    {0},
};

static const struct kiln_measurement_spec edac_measurements[] = {
    {"ce_increase", "errors", "correctable errors during the run, all DIMMs"},
    {"ue_increase", "errors", "uncorrectable errors during the run"},
    {NULL, NULL, NULL},
};

const struct kiln_module kiln_module_edac = {
    .name = "edac",
    .summary = "memory error counters (EDAC) watched for the whole run",
    .targets = KILN_TARGETS_MONITOR,
    .params = edac_params,
    .measurements = edac_measurements,
    .key_measurement = "ce_increase",
};
