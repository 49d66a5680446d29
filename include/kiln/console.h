/* The plain line log for people and the TAP stream for harnesses. */
#ifndef KILN_CONSOLE_H
#define KILN_CONSOLE_H

#include <stdio.h>

#include "kiln/sink.h"

/* One line per step start and end, failures with their diagnosis, and the
 * summary table at the end. */
struct kiln_sink *kiln_console_sink_open(FILE *out);
/* TAP to out as steps end; test points numbered in the order they end. */
struct kiln_sink *kiln_tap_stream_sink_open(FILE *out, int version);

#endif
