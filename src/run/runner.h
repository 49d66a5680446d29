/* The parent-side runner: forks a child per step (core/step_child.h),
 * reads its events, runs the watchdog and feeds the bus. */
#ifndef KILN_RUNNER_H
#define KILN_RUNNER_H

#include <stdbool.h>
#include <stddef.h>

#include "core/step_child.h"
#include "kiln/module.h"
#include "kiln/result.h"
#include "kiln/sink.h"
#include "run/plan.h"

struct kiln_kv;

/* What a child needs to run one step. */

/* Parent side (src/run/runner.c). */
struct kiln_runner_options {
  double grace;              /* seconds past duration before a step is killed */
  double hang_timeout;       /* seconds without any event before it is killed */
  const char *const *inject; /* faults asked for on the command line */
  double stagger; /* seconds between the starts of a phase's GPU steps */
  /* Called from the runner's loop at least every 250 ms (the telemetry
   * sampler), or NULL. */
  void (*tick)(void *ctx);
  void *tick_ctx;
};

/* Stops the run as SIGTERM would, with reason as the steps' ABORTED reason
 * ("operator quit from the dashboard"). For the parent's own loop (a tick
 * callback), not for signal handlers. */
void kiln_runner_request_stop(const char *reason);

/* From here on SIGHUP does not end kiln: the fds 0-2 that are a terminal
 * now are pointed at /dev/null when it comes, and the run goes on to its
 * end (a burn-in outlives its operator's ssh session). kiln_runner_run()
 * calls it too; call it early to cover the set-up. */
void kiln_runner_survive_hangup(void);
/* Whether SIGHUP came: the terminal is gone. */
bool kiln_runner_hung_up(void);

struct kiln_bus;
/* Runs the plan phase by phase, each phase's steps at once, feeding every
 * event into run (the model) and bus (the sinks). Monitor steps are left
 * to the caller (the sampler starts and ends them). Returns when all steps
 * are done or the run was aborted by SIGINT/SIGTERM. A step's time excludes
 * stalls of the parent itself (a stopped or starved kiln), and a step that
 * has sent its end is never judged overrun. */
void kiln_runner_run(const struct kiln_plan *plan,
                     const struct kiln_runner_options *opts,
                     struct kiln_run *run, struct kiln_bus *bus);

#endif
