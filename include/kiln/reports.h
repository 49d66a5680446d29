/* Report writers, one file each under reports/. Streaming formats are sinks;
 * whole-file formats are written atomically from the model (temp + rename)
 * and rewritten at every step end, so a node that dies mid-run still leaves
 * a readable record of the steps that finished. */
#ifndef KILN_REPORTS_H
#define KILN_REPORTS_H

#include <stdio.h>

#include "kiln/result.h"
#include "kiln/sink.h"

/* OCP Test & Validation output spec v2.0, one JSON object per line,
 * flushed as each event arrives. */
struct kiln_sink *kiln_ocp_sink_open(const char *path, char *err, size_t n);

/* JUnit XML (junit-10.xsd): one testsuite per module, one testcase per step. */
int kiln_junit_write(const struct kiln_run *run, const char *path, char *err,
                     size_t n);

/* TAP. version is 13 or 14. */
void kiln_tap_plan(FILE *f, int version, size_t n_steps);
/* One test point; `number` is 1-based. Includes the YAML diagnostics block. */
void kiln_tap_point(FILE *f, size_t number, const struct kiln_step_result *s);
int kiln_tap_write(const struct kiln_run *run, int version, const char *path,
                   char *err, size_t n);

/* Human table of steps, verdicts and key figures. */
void kiln_summary_print(FILE *f, const struct kiln_run *run);
int kiln_summary_write(const struct kiln_run *run, const char *path, char *err,
                       size_t n);

/* A sink that rewrites the whole-file reports (junit.xml, results.tap,
 * summary.txt) in dir at every step end and at run end. */
struct kiln_sink *kiln_files_sink_open(const char *dir, int tap_version,
                                       char *err, size_t n);

/* A sink that keeps report.html at path current: one self-contained page
 * (inline CSS and SVG, no scripts) with the verdict, the failures, the
 * steps, the DUT and its inventory, and a plot of every telemetry series
 * with its limits, rewritten atomically at the run start, every step start
 * and end, and the run end. It keeps a bounded downsampled envelope of each
 * series (telemetry.csv has every sample). */
struct kiln_sink *kiln_html_sink_open(const char *path, char *err, size_t n);

#endif
