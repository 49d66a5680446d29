/* The line server's store: every run a DUT uploads, behind one interface
 * with one file per backend (store_sqlite.c: `sqlite:PATH`, the default;
 * store_pg.c: `postgresql://...`). Layer: store (src/store/): uses core.
 *
 * What it holds, per run (its id is the one the uploader names the run by:
 * the OCP stream carries none): the OCP stream line by line as received,
 * and what store.c parses from those lines as they arrive (the run's
 * serial, host, SKU, profile, start, end, verdict and exit code; its steps,
 * measurements with their limits, diagnoses and the DUT's inventory); the
 * uploaded report files (only junit.xml, results.tap, summary.txt,
 * report.html, telemetry.csv) and, from telemetry.csv, each sensor's
 * per-minute min/mean/max.
 *
 * What it guarantees: both backends have the same schema and migrations,
 * its version in the table schema_version (KILN_STORE_SCHEMA_VERSION after
 * kiln_store_open); a store newer than this code is refused. Intake is
 * idempotent: each (run, sequenceNumber) is stored once, whatever is sent
 * twice or overlaps; each batch is one transaction. Every function returns
 * 0 on success, 1 for bad input (err says what, naming the line or value),
 * -1 when the store itself failed (err says why). A store is used by one
 * thread at a time (its SQLite connection keeps prepared statements). */
#ifndef KILN_STORE_H
#define KILN_STORE_H

#include <stddef.h>
#include <stdint.h>

#define KILN_STORE_SCHEMA_VERSION 1
/* The longest run id; ids are [A-Za-z0-9._:-] (they go into URLs). */
#define KILN_STORE_RUN_ID_MAX 128

struct kiln_store;

/* Opens (creating and migrating) the store at url: `sqlite:PATH` or
 * `postgresql://...` (`postgres://` too). */
int kiln_store_open(const char *url, struct kiln_store **out, char *err,
                    size_t errn);
void kiln_store_close(struct kiln_store *st);
/* The schema version the store is at (-1: could not be read). */
int kiln_store_schema_version(struct kiln_store *st);

/* What one append stored. */
struct kiln_store_ack {
  /* The last sequence number stored with every one before it (from 0):
   * what the server acknowledges; -1 when sequence 0 is not stored yet. */
  int64_t last_contiguous;
  size_t stored;   /* lines new to the store in this batch */
  size_t bad_line; /* 1-based line of the batch first refused; 0: none */
  size_t refused;  /* lines of the batch refused */
};

/* Stores lines[0..n) of run_id's OCP stream, the first being sequence
 * first_seq (each line's sequenceNumber must say so). A malformed line is
 * refused (1; bad_line and err name the first, refused counts them) and
 * every good line of the batch is kept, before and after it: the stream
 * then has a gap where it was, and last_contiguous stops before it. */
int kiln_store_append(struct kiln_store *st, const char *run_id,
                      int64_t first_seq, const char *const *lines, size_t n,
                      struct kiln_store_ack *ack, char *err, size_t errn);

/* Stores (or replaces) a report file of run_id. Only the known names are
 * taken; ocp.jsonl is the stream itself (kiln_store_append). telemetry.csv
 * must parse (err names its bad line); its per-minute figures replace the
 * run's earlier ones. */
int kiln_store_put_file(struct kiln_store *st, const char *run_id,
                        const char *name, const void *data, size_t len,
                        char *err, size_t errn);
/* Whether name is a report file the store takes. */
int kiln_store_file_name_known(const char *name);

/* A run as stored; NULL strings are unknown yet. */
struct kiln_store_run {
  char *id, *serial, *host, *sku, *profile, *started, *ended, *verdict,
      *last_seen;
  int exit_code; /* -1: not known (the run has not ended) */
  int64_t ocp_lines;
  int64_t last_contiguous;
};
/* Runs filtered by what is set (NULL: any): serial, verdict, started at or
 * after since (ISO 8601 UTC, as OCP writes it), listed after the run
 * before (a run id: the next page after a page that ended with it; none
 * when no run has that id); newest first (by start, else by last seen;
 * then by id), at most limit (0: no limit). */
struct kiln_store_filter {
  const char *serial, *verdict, *since, *before;
  size_t limit;
};
int kiln_store_runs(struct kiln_store *st, const struct kiln_store_filter *f,
                    struct kiln_store_run **runs, size_t *n, char *err,
                    size_t errn);
/* One run: 0 found, 1 no such run. */
int kiln_store_run_get(struct kiln_store *st, const char *run_id,
                       struct kiln_store_run *run, char *err, size_t errn);
void kiln_store_run_clear(struct kiln_store_run *run);
void kiln_store_runs_free(struct kiln_store_run *runs, size_t n);

/* run_id's OCP stream in sequence order, each line as received; fn
 * returning non-zero stops it (that value is returned). */
typedef int (*kiln_store_line_fn)(void *ctx, int64_t seq, const char *line);
int kiln_store_stream(struct kiln_store *st, const char *run_id,
                      kiln_store_line_fn fn, void *ctx, char *err, size_t errn);

struct kiln_store_file {
  char *name, *received;
  int64_t size;
};
/* run_id's uploaded files by name. */
int kiln_store_files(struct kiln_store *st, const char *run_id,
                     struct kiln_store_file **files, size_t *n, char *err,
                     size_t errn);
