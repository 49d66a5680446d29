/* The parent's side of a monitor: a module (KILN_TARGETS_MONITOR) whose one
 * step lasts the whole run and is judged in the parent, from telemetry, by
 * its hook (struct kiln_monitor_hook in module.h). This is what the hook
 * gets to work with; the telemetry sampler (src/run/sampler.c) implements
 * it and drives every monitor the same way:
 *
 *   before the run   hook->setup reads the parameters (kiln_monitor_limit)
 *   each reading     of a source the monitor named: on a series' first,
 *                    hook->watch says what the series is to it (role,
 *                    judged, the watch and its symptom); the sampler feeds
 *                    every reading to that watch and records a diagnosis
 *                    when it fires, naming the value, the limit, the time
 *                    and the steps running; and one when the hardware
 *                    calls a reading CRITICAL for the monitor's hold
 *   the run's end    hook->end emits the measurements; the sampler ends
 *                    the step: ERROR when a source it named could not be
 *                    read (a BMC given with --bmc) or stopped answering
 *                    for its hold, ABORTED with the run, SKIP (hook->end's
 *                    reason) when no judged series had a reading, else PASS
 *                    or FAIL by its diagnoses.
 *
 * A new monitor is one file under stress/ ending in its descriptor, with
 * .targets = KILN_TARGETS_MONITOR and .monitor = its hook (stress/thermal.c
 * and stress/edac.c are the examples).
 * Layer: run (src/run/): uses core to telemetry. */
#ifndef KILN_MONITOR_H
#define KILN_MONITOR_H

#include <stdbool.h>
#include <stddef.h>

#include "kiln/module.h"
#include "kiln/watch.h"

struct kiln_spec;

/* One telemetry series a monitor sees. */
struct kiln_monitor_series {
  const char *key;  /* "sensors/nct6798-isa-0290/fan1": source/id */
  const char *name; /* "SYS_FAN2 (sensors/nct6798-isa-0290/fan1)" */
  const char *hwid; /* the chip, controller or CPU: "nct6798-isa-0290" */
  const char *unit; /* "RPM" */
  /* Set by hook->watch on the first reading. */
  int role;     /* the monitor's own tag for it; 0: none */
  bool judged;  /* what the monitor is there for: without a reading
                   of a judged series the step SKIPs */
  bool watched; /* watch holds its limit (else only recorded) */
  struct kiln_watch watch;
  const char *symptom; /* of the diagnosis when watch fires (static text) */
  /* Kept by the sampler. */
  double first, last; /* its first and latest values */
};

/* The monitor's own state: hook->state_size bytes, zeroed at setup. */
void *kiln_monitor_state(struct kiln_monitor *m);
/* The station spec (--spec or the profile's), or NULL. */
const struct kiln_spec *kiln_monitor_spec(const struct kiln_monitor *m);

/* A number or duration parameter (seconds) as it resolves
 * (core/settings.h: the profile, then the GPU SKU, then the default) and
 * then the station spec's value, which wins where it sets one (spec_value;
 * NaN: not set). NaN when nothing sets it: an empty default, or a module
 * (by name) that is not in the run. module NULL: m's own. Returns 0, or
 * -1 with "FILE:LINE: [thermal] hold = 'x' is not ..." in err. */
int kiln_monitor_limit(const struct kiln_monitor *m, const char *module,
                       const char *name, double spec_value, double *out,
                       char *err, size_t n);
/* How often to sample (the shortest any monitor asks for; none: 1 s) and
 * how long a hardware CRITICAL or a silent source of m's must last before
 * it counts (default KILN_WATCH_DEFAULT_HOLD). interval 0: no wish. */
void kiln_monitor_set_timing(struct kiln_monitor *m, double interval,
                             double hold);

/* The series of m's sources seen so far, in the order first seen (a
 * pointer holds until the next sample: for hook->end). */
size_t kiln_monitor_n_series(const struct kiln_monitor *m);
const struct kiln_monitor_series *
kiln_monitor_series_at(const struct kiln_monitor *m, size_t i);
/* Whether a judged series has had a reading. */
bool kiln_monitor_saw(const struct kiln_monitor *m);
/* Samples of every source taken, and their mean cost in seconds (NaN
 * before the first). */
size_t kiln_monitor_samples(const struct kiln_monitor *m, double *mean_cost);
/* Why m's sources gave nothing, "sensors: no hwmon chips ...; ipmi: no
 * readings", leaving out the source named except (may be NULL). */
void kiln_monitor_source_reasons(const struct kiln_monitor *m,
                                 const char *except, char *buf, size_t n);

/* A measurement of the step (no limit: a monitor judges by watches). */
void kiln_monitor_measure(struct kiln_monitor *m, const char *name,
                          double value, const char *hwid);

#endif
