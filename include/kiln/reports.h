/* Report writers, one file each under reports/. Streaming formats are sinks;
 * whole-file formats are written atomically from the model (temp + rename)
 * and rewritten at every step end, so a node that dies mid-run still leaves
 * a readable record of the steps that finished.
 * Layer: reports (reports/): uses core to run, never stress/. */
#ifndef KILN_REPORTS_H
#define KILN_REPORTS_H

#include <stdbool.h>
#include <stdio.h>

#include "kiln/result.h"
#include "kiln/sink.h"

/* A run's report directory, held for the run. */
struct kiln_report_dir {
  char *path;
  int lock_fd;   /* holds the flock on DIR/.kiln.lock */
  char *reserve; /* DIR/.kiln-reserve while it is kept, else NULL */
};
#define KILN_REPORT_DIR_UNUSABLE 2 /* cannot be made, locked or written */
#define KILN_REPORT_DIR_TAKEN 64   /* holds an earlier run's reports */

/* Makes dir, locks it for this run (a second run is refused, naming the
 * holder's pid), refuses a directory holding an earlier run's reports
 * unless overwrite (then they are removed), and sets aside a reserve of
 * disk space in it (a probe: a full disk is found now, before any step).
 * Returns 0, or KILN_REPORT_DIR_* with the reason in err; close d
 * either way. */
int kiln_report_dir_open(struct kiln_report_dir *d, const char *dir,
                         bool overwrite, char *err, size_t n);
/* Frees the reserve, so the reports can close their records on a disk that
 * filled up: call just before the run end is published. */
void kiln_report_dir_release_reserve(struct kiln_report_dir *d);
/* Frees the reserve and the lock. */
void kiln_report_dir_close(struct kiln_report_dir *d);

/* OCP Test & Validation output spec v2.0, one JSON object per line,
 * written whole as each event arrives and fsynced at every step start and
 * end and at least once a minute. */
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
/* The same with the run-level warnings (the terminal hung up), one line
 * each, under the header. */
int kiln_summary_write_warnings(const struct kiln_run *run,
                                const char *const *warnings, size_t n_warnings,
                                const char *path, char *err, size_t n);

/* A sink that rewrites the whole-file reports (junit.xml, results.tap,
 * summary.txt) in dir at every step end and at run end; run-level warnings
 * go into the summary. */
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
