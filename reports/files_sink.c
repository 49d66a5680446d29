/* A sink that keeps junit.xml, results.tap and summary.txt current: each
 * is rewritten atomically from the model at the run start, at every step
 * start and end, and at the run end, so a node that dies mid-run leaves
 * readable files that show which steps were running (the likely culprits)
 * and which never ran. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "kiln/reports.h"
#include "kiln/textutil.h"

/* Run-level warnings kept for the summary; a run has a few. */
#define MAX_WARNINGS 32

struct files_state {
  char *junit, *tap, *summary;
  int tap_version;
  char *warnings[MAX_WARNINGS];
  size_t n_warnings;
};

static void keep_first_error(struct kiln_sink *sink, int *rc, int result,
                             const char *err) {
  if (result != 0 && *rc == 0) {
    snprintf(sink->err, sizeof sink->err, "%s", err);
    *rc = -1;
  }
}

/* Writes all three even when one fails (a full disk may still take the
 * smaller ones); the first error is the one reported. */
static int rewrite_all(struct kiln_sink *sink, const struct kiln_run *run) {
  struct files_state *st = sink->state;
  char err[sizeof sink->err];
  int rc = 0;
  keep_first_error(sink, &rc, kiln_junit_write(run, st->junit, err, sizeof err),
                   err);
  keep_first_error(
      sink, &rc, kiln_tap_write(run, st->tap_version, st->tap, err, sizeof err),
      err);
  keep_first_error(
      sink, &rc,
      kiln_summary_write_warnings(run, (const char *const *)st->warnings,
                                  st->n_warnings, st->summary, err, sizeof err),
      err);
  return rc;
}

static int files_log(struct kiln_sink *sink, const struct kiln_run *run,
                     const struct kiln_step_result *s,
                     const struct kiln_log *l) {
  struct files_state *st = sink->state;
  if (s || l->severity < KILN_SEV_WARNING || st->n_warnings == MAX_WARNINGS)
    return 0;
  char stamp[40];
  kiln_format_time(l->time, stamp, sizeof stamp);
  st->warnings[st->n_warnings++] =
      kiln_strdup_printf("%s %s", stamp, l->message);
  return rewrite_all(sink, run);
}

static int files_step_event(struct kiln_sink *sink, const struct kiln_run *run,
                            const struct kiln_step_result *s) {
  return rewrite_all(sink, run);
}

static void files_close(struct kiln_sink *sink) {
  struct files_state *st = sink->state;
  free(st->junit);
  free(st->tap);
  free(st->summary);
  for (size_t i = 0; i < st->n_warnings; i++)
    free(st->warnings[i]);
  free(st);
  free(sink);
}

struct kiln_sink *kiln_files_sink_open(const char *dir, int tap_version,
                                       char *err, size_t n) {
  struct stat info;
  if (stat(dir, &info) != 0) {
    snprintf(err, n, "%s: %s", dir, strerror(errno));
    return NULL;
  }
  if (!S_ISDIR(info.st_mode)) {
    snprintf(err, n, "%s: %s", dir, strerror(ENOTDIR));
    return NULL;
  }
  struct files_state *st = kiln_xcalloc(1, sizeof *st);
  st->junit = kiln_strdup_printf("%s/junit.xml", dir);
  st->tap = kiln_strdup_printf("%s/results.tap", dir);
  st->summary = kiln_strdup_printf("%s/summary.txt", dir);
  st->tap_version = tap_version;
  struct kiln_sink *sink = kiln_xcalloc(1, sizeof *sink);
  sink->name = "junit.xml, results.tap, summary.txt";
  sink->state = st;
  sink->run_start = rewrite_all;
  sink->step_start = files_step_event;
  sink->step_end = files_step_event;
  sink->log = files_log;
  sink->run_end = rewrite_all;
  sink->close = files_close;
  return sink;
}
