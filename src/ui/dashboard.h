/* The ncurses dashboard: a sink of the run's event stream (like the
 * reports), drawn on the terminal kiln runs in. It owns nothing of the run:
 * quitting it never loses a report. */
#ifndef KILN_DASHBOARD_H
#define KILN_DASHBOARD_H

#include <stdbool.h>
#include <stddef.h>

#include "kiln/sink.h"

/* Takes over the terminal (stdin, stdout). NULL, with one line in err,
 * when it cannot (no terminal, TERM unknown). */
struct kiln_sink *kiln_dashboard_open(char *err, size_t n);
/* Reads pending keys and redraws what changed; the runner's loop calls it
 * at least four times a second. Returns true once, when the operator has
 * asked to quit and confirmed. */
bool kiln_dashboard_tick(struct kiln_sink *dashboard);
/* The terminal hung up (SIGHUP): the dashboard stops drawing and lets go of
 * the terminal for good; the run goes on and the sink takes events
 * without showing them. */
void kiln_dashboard_hangup(struct kiln_sink *dashboard);

#endif
