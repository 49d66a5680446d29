/* Helpers shared by the report writers (reports/ only, not a public API). */
#ifndef KILN_REPORT_UTIL_H
#define KILN_REPORT_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "kiln/result.h"

/* How many steps of a run (or of one module) ended which way. Steps not
 * DONE count as unfinished: when a report is rewritten mid-run, or when
 * the run died, they never produced a verdict. */
struct report_counts {
  size_t total, pass, fail, skip, error, aborted, unfinished;
};

void report_count_step(struct report_counts *c,
                       const struct kiln_step_result *s);
struct report_counts report_count_run(const struct kiln_run *run);
/* "2 passed, 1 failed, 1 not finished" (the kinds that happened, in that
 * order), or "" when there are none. */
void report_counts_text(const struct report_counts *c, char *buf, size_t n);

/* The verdict name of a finished step, else "PENDING" or "RUNNING". */
const char *report_step_label(const struct kiln_step_result *s);
/* Why a step has no verdict yet, in one line; NULL when it is DONE. */
const char *report_unfinished_reason(const struct kiln_step_result *s);
/* "PASS", "FAIL" or "UNKNOWN" (the OCP diagnosis types). */
const char *report_diag_type_name(enum kiln_diag_type t);
/* Seconds the step ran (so far), 0 when it never started. */
double report_step_duration(const struct kiln_step_result *s);

/* The run's verdict as the reports state it: what the core recorded once
 * finished, never milder than what the steps say (unfinished steps count
 * as ABORTED, as in kiln_run_verdict). */
enum kiln_verdict report_run_verdict(const struct kiln_run *run);

/* "name on hwid = value unit (limit x >= 5)" into buf, for people: the
 * value and limit by the figure rule (kiln_measurement_figures). */
void report_describe_measurement(const struct kiln_measurement *m, char *buf,
                                 size_t n);

/* The stylesheet of report.html (html.c): the verdict colours (.v-PASS,
 * .badge, ...) that kiln merge's page shares. */
extern const char report_html_css[];

struct xml_writer;
/* A report page's frame (html.c), shared by report.html and kiln merge's:
 * the doctype, <html>, a <head> with title and report_html_css (then
 * extra_css, or NULL), and <body> opened ... */
void report_html_begin(struct xml_writer *x, const char *title,
                       const char *extra_css);
/* ... and a footer line, then the page closed. */
void report_html_end(struct xml_writer *x, const char *footer);

/* Writes path atomically (temp file + rename): emit() writes the content.
 * Returns 0, or -1 with "path: reason" in err; the old file then stays. */
int report_write_atomic(const char *path, int (*emit)(FILE *f, const void *ctx),
                        const void *ctx, char *err, size_t n);

#endif
