/* The plain line log for people and the TAP stream for harnesses. */
#ifndef KILN_CONSOLE_H
#define KILN_CONSOLE_H

#include <stdio.h>

#include "kiln/sink.h"

/* One line per step start and end, failures with their diagnosis, and the
 * summary table at the end. A terminal that hangs up ends the log there,
 * without an error. */
struct kiln_sink *kiln_console_sink_open(FILE *out);
/* The line kiln ends with, after the summary: "verdict: PASS (exit 0);
 * reports in DIR". exit_code is the true one (a report that could not be
 * written makes it 2, and the word ERROR); note, when not NULL or empty,
 * says why ("incomplete reports: ocp.jsonl"). */
void kiln_console_print_verdict(FILE *out, const struct kiln_run *run,
                                int exit_code, const char *note);
/* TAP to out as steps end; test points numbered in the order they end. */
struct kiln_sink *kiln_tap_stream_sink_open(FILE *out, int version);

#endif
