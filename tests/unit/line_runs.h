/* Synthetic runs for the line server's tests: the OCP stream of a short
 * kiln run with one step and one measurement, built with jansson (so a
 * hostile serial is carried as kiln would write it), fed to a store. */
#ifndef KILN_TEST_LINE_RUNS_H
#define KILN_TEST_LINE_RUNS_H

#include <stdbool.h>
#include <stddef.h>

#include "store/store.h"

struct line_run {
  const char *id, *serial, *host;
  const char *sku;         /* NULL: testRunStart names none */
  const char *profile;     /* NULL: "line" */
  const char *started;     /* "2026-12-02T01:00:00.000Z"; each line 1 s later */
  const char *step;        /* NULL: "gpu.membw[0]" */
  const char *measurement; /* NULL: "bandwidth_gbps" */
  double value;
  const char *fail; /* a FAIL diagnosis' message, or NULL */
  bool open;        /* the step and the run not ended */
};

/* The run's OCP lines (malloc'd, each and the array); *n of them. */
char **line_run_lines(const struct line_run *r, size_t *n);
void line_run_lines_free(char **lines, size_t n);
/* Stores the run's stream in st; fails the test when the store refuses. */
void line_run_store(struct kiln_store *st, const struct line_run *r);

#endif
