/* The event bus: the parent's one path from events to sinks. It updates
 * nothing itself; the runner updates the model, then publishes.
 * Layer: core (src/core/): uses no other layer. */
#ifndef KILN_BUS_H
#define KILN_BUS_H

#include <stdio.h>

#include "kiln/result.h"
#include "kiln/sink.h"

#define KILN_BUS_MAX_SINKS 8

struct kiln_bus {
  struct kiln_sink *sinks[KILN_BUS_MAX_SINKS];
  bool broken[KILN_BUS_MAX_SINKS]; /* failed, and not complete again */
  size_t n_sinks;
  size_t failures; /* sinks that failed: the run cannot PASS its records */
  FILE *errors;    /* where sink failures are reported (stderr) */
};

void kiln_bus_init(struct kiln_bus *bus, FILE *errors);
void kiln_bus_add(struct kiln_bus *bus, struct kiln_sink *sink);
void kiln_bus_run_start(struct kiln_bus *bus, const struct kiln_run *run);
void kiln_bus_step_start(struct kiln_bus *bus, const struct kiln_run *run,
                         const struct kiln_step_result *s);
void kiln_bus_measurement(struct kiln_bus *bus, const struct kiln_run *run,
                          const struct kiln_step_result *s,
                          const struct kiln_measurement *m);
void kiln_bus_diagnosis(struct kiln_bus *bus, const struct kiln_run *run,
                        const struct kiln_step_result *s,
                        const struct kiln_diagnosis *d);
void kiln_bus_log(struct kiln_bus *bus, const struct kiln_run *run,
                  const struct kiln_step_result *s, const struct kiln_log *l);
void kiln_bus_progress(struct kiln_bus *bus, const struct kiln_run *run,
                       const struct kiln_step_result *s);
void kiln_bus_series_start(struct kiln_bus *bus, const struct kiln_run *run,
                           const struct kiln_step_result *s,
                           const struct kiln_series *se);
/* se->count is the element's index. */
void kiln_bus_series_element(struct kiln_bus *bus, const struct kiln_run *run,
                             const struct kiln_step_result *s,
                             const struct kiln_series *se, double value,
                             double time);
void kiln_bus_series_end(struct kiln_bus *bus, const struct kiln_run *run,
                         const struct kiln_step_result *s,
                         const struct kiln_series *se);
void kiln_bus_step_end(struct kiln_bus *bus, const struct kiln_run *run,
                       const struct kiln_step_result *s);
/* Every sink gets it, a failed one too (see sink.h). */
void kiln_bus_run_end(struct kiln_bus *bus, const struct kiln_run *run);
/* Time-driven work of the sinks; call at least every 250 ms. */
void kiln_bus_tick(struct kiln_bus *bus, const struct kiln_run *run);
/* How many sinks' records are incomplete (failed, and not whole again at
 * the run end); their names, ", "-separated, into buf. */
size_t kiln_bus_incomplete(const struct kiln_bus *bus, char *buf, size_t n);
/* Why sink failed, when it did and is not complete again; else NULL. */
const char *kiln_bus_failure(const struct kiln_bus *bus,
                             const struct kiln_sink *sink);
void kiln_bus_close(struct kiln_bus *bus);

#endif