void kiln_store_files_free(struct kiln_store_file *files, size_t n);
/* One file's content (malloc'd, NUL after its len bytes): 1 no such file. */
int kiln_store_file_get(struct kiln_store *st, const char *run_id,
                        const char *name, char **data, size_t *len, char *err,
                        size_t errn);

/* What was parsed from a run's stream, as rows of named text cells (NULL:
 * no value), in stream order (telemetry minutes: by sensor and minute). */
enum kiln_store_table {
  KILN_STORE_STEPS,        /* step_id name status started ended */
  KILN_STORE_MEASUREMENTS, /* seq step_id name value unit subcomponent lo
                              hi validators */
  KILN_STORE_DIAGNOSES,    /* seq step_id type verdict message
                              subcomponent */
  KILN_STORE_INVENTORY,    /* hw_id name part_type location serial_number
                              part_number */
  KILN_STORE_TELEMETRY,    /* source sensor unit minute n min mean max */
};
typedef int (*kiln_store_row_text_fn)(void *ctx, size_t ncols,
                                      const char *const *names,
                                      const char *const *values);
int kiln_store_rows(struct kiln_store *st, const char *run_id,
                    enum kiln_store_table table, kiln_store_row_text_fn fn,
                    void *ctx, char *err, size_t errn);

/* ---- queries for the server ---- */

/* The whole store's counts: runs, runs in progress (no testRunEnd yet),
 * OCP lines stored. */
struct kiln_store_totals {
  int64_t runs, runs_in_progress, ocp_lines;
};
int kiln_store_totals(struct kiln_store *st, struct kiln_store_totals *t,
                      char *err, size_t errn);
/* Each verdict of the ended runs with how many runs have it. */
typedef int (*kiln_store_count_fn)(void *ctx, const char *key, int64_t n);
int kiln_store_verdict_counts(struct kiln_store *st, kiln_store_count_fn fn,
                              void *ctx, char *err, size_t errn);
/* The runs in progress, newest first. */
int kiln_store_runs_in_progress(struct kiln_store *st,
                                struct kiln_store_run **runs, size_t *n,
                                char *err, size_t errn);

/* ---- queries for the line pages ---- */

/* A run still going (no testRunEnd yet), as the line page shows it. */
struct kiln_store_live {
  struct kiln_store_run run;
  char **planned_steps; /* testRunStart's plannedSteps */
  size_t n_planned;
  double planned_seconds; /* testRunStart's plannedSeconds; 0: not given */
  size_t steps_started, steps_ended;
  char **running_steps; /* names of the steps started and not ended */
  size_t n_running;
  /* "FAIL" once a step has a FAIL diagnosis, else "ERROR" once one has an
   * error, else "PASS" (nothing wrong so far). */
  const char *verdict_so_far;
  /* The last stored line's kind (its artifact's: "testStepStart",
   * "measurement", "log", ...) and timestamp; NULL before any. */
  char *last_event, *last_event_time;
};
/* Every run in progress, newest first. */
int kiln_store_live_runs(struct kiln_store *st, struct kiln_store_live **out,
                         size_t *n, char *err, size_t errn);
void kiln_store_live_free(struct kiln_store_live *runs, size_t n);

/* A run that ended. */
struct kiln_store_finished {
  struct kiln_store_run run;
  char **failing_steps; /* names of the steps with a FAIL or an error
                           diagnosis, in stream order, each once */
  size_t n_failing;
  char *first_diagnosis; /* the first such diagnosis' message, or NULL */
};
/* The runs that ended at or after since (ISO 8601 UTC), newest first. */
int kiln_store_finished_runs(struct kiln_store *st, const char *since,
                             struct kiln_store_finished **out, size_t *n,
                             char *err, size_t errn);
void kiln_store_finished_free(struct kiln_store_finished *runs, size_t n);

/* First-pass yield of one module (the step name without its target,
 * "gpu.membw" for "gpu.membw[0]") over the first run of each DUT serial
 * started at or after since, counted once that run has ended: steps that
 * passed (COMPLETE, no FAIL or error diagnosis) of those that ran
 * (skipped steps count in neither). */
struct kiln_store_yield {
  char *module;
  size_t passed, total;
};
int kiln_store_first_pass_yield(struct kiln_store *st, const char *since,
                                struct kiln_store_yield **out, size_t *n,
                                char *err, size_t errn);
void kiln_store_yield_free(struct kiln_store_yield *y, size_t n);

/* The module a step name belongs to (its name up to '['), malloc'd. */
char *kiln_store_step_module(const char *step_name);

/* One group of runs the line judges together: the runs of one SKU; where
 * kiln names none (a CPU-only run, or a stream that does not carry it),
 * the runs of one profile that name no SKU either. */
struct kiln_store_group {
  const char *sku;     /* NULL: none */
  const char *profile; /* used when sku is NULL */
};
/* The values of measurement `name` in steps of `module` over the most
 * recent max_runs passing runs (verdict PASS) of the group, newest run
 * first, each with its run's id (malloc'd, one a value): the siblings a
 * run of the group is judged against once its own values are left out. */
int kiln_store_group_values(struct kiln_store *st,
                            const struct kiln_store_group *g,
                            const char *module, const char *name,
                            size_t max_runs, double **values, char ***run_ids,
                            size_t *n, char *err, size_t errn);

#endif
