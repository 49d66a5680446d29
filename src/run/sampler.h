/* The telemetry sampler: in the parent, about once a second for the whole
 * run, it samples the telemetry sources (telemetry.h) the plan's monitors
 * name, writes each reading to telemetry.csv and to the sinks as a
 * measurement series, and hands it to the monitor that named its source,
 * feeding the watches (watch.h) that monitor chose. Monitors are modules
 * with a hook (kiln_monitor_hook, module.h; what the sampler does for them
 * is in include/kiln/monitor.h); it knows none by name. It runs from the
 * runner's loop (kiln_runner_options.tick) and never waits on a BMC: the
 * telemetry layer samples it in a thread of its own; one that stops
 * answering is a warning on the monitor that watches it, then, silent for
 * that monitor's `hold`, its ERROR. */
#ifndef KILN_SAMPLER_H
#define KILN_SAMPLER_H

#include <stddef.h>

#include "kiln/bus.h"
#include "kiln/result.h"
#include "run/plan.h"

struct kiln_sampler;

struct kiln_spec;

/* Finds the plan's monitor steps (modules with a monitor hook) and sets
 * each up (its hook's setup: the parameters as they resolve, profile, then
 * SKU, then default, and the station spec's limits, which win; spec may be
 * NULL). NULL when the plan has no monitor (nothing to sample); on a
 * malformed parameter NULL with "PROFILE:LINE: [thermal] hold = 'x' ..."
 * in err and *failed set. */
struct kiln_sampler *kiln_sampler_new(const struct kiln_plan *plan,
                                      const char *profile_source,
                                      const struct kiln_spec *spec, char *err,
                                      size_t n, bool *failed);
/* Opens the sources and telemetry.csv in report_dir (NULL: no file), starts the
 * monitor steps (run->steps at the plan's indexes) and takes the first sample.
 * A BMC given with --bmc (kiln_bmc_get) that cannot be read makes the monitor
 * that watches it ERROR, naming the host and the cause: the operator asked for
 * it. Returns 0, or -1 with err (telemetry.csv cannot be written). */
int kiln_sampler_start(struct kiln_sampler *s, struct kiln_run *run,
                       struct kiln_bus *bus, const char *report_dir, char *err,
                       size_t n);
/* The run's own verdict on monitor m now (kiln list's probe): its step
 * started and finished as a run of no length would (sources opened, sampled
 * at start and end, its hook's setup with default parameters and spec's
 * limits, its end), writing nothing. PASS (why ""), SKIP or ERROR with the
 * step's reason in why. */
enum kiln_verdict kiln_sampler_probe(const struct kiln_module *m,
                                     const struct kiln_spec *spec, char *why,
                                     size_t n);
/* Samples when the interval has passed; for kiln_runner_options.tick. */
void kiln_sampler_tick(void *sampler);
/* Takes a last sample, ends every series and the monitor steps (their
 * hooks' measurements; FAIL when a watch fired, ERROR when a BMC asked for
 * could not be read or stopped answering, SKIP with the hook's reason when
 * nothing was there to watch, ABORTED with the run's abort reason), closes
 * telemetry.csv. */
void kiln_sampler_finish(struct kiln_sampler *s);
/* Why telemetry.csv is incomplete, "PATH: its rows from T on were lost
 * (No space left on device)", when a row could not be written (every row
 * after it is dropped; the file holds whole rows only); else NULL, and for
 * a NULL sampler. */
const char *kiln_sampler_csv_lost(const struct kiln_sampler *s);
void kiln_sampler_free(struct kiln_sampler *s);

/* Where a GPU event (a critical XID on bus) lands: the indexes of the run's
 * steps running on that GPU, else of running host steps of gpu.* modules
 * (they drive every GPU); at most max. 0: none (the sampler then fails the
 * monitor that watches the event's source). */
size_t kiln_sampler_steps_on_gpu(const struct kiln_run *run, const char *bus,
                                 size_t *out, size_t max);

#endif
