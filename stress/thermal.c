/* thermal: temperatures, fans, power and CPU throttling watched for the
 * whole run by the parent's telemetry sampler (src/run/sampler.c). A limit
 * fails the step only when it holds for `hold`, so one noisy sample does
 * not fail a run; the diagnosis names the sensor, the value, the limit,
 * the time and the steps that were running. */
#include <stddef.h>

#include "kiln/module.h"

static const struct kiln_param_spec thermal_params[] = {
    {"interval", "1s", "time between samples", .kind = KILN_PARAM_DURATION},
    {"hold", "5s", "how long a limit must be broken before it fails",
     .kind = KILN_PARAM_DURATION},
    {"temp_max", "",
     "°C every temperature must stay under (default: each "
     "sensor's own crit, else max)",
     .kind = KILN_PARAM_NUMBER, .min = 0, .max = INFINITY},
    {"fan_min", "",
     "RPM every fan must stay over (default: each fan's own "
     "min, when set)",
     .kind = KILN_PARAM_NUMBER, .min = 0, .max = INFINITY},
    {"throttle_max", "0",
     "CPU thermal-throttle events allowed per core or "
     "package over the run",
     .kind = KILN_PARAM_NUMBER, .min = 0, .max = INFINITY},
    {0},
};

static const struct kiln_measurement_spec thermal_measurements[] = {
    {"temp_max_c", "C", "the highest temperature seen"},
    {"fan_min_rpm", "RPM", "the lowest fan speed seen"},
    {"samples", "", "telemetry samples taken"},
    {"sample_ms", "ms", "mean cost of one sample of every source"},
    {NULL, NULL, NULL},
};

const struct kiln_module kiln_module_thermal = {
    .name = "thermal",
    .summary = "temperatures, fans and throttling watched for the whole run",
    .targets = KILN_TARGETS_MONITOR,
    .params = thermal_params,
    .measurements = thermal_measurements,
    .key_measurement = "temp_max_c",
};
