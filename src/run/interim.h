/* A step's running figures in the parent: each figure a stress module
 * publishes while it runs (kiln_emit_running, wire type "running") becomes
 * an OCP measurement series of its step, started on first sight and ended
 * with the step, so the reports hold a long step's evidence before it ends
 * (a node that dies mid-step leaves them). Interim: no limits, never judged.
 *
 * Series ids are "STEP/NAME" or "STEP/NAME/HWID" ("gpu.membw[0]/
 * bandwidth_gbps/0000:1b:00.0"), names "NAME (STEP, running)". What a child
 * can make the parent write is bounded: at most KILN_INTERIM_MAX_FIGURES
 * figures a step, and a figure's element is dropped when it comes within a
 * quarter of publish_every of the last one kept. */
#ifndef KILN_INTERIM_H
#define KILN_INTERIM_H

#include <stddef.h>

#include "kiln/bus.h"
#include "kiln/sink.h"

#define KILN_INTERIM_MAX_FIGURES 64

struct kiln_interim_figure;

/* Zero-initialised is empty. */
struct kiln_interim {
  struct kiln_interim_figure *f;
  size_t n;
};

/* One running figure of step s at wall time `time`; publish_every (seconds,
 * > 0) is the run's. */
void kiln_interim_add(struct kiln_interim *im, struct kiln_bus *bus,
                      const struct kiln_run *run,
                      const struct kiln_step_result *s, const char *name,
                      const char *unit, const char *hwid, double value,
                      double time, double publish_every);
/* Ends every series; call before the step's end goes to the bus. */
void kiln_interim_end(struct kiln_interim *im, struct kiln_bus *bus,
                      const struct kiln_run *run,
                      const struct kiln_step_result *s);
void kiln_interim_free(struct kiln_interim *im);

#endif
