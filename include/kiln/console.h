/* The plain line log for people and the TAP stream for harnesses. */
#ifndef KILN_CONSOLE_H
#define KILN_CONSOLE_H

#include <stdio.h>

#include "kiln/sink.h"

/* One line per step start and end, failures with their diagnosis, and the
 * summary table at the end. */
struct kiln_sink *kiln_console_sink_open(FILE *out);
/* What the line log ends with: the summary and the verdict line. Also
 * printed once the dashboard has given the screen back. */
void kiln_console_print_closing(FILE *out, const struct kiln_run *run);
/* TAP to out as steps end; test points numbered in the order they end. */
struct kiln_sink *kiln_tap_stream_sink_open(FILE *out, int version);

#endif
