/* The store's logic, the same for every backend: the schema and its
 * migrations (SQL written once, the few type names from the backend), the
 * OCP line intake (one parser, jansson), the report files with
 * telemetry.csv's per-minute figures, and the queries. */
#include "store/store.h"

#include <csv.h>
#include <ctype.h>
#include <jansson.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kiln/textutil.h"
#include "kiln/verdict.h"
#include "store/line_check.h"
#include "store_backend.h"

struct kiln_store {
  const struct kiln_store_backend *be;
  void *db;
};

/* ---- schema ---- */

/* Migration i takes the schema from version i to i + 1; append, never
 * edit one that has shipped. {blob}, {real}, {bigint} and {without_rowid}
 * are the backend's words (store_backend.h). */
static const char *const migration_1[] = {
    "CREATE TABLE runs (id TEXT PRIMARY KEY, serial TEXT, host TEXT, sku "
    "TEXT, profile TEXT, started TEXT, ended TEXT, verdict TEXT, exit_code "
    "INTEGER, ocp_lines {bigint} NOT NULL DEFAULT 0, last_contiguous "
    "{bigint} NOT NULL DEFAULT -1, last_seen TEXT)",
    "CREATE INDEX runs_serial ON runs (serial, started)",
    "CREATE INDEX runs_started ON runs (started)",
    /* The run list's order (kiln_store_runs): newest first, a page at a
     * time, read off this index rather than sorted. */
    "CREATE INDEX runs_listed ON runs ((COALESCE(started, last_seen)), id)",
    "CREATE TABLE ocp_lines (run_id TEXT NOT NULL REFERENCES runs (id), seq "
    "{bigint} NOT NULL, line TEXT NOT NULL, PRIMARY KEY (run_id, seq))"
    "{without_rowid}",
    "CREATE TABLE steps (run_id TEXT NOT NULL REFERENCES runs (id), step_id "
    "TEXT NOT NULL, name TEXT, status TEXT, started TEXT, ended TEXT, "
    "PRIMARY KEY (run_id, step_id))",
    "CREATE TABLE measurements (run_id TEXT NOT NULL REFERENCES runs (id), "
    "seq {bigint} NOT NULL, step_id TEXT, name TEXT NOT NULL, value {real}, "
    "unit TEXT, subcomponent TEXT, lo {real}, hi {real}, validators TEXT, "
    "PRIMARY KEY (run_id, seq))",
    "CREATE TABLE diagnoses (run_id TEXT NOT NULL REFERENCES runs (id), seq "
    "{bigint} NOT NULL, step_id TEXT, type TEXT NOT NULL, verdict TEXT, "
    "message TEXT, subcomponent TEXT, PRIMARY KEY (run_id, seq))",
    "CREATE TABLE inventory (run_id TEXT NOT NULL REFERENCES runs (id), "
    "hw_id TEXT NOT NULL, name TEXT, part_type TEXT, location TEXT, "
    "serial_number TEXT, part_number TEXT, PRIMARY KEY (run_id, hw_id))",
    "CREATE TABLE files (run_id TEXT NOT NULL REFERENCES runs (id), name "
    "TEXT NOT NULL, content {blob} NOT NULL, size {bigint} NOT NULL, "
    "received TEXT NOT NULL, PRIMARY KEY (run_id, name))",
    "CREATE TABLE telemetry_minutes (run_id TEXT NOT NULL REFERENCES runs "
    "(id), source TEXT NOT NULL, sensor TEXT NOT NULL, unit TEXT, minute "
    "TEXT NOT NULL, n {bigint} NOT NULL, min {real}, mean {real}, max "
    "{real}, PRIMARY KEY (run_id, source, sensor, minute))",
    NULL,
};
static const char *const *const migrations[] = {migration_1};
_Static_assert(sizeof migrations / sizeof migrations[0] ==
                   KILN_STORE_SCHEMA_VERSION,
               "one migration per schema version");

/* sql with the backend's type names put in; malloc'd. */
static char *typed_sql(const struct kiln_store_backend *be, const char *sql) {
  size_t cap = strlen(sql) * 2 + 64, n = 0;
  char *out = kiln_xcalloc(1, cap);
  while (*sql) {
    const char *put = NULL;
    size_t skip = 1;
    if (strncmp(sql, "{blob}", 6) == 0)
      put = be->blob, skip = 6;
    else if (strncmp(sql, "{real}", 6) == 0)
      put = be->real, skip = 6;
    else if (strncmp(sql, "{bigint}", 8) == 0)
      put = be->bigint, skip = 8;
    else if (strncmp(sql, "{without_rowid}", 15) == 0)
      put = be->without_rowid, skip = 15;
    if (put) {
      size_t l = strlen(put);
      memcpy(out + n, put, l);
      n += l;
    } else {
      out[n++] = *sql;
    }
    sql += skip;
  }
  out[n] = '\0';
  return out;
}

static int exec(struct kiln_store *st, const char *sql, size_t np,
                const struct kiln_store_param *p, kiln_store_row_fn fn,
                void *ctx, char *err, size_t errn) {
  return st->be->exec(st->db, sql, np, p, fn, ctx, err, errn);
}

static int exec0(struct kiln_store *st, const char *sql, char *err,
                 size_t errn) {
  return exec(st, sql, 0, NULL, NULL, NULL, err, errn);
}

static struct kiln_store_param text_p(const char *s) {
  return (struct kiln_store_param){.kind = KILN_P_TEXT, .text = s};
}
static struct kiln_store_param int_p(int64_t i) {
  return (struct kiln_store_param){.kind = KILN_P_INT, .i = i};
}
static struct kiln_store_param real_p(double r) {
  if (!isfinite(r))
    return (struct kiln_store_param){.kind = KILN_P_NULL};
  return (struct kiln_store_param){.kind = KILN_P_REAL, .r = r};
}

static int first_int_row(void *ctx, size_t ncols,
                         const struct kiln_store_cell *c) {
  int64_t *out = ctx;
  if (ncols > 0 && c[0].data)
    *out = strtoll(c[0].data, NULL, 10);
  return 0;
}

static int rollback(struct kiln_store *st) {
  char ignored[128];
  exec0(st, "ROLLBACK", ignored, sizeof ignored);
  return -1;
}

int kiln_store_schema_version(struct kiln_store *st) {
  char err[256];
  int64_t v = -1;
  if (exec(st, "SELECT MAX(version) FROM schema_version", 0, NULL,
           first_int_row, &v, err, sizeof err) != 0)
    return -1;
  return v < 0 ? 0 : (int)v;
}

/* Reads the version and applies the missing migrations in one transaction
 * under the schema lock: servers started at once migrate once. */
static int migrate(struct kiln_store *st, char *err, size_t errn) {
  if (exec0(st, st->be->begin_schema, err, errn) != 0)
    return -1;
  if ((st->be->schema_lock && exec0(st, st->be->schema_lock, err, errn) != 0) ||
      exec0(st,
            "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER "
            "PRIMARY KEY, applied TEXT NOT NULL)",
            err, errn) != 0)
    return rollback(st);
  int at = kiln_store_schema_version(st);
  if (at < 0) {
    rollback(st);
    snprintf(err, errn, "%s: cannot read the schema version", st->be->name);
    return -1;
  }
  if (at > KILN_STORE_SCHEMA_VERSION) {
    rollback(st);
    snprintf(err, errn,
             "%s: the store's schema is version %d, newer than this kiln's "
             "%d: use a newer kiln",
             st->be->name, at, KILN_STORE_SCHEMA_VERSION);
    return -1;
  }
  for (int v = at; v < KILN_STORE_SCHEMA_VERSION; v++) {
    for (const char *const *sql = migrations[v]; *sql; sql++) {
      char *typed = typed_sql(st->be, *sql);
      int rc = exec0(st, typed, err, errn);
      free(typed);
      if (rc != 0)
        return rollback(st);
    }
    char now[40];
    kiln_format_time(kiln_now(), now, sizeof now);
    struct kiln_store_param p[] = {int_p(v + 1), text_p(now)};
    if (exec(st,
             "INSERT INTO schema_version (version, applied) VALUES ($1, "
             "$2)",
             2, p, NULL, NULL, err, errn) != 0)
      return rollback(st);
  }
  if (exec0(st, "COMMIT", err, errn) != 0)
    return rollback(st);
  return 0;
}

int kiln_store_open(const char *url, struct kiln_store **out, char *err,
                    size_t errn) {
  *out = NULL;
  const struct kiln_store_backend *be;
  const char *target;
  if (strncmp(url, "sqlite:", 7) == 0 && url[7]) {
    be = &kiln_store_sqlite;
    target = url + 7;
  } else if (strncmp(url, "postgresql://", 13) == 0 ||
             strncmp(url, "postgres://", 11) == 0) {
    be = &kiln_store_pg;
    target = url;
  } else {
    snprintf(err, errn,
             "store '%s': give sqlite:PATH or postgresql://HOST/DATABASE", url);
    return 1;
  }
  void *db = be->open(target, err, errn);
  if (!db)
    return -1;
  struct kiln_store *st = kiln_xcalloc(1, sizeof *st);
  st->be = be;
  st->db = db;
  if (migrate(st, err, errn) != 0) {
    kiln_store_close(st);
    return -1;
  }
  *out = st;
  return 0;
}

void kiln_store_close(struct kiln_store *st) {
  if (!st)
    return;
  st->be->close(st->db);
  free(st);
}

/* ---- intake ---- */

static int bad_run_id(const char *id, char *err, size_t errn) {
  size_t n = id ? strlen(id) : 0;
  bool ok = n > 0 && n <= KILN_STORE_RUN_ID_MAX;
  for (size_t i = 0; ok && i < n; i++)
    ok = isalnum((unsigned char)id[i]) || strchr("._:-", id[i]);
  if (!ok)
    snprintf(err, errn,
             "run id '%.*s': give 1 to %d characters of A-Z a-z 0-9 . _ : -",
             KILN_STORE_RUN_ID_MAX, id ? id : "", KILN_STORE_RUN_ID_MAX);
  return !ok;
}

static int ensure_run(struct kiln_store *st, const char *run_id, char *err,
                      size_t errn) {
  char now[40];
  kiln_format_time(kiln_now(), now, sizeof now);
  struct kiln_store_param p[] = {text_p(run_id), text_p(now)};
  return exec(st,
              "INSERT INTO runs (id, last_seen) VALUES ($1, $2) ON CONFLICT "
              "(id) DO UPDATE SET last_seen = $2",
              2, p, NULL, NULL, err, errn);
}

static const char *jstr(json_t *o, const char *key) {
  return json_string_value(json_object_get(o, key));
}

/* The number a validator limits from below (lo) or above (hi). */
static void limits(json_t *validators, double *lo, double *hi) {
  *lo = *hi = NAN;
  size_t i;
  json_t *v;
  json_array_foreach(validators, i, v) {
    const char *type = jstr(v, "type");
    json_t *value = json_object_get(v, "value");
    if (!type || !json_is_number(value))
      continue;
    if (strncmp(type, "GREATER_THAN", 12) == 0)
      *lo = json_number_value(value);
    else if (strncmp(type, "LESS_THAN", 9) == 0)
      *hi = json_number_value(value);
  }
}

static int store_inventory(struct kiln_store *st, const char *run_id,
                           json_t *dut, char *err, size_t errn) {
  size_t i;
  json_t *h;
  json_array_foreach(json_object_get(dut, "hardwareInfos"), i, h) {
    const char *id = jstr(h, "hardwareInfoId");
    if (!id)
      continue;
    struct kiln_store_param p[] = {
        text_p(run_id),
        text_p(id),
        text_p(jstr(h, "name")),
        text_p(jstr(h, "partType")),
        text_p(jstr(h, "location")),
        text_p(jstr(h, "serialNumber")),
        text_p(jstr(h, "partNumber")),
    };
    if (exec(st,
             "INSERT INTO inventory (run_id, hw_id, name, part_type, "
             "location, serial_number, part_number) VALUES ($1, $2, $3, $4, "
             "$5, $6, $7) ON CONFLICT (run_id, hw_id) DO NOTHING",
             7, p, NULL, NULL, err, errn) != 0)
      return -1;
  }
  return 0;
}

/* The run's verdict from testRunEnd (reports/ocp.c's run_outcome() read
 * back): a failure found is FAIL, a run that did not go through ERROR, all
 * skipped SKIP; its exit code is the one kiln exits with for that verdict
 * (kiln_verdict_exit_code). */
static enum kiln_verdict run_end_verdict(json_t *end) {
  const char *status = jstr(end, "status"), *result = jstr(end, "result");
  status = status ? status : "";
  result = result ? result : "";
  if (strcmp(result, "FAIL") == 0)
    return KILN_FAIL;
  if (strcmp(status, "SKIP") == 0)
    return KILN_SKIP;
  if (strcmp(status, "COMPLETE") == 0 && strcmp(result, "PASS") == 0)
    return KILN_PASS;
  return KILN_ERROR;
}

static int store_diagnosis(struct kiln_store *st, const char *run_id,
                           int64_t seq, const char *step_id, const char *type,
                           const char *verdict, json_t *d, char *err,
                           size_t errn);

static int store_run_artifact(struct kiln_store *st, const char *run_id,
                              int64_t seq, json_t *art, const char *ts,
                              char *err, size_t errn) {
  json_t *start = json_object_get(art, "testRunStart");
  json_t *end = json_object_get(art, "testRunEnd");
  if (start) {
    json_t *dut = json_object_get(start, "dutInfo");
    json_t *params = json_object_get(start, "parameters");
    const char *serial = jstr(json_object_get(dut, "metadata"), "serial");
    if (!serial || !*serial)
      serial = jstr(dut, "dutInfoId");
    struct kiln_store_param p[] = {
        text_p(run_id),
        text_p(serial),
        text_p(jstr(dut, "name")),
        text_p(jstr(params, "sku")),
        text_p(jstr(params, "profile")),
        text_p(ts),
    };
    if (exec(st,
             "UPDATE runs SET serial = $2, host = $3, sku = $4, profile = "
             "$5, started = $6 WHERE id = $1",
             6, p, NULL, NULL, err, errn) != 0)
      return -1;
    return store_inventory(st, run_id, dut, err, errn);
  }
  if (end) {
    enum kiln_verdict v = run_end_verdict(end);
    struct kiln_store_param p[] = {text_p(run_id), text_p(ts),
                                   text_p(kiln_verdict_name(v)),
                                   int_p(kiln_verdict_exit_code(v))};
    return exec(st,
                "UPDATE runs SET ended = $2, verdict = $3, exit_code = $4 "
                "WHERE id = $1",
                4, p, NULL, NULL, err, errn);
  }
  /* A run-level error (an abort's reason, a lost record) is a diagnosis
   * of the run, with no step. */
  json_t *error = json_object_get(art, "error");
  if (error)
    return store_diagnosis(st, run_id, seq, NULL, "ERROR",
                           jstr(error, "symptom"), error, err, errn);
  return 0;
}

static int store_diagnosis(struct kiln_store *st, const char *run_id,
                           int64_t seq, const char *step_id, const char *type,
                           const char *verdict, json_t *d, char *err,
                           size_t errn) {
  struct kiln_store_param p[] = {
      text_p(run_id),
      int_p(seq),
      text_p(step_id),
      text_p(type),
      text_p(verdict),
      text_p(jstr(d, "message")),
      text_p(jstr(json_object_get(d, "subcomponent"), "name")),
  };
  return exec(st,
              "INSERT INTO diagnoses (run_id, seq, step_id, type, verdict, "
              "message, subcomponent) VALUES ($1, $2, $3, $4, $5, $6, $7) "
              "ON CONFLICT (run_id, seq) DO NOTHING",
              7, p, NULL, NULL, err, errn);
}

static int store_step_artifact(struct kiln_store *st, const char *run_id,
                               int64_t seq, json_t *art, const char *ts,
                               char *err, size_t errn) {
  const char *step_id = jstr(art, "testStepId");
  json_t *x;
  if (!step_id)
    return 0;
  if ((x = json_object_get(art, "testStepStart"))) {
    struct kiln_store_param p[] = {text_p(run_id), text_p(step_id),
                                   text_p(jstr(x, "name")), text_p(ts)};
    return exec(st,
                "INSERT INTO steps (run_id, step_id, name, started) VALUES "
                "($1, $2, $3, $4) ON CONFLICT (run_id, step_id) DO UPDATE "
                "SET name = $3, started = $4",
                4, p, NULL, NULL, err, errn);
  }
  if ((x = json_object_get(art, "testStepEnd"))) {
    struct kiln_store_param p[] = {text_p(run_id), text_p(step_id),
                                   text_p(jstr(x, "status")), text_p(ts)};
    return exec(st,
                "INSERT INTO steps (run_id, step_id, status, ended) VALUES "
                "($1, $2, $3, $4) ON CONFLICT (run_id, step_id) DO UPDATE "
                "SET status = $3, ended = $4",
                4, p, NULL, NULL, err, errn);
  }
  if ((x = json_object_get(art, "measurement"))) {
    double lo, hi;
    json_t *validators = json_object_get(x, "validators");
    limits(validators, &lo, &hi);
    char *vtext = validators ? json_dumps(validators, JSON_COMPACT) : NULL;
    json_t *value = json_object_get(x, "value");
    struct kiln_store_param p[] = {
        text_p(run_id),
        int_p(seq),
        text_p(step_id),
        text_p(jstr(x, "name")),
        json_is_number(value) ? real_p(json_number_value(value))
                              : (struct kiln_store_param){.kind = KILN_P_NULL},
        text_p(jstr(x, "unit")),
        text_p(jstr(json_object_get(x, "subcomponent"), "name")),
        real_p(lo),
        real_p(hi),
        text_p(vtext),
    };
    int rc = jstr(x, "name")
                 ? exec(st,
                        "INSERT INTO measurements (run_id, seq, step_id, "
                        "name, value, unit, subcomponent, lo, hi, "
                        "validators) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, "
                        "$9, $10) ON CONFLICT (run_id, seq) DO NOTHING",
                        10, p, NULL, NULL, err, errn)
                 : 0;
    free(vtext);
    return rc;
  }
  if ((x = json_object_get(art, "diagnosis")))
    return store_diagnosis(st, run_id, seq, step_id, jstr(x, "type"),
                           jstr(x, "verdict"), x, err, errn);
  if ((x = json_object_get(art, "error")))
    return store_diagnosis(st, run_id, seq, step_id, "ERROR",
                           jstr(x, "symptom"), x, err, errn);
  return 0;
}

/* What an OCP line says, stored in the tables parsed from it. */
static int store_parsed(struct kiln_store *st, const char *run_id, int64_t seq,
                        json_t *line, char *err, size_t errn) {
  const char *ts = jstr(line, "timestamp");
  json_t *art;
  if ((art = json_object_get(line, "testRunArtifact")))
    return store_run_artifact(st, run_id, seq, art, ts, err, errn);
  if ((art = json_object_get(line, "testStepArtifact")))
    return store_step_artifact(st, run_id, seq, art, ts, err, errn);
  return 0;
}

static int seq_row(void *ctx, size_t ncols, const struct kiln_store_cell *c) {
  int64_t *expect = ctx;
  if (ncols < 1 || !c[0].data || strtoll(c[0].data, NULL, 10) != *expect)
    return 1; /* a gap: the contiguous part ends before it */
  ++*expect;
  return 0;
}

/* Moves the run's last contiguous sequence number on past the lines now
 * stored (first .. first + done - 1 are: this batch's good lines), and
 * counts them. */
static int advance(struct kiln_store *st, const char *run_id, int64_t first,
                   size_t done, size_t stored, int64_t *last, char *err,
                   size_t errn) {
  int64_t from = -1;
  struct kiln_store_param id = text_p(run_id);
  if (exec(st, "SELECT last_contiguous FROM runs WHERE id = $1", 1, &id,
           first_int_row, &from, err, errn) != 0)
    return -1;
  int64_t next = from + 1;
  /* A batch that starts at or before the next line due takes the run past
   * its end without reading its lines back. */
  if (done > 0 && first <= next && first + (int64_t)done > next)
    next = first + (int64_t)done;
  /* Then the lines stored earlier beyond a gap this batch closed. */
  struct kiln_store_param p[] = {text_p(run_id), int_p(next)};
  int rc = exec(st,
                "SELECT seq FROM ocp_lines WHERE run_id = $1 AND seq >= $2 "
                "ORDER BY seq",
                2, p, seq_row, &next, err, errn);
  if (rc < 0)
    return -1;
  *last = next - 1;
  struct kiln_store_param u[] = {text_p(run_id), int_p(*last),
                                 int_p((int64_t)stored)};
  return exec(st,
              "UPDATE runs SET last_contiguous = $2, ocp_lines = ocp_lines + "
              "$3 WHERE id = $1",
              3, u, NULL, NULL, err, errn);
}

/* Why line (the batch's line'th, sequence seq) is refused, or NULL; *doc
 * is its parsed object when the store takes it apart (else NULL). */
static const char *check_line(const char *line, int64_t seq, json_t **doc,
                              char *why, size_t whyn) {
  *doc = NULL;
  size_t len = strlen(line);
  if (memchr(line, '\n', len)) {
    snprintf(why, whyn, "holds a newline: one OCP record a line");
    return why;
  }
  struct kiln_line_check c;
  char text[200];
  if (kiln_line_check(line, len, &c, text, sizeof text) != 0) {
    snprintf(why, whyn, "not JSON: %s", text);
    return why;
  }
  if (c.taken_apart || c.needs_full_parse) {
    /* jansson has the last word on a line it parses. */
    json_error_t je;
    json_t *j = json_loadb(line, len, JSON_REJECT_DUPLICATES, &je);
    if (!j) {
      snprintf(why, whyn, "not JSON: %s (column %d)", je.text, je.column);
      return why;
    }
    json_t *sn = json_object_get(j, "sequenceNumber");
    c.object = json_is_object(j);
    c.has_sequence = json_is_integer(sn);
    c.sequence = c.has_sequence ? json_integer_value(sn) : 0;
    if (c.taken_apart)
      *doc = j;
    else
      json_decref(j);
  }
  if (!c.object || !c.has_sequence)
    snprintf(why, whyn, "not an OCP record: no integer sequenceNumber");
  else if (c.sequence != seq)
    snprintf(why, whyn, "sequenceNumber %lld where %lld was due",
             (long long)c.sequence, (long long)seq);
  else
    return NULL;
  json_decref(*doc);
  *doc = NULL;
  return why;
}

int kiln_store_append(struct kiln_store *st, const char *run_id,
                      int64_t first_seq, const char *const *lines, size_t n,
                      struct kiln_store_ack *ack, char *err, size_t errn) {
  *ack = (struct kiln_store_ack){.last_contiguous = -1};
  if (bad_run_id(run_id, err, errn))
    return 1;
  if (first_seq < 0) {
    snprintf(err, errn, "run %s: first sequence number %lld is negative",
             run_id, (long long)first_seq);
    return 1;
  }
  if (exec0(st, "BEGIN", err, errn) != 0)
    return -1;
  if (ensure_run(st, run_id, err, errn) != 0)
    return rollback(st);
  size_t done = 0; /* the lines before the first refused one */
  char first_err[512] = "";
  for (size_t i = 0; i < n; i++) {
    int64_t seq = first_seq + (int64_t)i;
    char why[256];
    json_t *doc;
    if (check_line(lines[i], seq, &doc, why, sizeof why)) {
      if (ack->refused++ == 0) {
        snprintf(first_err, sizeof first_err,
                 "run %s: line %zu of the batch (sequence %lld): %s", run_id,
                 i + 1, (long long)seq, why);
        ack->bad_line = i + 1;
      }
      continue;
    }
    if (ack->refused == 0)
      done = i + 1;
    struct kiln_store_param p[] = {text_p(run_id), int_p(seq),
                                   text_p(lines[i])};
    int rc = exec(st,
                  "INSERT INTO ocp_lines (run_id, seq, line) VALUES ($1, $2, "
                  "$3) ON CONFLICT (run_id, seq) DO NOTHING",
                  3, p, NULL, NULL, err, errn);
    if (rc == 0 && st->be->changes(st->db) > 0) {
      ack->stored++;
      if (doc)
        rc = store_parsed(st, run_id, seq, doc, err, errn);
    }
    json_decref(doc);
    if (rc != 0)
      return rollback(st);
  }
  if (advance(st, run_id, first_seq, done, ack->stored, &ack->last_contiguous,
              err, errn) != 0 ||
      exec0(st, "COMMIT", err, errn) != 0) {
    ack->stored = 0;
    return rollback(st);
  }
  if (ack->refused == 0)
    return 0;
  if (ack->refused > 1)
    snprintf(err, errn, "%s (and %zu more lines of the batch refused)",
             first_err, ack->refused - 1);
  else
    snprintf(err, errn, "%s", first_err);
  return 1;
}

/* ---- files ---- */

static const char *const known_files[] = {
    "junit.xml", "results.tap", "summary.txt", "report.html", "telemetry.csv",
};

int kiln_store_file_name_known(const char *name) {
  for (size_t i = 0; i < sizeof known_files / sizeof known_files[0]; i++)
    if (name && strcmp(name, known_files[i]) == 0)
      return 1;
  return 0;
}

/* One sensor's figures in the minute being read. */
struct minute_acc {
  char *source, *sensor, *unit;
  char minute[17]; /* "2026-12-02T00:50" */
  int64_t n;
  double min, max, sum;
};

struct minutes {
  struct minute_acc *acc;
  size_t n, cap;
};

static int flush_minute(struct kiln_store *st, const char *run_id,
                        struct minute_acc *a, char *err, size_t errn) {
  if (a->n == 0)
    return 0;
  struct kiln_store_param p[] = {
      text_p(run_id),    text_p(a->source),
      text_p(a->sensor), text_p(a->unit),
      text_p(a->minute), int_p(a->n),
      real_p(a->min),    real_p(a->sum / (double)a->n),
      real_p(a->max),
  };
  a->n = 0;
  return exec(st,
              "INSERT INTO telemetry_minutes (run_id, source, sensor, unit, "
              "minute, n, min, mean, max) VALUES ($1, $2, $3, $4, $5, $6, "
              "$7, $8, $9)",
              9, p, NULL, NULL, err, errn);
}

static struct minute_acc *find_acc(struct minutes *m, const char *source,
                                   const char *sensor) {
  for (size_t i = 0; i < m->n; i++)
    if (strcmp(m->acc[i].source, source) == 0 &&
        strcmp(m->acc[i].sensor, sensor) == 0)
      return &m->acc[i];
  if (m->n == m->cap) {
    m->cap = m->cap ? 2 * m->cap : 16;
    m->acc = kiln_xrealloc(m->acc, m->cap * sizeof *m->acc);
  }
  struct minute_acc *a = &m->acc[m->n++];
  *a = (struct minute_acc){.source = strdup(source), .sensor = strdup(sensor)};
  return a;
}

static void minutes_free(struct minutes *m) {
  for (size_t i = 0; i < m->n; i++) {
    free(m->acc[i].source);
    free(m->acc[i].sensor);
    free(m->acc[i].unit);
  }
  free(m->acc);
}

/* Reading telemetry.csv with libcsv: one record's fields, then the row.
 * The header names the columns: timestamp, source, sensor, label, value,
 * unit (label since it was added; a file without it, from an older kiln,
 * reads the same). The store keeps minutes by sensor id. */
enum csv_column { C_TIME, C_SOURCE, C_SENSOR, C_VALUE, C_UNIT, C_NEEDED };
#define CSV_MAX_FIELDS 6

struct minutes_reader {
  struct kiln_store *st;
  const char *run_id;
  struct minutes m;
  char *field[CSV_MAX_FIELDS];
  size_t nfields; /* fields of the record being read */
  size_t nheader; /* fields the header named: every row has as many */
  size_t col[C_NEEDED];
  size_t record; /* 1-based, the header being 1 */
  int rc;
  char *err;
  size_t errn;
};

static void minutes_field(void *data, size_t len, void *ctx) {
  struct minutes_reader *r = ctx;
  if (r->nfields < CSV_MAX_FIELDS)
    r->field[r->nfields] = strndup(data ? data : "", len);
  r->nfields++;
}

/* The header: each needed column found once, "label" the only other. */
static int minutes_header(struct minutes_reader *r) {
  static const char *const needed[C_NEEDED] = {"timestamp", "source", "sensor",
                                               "value", "unit"};
  bool seen[C_NEEDED] = {false};
  if (r->nfields > CSV_MAX_FIELDS)
    return 1;
  for (size_t i = 0; i < r->nfields; i++) {
    size_t c = 0;
    while (c < C_NEEDED && strcmp(r->field[i], needed[c]) != 0)
      c++;
    if (c == C_NEEDED) {
      if (strcmp(r->field[i], "label") != 0)
        return 1;
      continue;
    }
    if (seen[c])
      return 1;
    seen[c] = true;
    r->col[c] = i;
  }
  for (size_t c = 0; c < C_NEEDED; c++)
    if (!seen[c])
      return 1;
  r->nheader = r->nfields;
  return 0;
}

/* One row into its sensor's minute; 1 when it is not a row in time order. */
static int minutes_row(struct minutes_reader *r) {
  if (r->record == 1)
    return minutes_header(r);
  if (r->nfields != r->nheader)
    return 1;
  const char *stamp = r->field[r->col[C_TIME]];
  const char *source = r->field[r->col[C_SOURCE]];
  const char *sensor = r->field[r->col[C_SENSOR]];
  const char *text = r->field[r->col[C_VALUE]];
  const char *unit = r->field[r->col[C_UNIT]];
  if (strlen(stamp) < 16 || stamp[10] != 'T')
    return 1;
  char *tail = NULL;
  double value = *text ? strtod(text, &tail) : NAN;
  if (tail && *tail)
    return 1;
  if (!isfinite(value))
    return 0; /* a sensor that could not be read: no figure */
  struct minute_acc *a = find_acc(&r->m, source, sensor);
  int order = a->n ? strncmp(stamp, a->minute, 16) : 1;
  if (order < 0)
    return 1;
  if (order > 0) {
    int rc = flush_minute(r->st, r->run_id, a, r->err, r->errn);
    if (rc != 0)
      return rc;
    memcpy(a->minute, stamp, 16);
    a->minute[16] = '\0';
    a->min = a->max = value;
    a->sum = 0;
  }
  if (!a->unit)
    a->unit = strdup(unit);
  a->n++;
  a->sum += value;
  a->min = value < a->min ? value : a->min;
  a->max = value > a->max ? value : a->max;
  return 0;
}

static void minutes_record_end(int terminator, void *ctx) {
  (void)terminator;
  struct minutes_reader *r = ctx;
  r->record++;
  size_t kept = r->nfields < CSV_MAX_FIELDS ? r->nfields : CSV_MAX_FIELDS;
  if (r->rc == 0) {
    r->rc = r->nfields > CSV_MAX_FIELDS ? 1 : minutes_row(r);
    if (r->rc == 1)
      snprintf(r->err, r->errn,
               "telemetry.csv line %zu: not a row of timestamp, source, "
               "sensor, label, value, unit in time order",
               r->record);
  }
  for (size_t i = 0; i < kept; i++)
    free(r->field[i]);
  r->nfields = 0;
}

/* Spaces around a field are the sensor's own (a label may end in one). */
static int csv_no_space(unsigned char c) {
  (void)c;
  return 0;
}

/* telemetry.csv's rows as per-minute min/mean/max per sensor, replacing the
 * run's earlier ones; 1 with err naming the bad line. */
static int store_minutes(struct kiln_store *st, const char *run_id,
                         const char *data, size_t len, char *err, size_t errn) {
  struct kiln_store_param id = text_p(run_id);
  if (exec(st, "DELETE FROM telemetry_minutes WHERE run_id = $1", 1, &id, NULL,
           NULL, err, errn) != 0)
    return -1;
  struct minutes_reader r = {
      .st = st, .run_id = run_id, .err = err, .errn = errn};
  struct csv_parser csv;
  if (csv_init(&csv, CSV_STRICT | CSV_STRICT_FINI) != 0) {
    snprintf(err, errn, "telemetry.csv: out of memory");
    return -1;
  }
  csv_set_space_func(&csv, csv_no_space);
  if (csv_parse(&csv, data, len, minutes_field, minutes_record_end, &r) !=
          len ||
      csv_fini(&csv, minutes_field, minutes_record_end, &r) != 0) {
    if (r.rc == 0) {
      r.rc = 1;
      snprintf(err, errn, "telemetry.csv line %zu: %s", r.record + 1,
               csv_strerror(csv_error(&csv)));
    }
  }
  csv_free(&csv);
  for (size_t i = 0; i < CSV_MAX_FIELDS && i < r.nfields; i++)
    free(r.field[i]);
  for (size_t i = 0; r.rc == 0 && i < r.m.n; i++)
    r.rc = flush_minute(st, run_id, &r.m.acc[i], err, errn);
  minutes_free(&r.m);
  return r.rc;
}

int kiln_store_put_file(struct kiln_store *st, const char *run_id,
                        const char *name, const void *data, size_t len,
                        char *err, size_t errn) {
  if (bad_run_id(run_id, err, errn))
    return 1;
  if (name && strcmp(name, "ocp.jsonl") == 0) {
    snprintf(err, errn,
             "file ocp.jsonl: the OCP stream is sent line by line, not as a "
             "file");
    return 1;
  }
  if (!kiln_store_file_name_known(name)) {
    snprintf(err, errn,
             "file '%.100s': not a report file the store takes (junit.xml, "
             "results.tap, summary.txt, report.html, telemetry.csv)",
             name ? name : "");
    return 1;
  }
  if (exec0(st, "BEGIN", err, errn) != 0)
    return -1;
  if (ensure_run(st, run_id, err, errn) != 0)
    return rollback(st);
  if (strcmp(name, "telemetry.csv") == 0) {
    int rc = store_minutes(st, run_id, data, len, err, errn);
    if (rc != 0) {
      char keep[512];
      snprintf(keep, sizeof keep, "%s", err);
      rollback(st);
      snprintf(err, errn, "%s", keep);
      return rc;
    }
  }
  char now[40];
  kiln_format_time(kiln_now(), now, sizeof now);
  struct kiln_store_param p[] = {
      text_p(run_id),
      text_p(name),
      {.kind = KILN_P_BLOB, .blob = data, .len = len},
      int_p((int64_t)len),
      text_p(now),
  };
  if (exec(st,
           "INSERT INTO files (run_id, name, content, size, received) "
           "VALUES ($1, $2, $3, $4, $5) ON CONFLICT (run_id, name) DO "
           "UPDATE SET content = $3, size = $4, received = $5",
           5, p, NULL, NULL, err, errn) != 0 ||
      exec0(st, "COMMIT", err, errn) != 0)
    return rollback(st);
  return 0;
}

/* ---- queries ---- */

static char *cell_dup(const struct kiln_store_cell *c) {
  return c->data ? strndup(c->data, c->len) : NULL;
}

#define RUN_COLUMNS                                                            \
  "id, serial, host, sku, profile, started, ended, verdict, last_seen, "       \
  "exit_code, ocp_lines, last_contiguous"

static void run_from_row(struct kiln_store_run *r,
                         const struct kiln_store_cell *c) {
  char **text[] = {&r->id,    &r->serial,  &r->host,
                   &r->sku,   &r->profile, &r->started,
                   &r->ended, &r->verdict, &r->last_seen};
  for (size_t i = 0; i < sizeof text / sizeof text[0]; i++)
    *text[i] = cell_dup(&c[i]);
  r->exit_code = c[9].data ? (int)strtol(c[9].data, NULL, 10) : -1;
  r->ocp_lines = strtoll(c[10].data, NULL, 10);
  r->last_contiguous = strtoll(c[11].data, NULL, 10);
}

struct run_list {
  struct kiln_store_run *runs;
  size_t n, cap;
};

static int run_row(void *ctx, size_t ncols, const struct kiln_store_cell *c) {
  struct run_list *l = ctx;
  if (ncols < 12)
    return -1;
  if (l->n == l->cap) {
    l->cap = l->cap ? 2 * l->cap : 16;
    l->runs = kiln_xrealloc(l->runs, l->cap * sizeof *l->runs);
  }
  run_from_row(&l->runs[l->n++], c);
  return 0;
}

/* The runs sql selects (RUN_COLUMNS), into l; on failure l is left empty
 * and -1 returned. */
static int select_runs(struct kiln_store *st, const char *sql, size_t np,
                       const struct kiln_store_param *p, struct run_list *l,
                       char *err, size_t errn) {
  *l = (struct run_list){0};
  if (exec(st, sql, np, p, run_row, l, err, errn) == 0)
    return 0;
  kiln_store_runs_free(l->runs, l->n);
  *l = (struct run_list){0};
  return -1;
}

int kiln_store_runs(struct kiln_store *st, const struct kiln_store_filter *f,
                    struct kiln_store_run **runs, size_t *n, char *err,
                    size_t errn) {
  char sql[768];
  struct kiln_store_param p[5];
  size_t np = 0;
  int w = snprintf(sql, sizeof sql, "SELECT " RUN_COLUMNS " FROM runs");
  const char *const cols[] = {"serial", "verdict", "started"};
  const char *const vals[] = {f ? f->serial : NULL, f ? f->verdict : NULL,
                              f ? f->since : NULL};
  for (size_t i = 0; i < 3; i++) {
    if (!vals[i])
      continue;
    p[np++] = text_p(vals[i]);
    w +=
        snprintf(sql + w, sizeof sql - (size_t)w, "%s %s %s $%zu",
                 np == 1 ? " WHERE" : " AND", cols[i], i == 2 ? ">=" : "=", np);
  }
  if (f && f->before) {
    /* The first term only lets the index seek to the page's start. */
    p[np++] = text_p(f->before);
    w += snprintf(sql + w, sizeof sql - (size_t)w,
                  "%s COALESCE(started, last_seen) <= (SELECT "
                  "COALESCE(started, last_seen) FROM runs WHERE id = $%zu) "
                  "AND (COALESCE(started, last_seen), id) < (SELECT "
                  "COALESCE(started, last_seen), id FROM runs WHERE id = $%zu)",
                  np == 1 ? " WHERE" : " AND", np, np);
  }
  w += snprintf(sql + w, sizeof sql - (size_t)w,
                " ORDER BY COALESCE(started, last_seen) DESC, id DESC");
  if (f && f->limit) {
    p[np++] = int_p((int64_t)f->limit);
    snprintf(sql + w, sizeof sql - (size_t)w, " LIMIT $%zu", np);
  }
  struct run_list l;
  int rc = select_runs(st, sql, np, p, &l, err, errn);
  *runs = l.runs;
  *n = l.n;
  return rc;
}

int kiln_store_run_get(struct kiln_store *st, const char *run_id,
                       struct kiln_store_run *run, char *err, size_t errn) {
  memset(run, 0, sizeof *run);
  struct kiln_store_param id = text_p(run_id);
  struct run_list l;
  if (select_runs(st, "SELECT " RUN_COLUMNS " FROM runs WHERE id = $1", 1, &id,
                  &l, err, errn) != 0)
    return -1;
  if (l.n == 0)
    return 1;
  *run = l.runs[0];
  free(l.runs);
  return 0;
}

void kiln_store_run_clear(struct kiln_store_run *r) {
  char *text[] = {r->id,      r->serial, r->host,    r->sku,      r->profile,
                  r->started, r->ended,  r->verdict, r->last_seen};
  for (size_t i = 0; i < sizeof text / sizeof text[0]; i++)
    free(text[i]);
  memset(r, 0, sizeof *r);
}

void kiln_store_runs_free(struct kiln_store_run *runs, size_t n) {
  for (size_t i = 0; i < n; i++)
    kiln_store_run_clear(&runs[i]);
  free(runs);
}

struct line_cb {
  kiln_store_line_fn fn;
  void *ctx;
};

static int line_row(void *ctx, size_t ncols, const struct kiln_store_cell *c) {
  struct line_cb *cb = ctx;
  char *line = cell_dup(&c[1]);
  int rc = cb->fn(cb->ctx, strtoll(c[0].data, NULL, 10), line ? line : "");
  free(line);
  return rc;
}

int kiln_store_stream(struct kiln_store *st, const char *run_id,
                      kiln_store_line_fn fn, void *ctx, char *err,
                      size_t errn) {
  struct line_cb cb = {fn, ctx};
  struct kiln_store_param id = text_p(run_id);
  return exec(st,
              "SELECT seq, line FROM ocp_lines WHERE run_id = $1 ORDER BY "
              "seq",
              1, &id, line_row, &cb, err, errn);
}

struct file_list {
  struct kiln_store_file *files;
  size_t n;
};

static int file_row(void *ctx, size_t ncols, const struct kiln_store_cell *c) {
  struct file_list *l = ctx;
  l->files = kiln_xrealloc(l->files, (l->n + 1) * sizeof *l->files);
  l->files[l->n++] = (struct kiln_store_file){
      .name = cell_dup(&c[0]),
      .size = strtoll(c[1].data, NULL, 10),
      .received = cell_dup(&c[2]),
  };
  return 0;
}

int kiln_store_files(struct kiln_store *st, const char *run_id,
                     struct kiln_store_file **files, size_t *n, char *err,
                     size_t errn) {
  struct file_list l = {0};
  struct kiln_store_param id = text_p(run_id);
  int rc = exec(st,
                "SELECT name, size, received FROM files WHERE run_id = $1 "
                "ORDER BY name",
                1, &id, file_row, &l, err, errn);
  if (rc != 0) {
    kiln_store_files_free(l.files, l.n);
    l.files = NULL;
    l.n = 0;
  }
  *files = l.files;
  *n = l.n;
  return rc;
}

void kiln_store_files_free(struct kiln_store_file *files, size_t n) {
  for (size_t i = 0; i < n; i++) {
    free(files[i].name);
    free(files[i].received);
  }
  free(files);
}

struct blob_out {
  char *data;
  size_t len;
  bool found;
};

static int blob_row(void *ctx, size_t ncols, const struct kiln_store_cell *c) {
  struct blob_out *b = ctx;
  b->data = kiln_xrealloc(NULL, c[0].len + 1);
  memcpy(b->data, c[0].data, c[0].len);
  b->data[c[0].len] = '\0';
  b->len = c[0].len;
  b->found = true;
  return 0;
}

int kiln_store_file_get(struct kiln_store *st, const char *run_id,
                        const char *name, char **data, size_t *len, char *err,
                        size_t errn) {
  struct blob_out b = {0};
  struct kiln_store_param p[] = {text_p(run_id), text_p(name)};
  *data = NULL;
  *len = 0;
  if (exec(st, "SELECT content FROM files WHERE run_id = $1 AND name = $2", 2,
           p, blob_row, &b, err, errn) != 0) {
    free(b.data);
    return -1;
  }
  if (!b.found)
    return 1;
  *data = b.data;
  *len = b.len;
  return 0;
}

struct text_rows {
  const char *const *names;
  kiln_store_row_text_fn fn;
  void *ctx;
};

static int text_row(void *ctx, size_t ncols, const struct kiln_store_cell *c) {
  struct text_rows *t = ctx;
  char *values[16] = {0};
  if (ncols > 16)
    ncols = 16;
  for (size_t i = 0; i < ncols; i++)
    values[i] = cell_dup(&c[i]);
  int rc = t->fn(t->ctx, ncols, t->names, (const char *const *)values);
  for (size_t i = 0; i < ncols; i++)
    free(values[i]);
  return rc;
}

int kiln_store_rows(struct kiln_store *st, const char *run_id,
                    enum kiln_store_table table, kiln_store_row_text_fn fn,
                    void *ctx, char *err, size_t errn) {
  static const char *const steps[] = {"step_id", "name", "status", "started",
                                      "ended"};
  static const char *const measurements[] = {"seq",   "step_id", "name",
                                             "value", "unit",    "subcomponent",
                                             "lo",    "hi",      "validators"};
  static const char *const diagnoses[] = {"seq",     "step_id", "type",
                                          "verdict", "message", "subcomponent"};
  static const char *const inventory[] = {
      "hw_id", "name", "part_type", "location", "serial_number", "part_number"};
  static const char *const telemetry[] = {"source", "sensor", "unit", "minute",
                                          "n",      "min",    "mean", "max"};
  const char *sql;
  struct text_rows t = {.fn = fn, .ctx = ctx};
  switch (table) {
  case KILN_STORE_STEPS:
    sql = "SELECT step_id, name, status, started, ended FROM steps WHERE "
          "run_id = $1 ORDER BY started, step_id";
    t.names = steps;
    break;
  case KILN_STORE_MEASUREMENTS:
    sql = "SELECT seq, step_id, name, value, unit, subcomponent, lo, hi, "
          "validators FROM measurements WHERE run_id = $1 ORDER BY seq";
    t.names = measurements;
    break;
  case KILN_STORE_DIAGNOSES:
    sql = "SELECT seq, step_id, type, verdict, message, subcomponent FROM "
          "diagnoses WHERE run_id = $1 ORDER BY seq";
    t.names = diagnoses;
    break;
  case KILN_STORE_INVENTORY:
    sql = "SELECT hw_id, name, part_type, location, serial_number, "
          "part_number FROM inventory WHERE run_id = $1 ORDER BY hw_id";
    t.names = inventory;
    break;
  case KILN_STORE_TELEMETRY:
    sql = "SELECT source, sensor, unit, minute, n, min, mean, max FROM "
          "telemetry_minutes WHERE run_id = $1 ORDER BY source, sensor, "
          "minute";
    t.names = telemetry;
    break;
  default: snprintf(err, errn, "no such table %d", (int)table); return 1;
  }
  struct kiln_store_param id = text_p(run_id);
  return exec(st, sql, 1, &id, text_row, &t, err, errn);
}

/* ---- queries for the server ---- */

static int totals_row(void *ctx, size_t ncols,
                      const struct kiln_store_cell *c) {
  struct kiln_store_totals *t = ctx;
  if (ncols < 3)
    return -1;
  int64_t *v[] = {&t->runs, &t->runs_in_progress, &t->ocp_lines};
  for (size_t i = 0; i < 3; i++)
    *v[i] = c[i].data ? strtoll(c[i].data, NULL, 10) : 0;
  return 0;
}

int kiln_store_totals(struct kiln_store *st, struct kiln_store_totals *t,
                      char *err, size_t errn) {
  *t = (struct kiln_store_totals){0};
  return exec(st,
              "SELECT COUNT(*), COUNT(*) - COUNT(ended), "
              "COALESCE(SUM(ocp_lines), 0) FROM runs",
              0, NULL, totals_row, t, err, errn);
}

struct count_cb {
  kiln_store_count_fn fn;
  void *ctx;
};

static int count_row(void *ctx, size_t ncols, const struct kiln_store_cell *c) {
  struct count_cb *cb = ctx;
  char *key = cell_dup(&c[0]);
  int rc = cb->fn(cb->ctx, key, strtoll(c[1].data, NULL, 10));
  free(key);
  return rc;
}

int kiln_store_verdict_counts(struct kiln_store *st, kiln_store_count_fn fn,
                              void *ctx, char *err, size_t errn) {
  struct count_cb cb = {fn, ctx};
  return exec(st,
              "SELECT verdict, COUNT(*) FROM runs WHERE ended IS NOT NULL "
              "GROUP BY verdict ORDER BY verdict",
              0, NULL, count_row, &cb, err, errn);
}

int kiln_store_runs_in_progress(struct kiln_store *st,
                                struct kiln_store_run **runs, size_t *n,
                                char *err, size_t errn) {
  struct run_list l;
  int rc = select_runs(st,
                       "SELECT " RUN_COLUMNS " FROM runs WHERE ended IS NULL "
                       "ORDER BY COALESCE(started, last_seen) DESC, id DESC",
                       0, NULL, &l, err, errn);
  *runs = l.runs;
  *n = l.n;
  return rc;
}

/* ---- queries for the line pages ---- */

struct strv {
  char **v;
  size_t n;
};

static void strv_push(struct strv *s, const char *text) {
  s->v = kiln_xrealloc(s->v, (s->n + 1) * sizeof *s->v);
  s->v[s->n++] = kiln_xstrdup(text);
}

static bool strv_has(const struct strv *s, const char *text) {
  for (size_t i = 0; i < s->n; i++)
    if (strcmp(s->v[i], text) == 0)
      return true;
  return false;
}

static void strv_free(char **v, size_t n) {
  for (size_t i = 0; i < n; i++)
    free(v[i]);
  free(v);
}

char *kiln_store_step_module(const char *step_name) {
  const char *name = step_name ? step_name : "";
  return strndup(name, strcspn(name, "["));
}

/* Diagnoses that make a step not pass: a FAIL, or an error artifact. */
#define BAD_DIAGNOSIS "d.type IN ('FAIL', 'ERROR')"

static int text_cell_row(void *ctx, size_t ncols,
                         const struct kiln_store_cell *c) {
  char **out = ctx;
  if (ncols > 0 && c[0].data && !*out)
    *out = cell_dup(&c[0]);
  return 0;
}

/* The plan testRunStart carries (among the first lines of the stream). */
static int live_plan(struct kiln_store *st, struct kiln_store_live *l,
                     char *err, size_t errn) {
  char *line = NULL;
  struct kiln_store_param p[] = {text_p(l->run.id)};
  if (exec(st,
           "SELECT line FROM ocp_lines WHERE run_id = $1 AND seq < 4 AND "
           "line LIKE '%\"testRunStart\"%' ORDER BY seq",
           1, p, text_cell_row, &line, err, errn) != 0)
    return -1;
  json_t *doc = line ? json_loads(line, 0, NULL) : NULL;
  free(line);
  json_t *params = json_object_get(
      json_object_get(json_object_get(doc, "testRunArtifact"), "testRunStart"),
      "parameters");
  struct strv planned = {0};
  size_t i;
  json_t *step;
  json_array_foreach(json_object_get(params, "plannedSteps"), i, step) {
    if (json_is_string(step))
      strv_push(&planned, json_string_value(step));
  }
  l->planned_steps = planned.v;
  l->n_planned = planned.n;
  json_t *secs = json_object_get(params, "plannedSeconds");
  l->planned_seconds = json_is_number(secs) ? json_number_value(secs) : 0;
  json_decref(doc);
  return 0;
}

/* The kind of an OCP record: its artifact's one key, or its own. */
static const char *record_kind(json_t *doc) {
  static const char *const wrappers[] = {"testRunArtifact", "testStepArtifact"};
  for (size_t w = 0; w < 2; w++) {
    json_t *art = json_object_get(doc, wrappers[w]);
    const char *key;
    json_t *v;
    json_object_foreach(art, key, v) {
      if (strcmp(key, "testStepId") != 0)
        return key;
    }
  }
  return json_object_get(doc, "schemaVersion") ? "schemaVersion" : "record";
}

static int live_last_event(struct kiln_store *st, struct kiln_store_live *l,
                           char *err, size_t errn) {
  char *line = NULL;
  struct kiln_store_param p[] = {text_p(l->run.id)};
  if (exec(st,
           "SELECT line FROM ocp_lines WHERE run_id = $1 ORDER BY seq DESC "
           "LIMIT 1",
           1, p, text_cell_row, &line, err, errn) != 0)
    return -1;
  json_t *doc = line ? json_loads(line, 0, NULL) : NULL;
  free(line);
  if (doc) {
    l->last_event = kiln_xstrdup(record_kind(doc));
    l->last_event_time = kiln_xstrdup(jstr(doc, "timestamp"));
  }
  json_decref(doc);
  return 0;
}

struct live_steps {
  struct kiln_store_live *l;
  struct strv running;
  bool failed, errored;
};

static int live_step_row(void *ctx, size_t ncols,
                         const struct kiln_store_cell *c) {
  struct live_steps *s = ctx;
  /* name, started, ended, bad diagnosis FAIL count, ERROR count */
  bool started = c[1].data, ended = c[2].data;
  s->l->steps_started += started;
  s->l->steps_ended += ended;
  if (started && !ended)
    strv_push(&s->running, c[0].data ? c[0].data : "?");
  s->failed |= c[3].data && strtoll(c[3].data, NULL, 10) > 0;
  s->errored |= c[4].data && strtoll(c[4].data, NULL, 10) > 0;
  return 0;
}

static int live_steps(struct kiln_store *st, struct kiln_store_live *l,
                      char *err, size_t errn) {
  struct live_steps s = {.l = l};
  struct kiln_store_param p[] = {text_p(l->run.id)};
  int rc = exec(
      st,
      "SELECT s.name, s.started, s.ended, (SELECT COUNT(*) FROM diagnoses d "
      "WHERE d.run_id = s.run_id AND d.step_id = s.step_id AND d.type = "
      "'FAIL'), (SELECT COUNT(*) FROM diagnoses d WHERE d.run_id = s.run_id "
      "AND (d.step_id = s.step_id OR d.step_id IS NULL) AND d.type = "
      "'ERROR') FROM steps s WHERE s.run_id = $1 ORDER BY s.started, "
      "s.step_id",
      1, p, live_step_row, &s, err, errn);
  l->running_steps = s.running.v;
  l->n_running = s.running.n;
  l->verdict_so_far = s.failed ? "FAIL" : s.errored ? "ERROR" : "PASS";
  return rc;
}

int kiln_store_live_runs(struct kiln_store *st, struct kiln_store_live **out,
                         size_t *n, char *err, size_t errn) {
  struct run_list runs = {0};
  *out = NULL;
  *n = 0;
  if (kiln_store_runs_in_progress(st, &runs.runs, &runs.n, err, errn) != 0)
    return -1;
  struct kiln_store_live *live = kiln_xcalloc(runs.n + 1, sizeof *live);
  int rc = 0;
  for (size_t i = 0; i < runs.n; i++) {
    live[i].run = runs.runs[i];
    live[i].verdict_so_far = "PASS";
    if (rc == 0)
      rc = live_plan(st, &live[i], err, errn) ||
                   live_last_event(st, &live[i], err, errn) ||
                   live_steps(st, &live[i], err, errn)
               ? -1
               : 0;
  }
  free(runs.runs);
  if (rc != 0) {
    kiln_store_live_free(live, runs.n);
    return -1;
  }
  *out = live;
  *n = runs.n;
  return 0;
}

void kiln_store_live_free(struct kiln_store_live *runs, size_t n) {
  for (size_t i = 0; i < n; i++) {
    kiln_store_run_clear(&runs[i].run);
    strv_free(runs[i].planned_steps, runs[i].n_planned);
    strv_free(runs[i].running_steps, runs[i].n_running);
    free(runs[i].last_event);
    free(runs[i].last_event_time);
  }
  free(runs);
}

struct failing {
  struct strv steps;
  char *first;
};

static int failing_row(void *ctx, size_t ncols,
                       const struct kiln_store_cell *c) {
  struct failing *f = ctx;
  /* step name (NULL: the run itself), message */
  const char *name = c[0].data ? c[0].data : "run";
  if (!strv_has(&f->steps, name))
    strv_push(&f->steps, name);
  if (!f->first && c[1].data)
    f->first = cell_dup(&c[1]);
  return 0;
}

int kiln_store_finished_runs(struct kiln_store *st, const char *since,
                             struct kiln_store_finished **out, size_t *n,
                             char *err, size_t errn) {
  struct run_list runs;
  struct kiln_store_param since_p = text_p(since ? since : "");
  *out = NULL;
  *n = 0;
  if (select_runs(st,
                  "SELECT " RUN_COLUMNS " FROM runs WHERE ended IS NOT NULL "
                  "AND ended >= $1 ORDER BY ended DESC, id DESC",
                  1, &since_p, &runs, err, errn) != 0)
    return -1;
  struct kiln_store_finished *done = kiln_xcalloc(runs.n + 1, sizeof *done);
  int rc = 0;
  for (size_t i = 0; i < runs.n; i++) {
    done[i].run = runs.runs[i];
    struct failing f = {0};
    struct kiln_store_param p[] = {text_p(done[i].run.id)};
    if (rc == 0)
      rc = exec(st,
                "SELECT s.name, d.message FROM diagnoses d LEFT JOIN steps s "
                "ON s.run_id = d.run_id AND s.step_id = d.step_id WHERE "
                "d.run_id = $1 AND " BAD_DIAGNOSIS " ORDER BY d.seq",
                1, p, failing_row, &f, err, errn);
    done[i].failing_steps = f.steps.v;
    done[i].n_failing = f.steps.n;
    done[i].first_diagnosis = f.first;
  }
  free(runs.runs);
  if (rc != 0) {
    kiln_store_finished_free(done, runs.n);
    return -1;
  }
  *out = done;
  *n = runs.n;
  return 0;
}

void kiln_store_finished_free(struct kiln_store_finished *runs, size_t n) {
  for (size_t i = 0; i < n; i++) {
    kiln_store_run_clear(&runs[i].run);
    strv_free(runs[i].failing_steps, runs[i].n_failing);
    free(runs[i].first_diagnosis);
  }
  free(runs);
}

struct yields {
  struct kiln_store_yield *y;
  size_t n;
};

static int yield_row(void *ctx, size_t ncols, const struct kiln_store_cell *c) {
  struct yields *ys = ctx;
  /* step name, status, bad diagnoses */
  const char *status = c[1].data ? c[1].data : "";
  if (strcmp(status, "SKIP") == 0)
    return 0;
  char *module = kiln_store_step_module(c[0].data);
  struct kiln_store_yield *y = NULL;
  for (size_t i = 0; i < ys->n && !y; i++)
    if (strcmp(ys->y[i].module, module) == 0)
      y = &ys->y[i];
  if (!y) {
    ys->y = kiln_xrealloc(ys->y, (ys->n + 1) * sizeof *ys->y);
    y = &ys->y[ys->n++];
    *y = (struct kiln_store_yield){.module = module};
  } else {
    free(module);
  }
  y->total++;
  y->passed += strcmp(status, "COMPLETE") == 0 && c[2].data &&
               strtoll(c[2].data, NULL, 10) == 0;
  return 0;
}

static int by_module(const void *a, const void *b) {
  return strcmp(((const struct kiln_store_yield *)a)->module,
                ((const struct kiln_store_yield *)b)->module);
}

int kiln_store_first_pass_yield(struct kiln_store *st, const char *since,
                                struct kiln_store_yield **out, size_t *n,
                                char *err, size_t errn) {
  struct yields ys = {0};
  struct kiln_store_param p[] = {text_p(since ? since : "")};
  /* A DUT's first run in the shift is the one no earlier run of its serial
   * precedes; a retest after it is not a first pass. */
  int rc = exec(
      st,
      "SELECT s.name, s.status, (SELECT COUNT(*) FROM diagnoses d WHERE "
      "d.run_id = s.run_id AND d.step_id = s.step_id AND " BAD_DIAGNOSIS
      ") FROM steps s JOIN runs r ON r.id = s.run_id WHERE r.ended IS NOT "
      "NULL AND r.serial IS NOT NULL AND r.started >= $1 AND NOT EXISTS "
      "(SELECT 1 FROM runs e WHERE e.serial = r.serial AND e.started >= $1 "
      "AND (e.started < r.started OR (e.started = r.started AND e.id < "
      "r.id))) ORDER BY s.run_id, s.step_id",
      1, p, yield_row, &ys, err, errn);
  if (rc != 0) {
    kiln_store_yield_free(ys.y, ys.n);
    *out = NULL;
    *n = 0;
    return -1;
  }
  if (ys.n > 1)
    qsort(ys.y, ys.n, sizeof *ys.y, by_module);
  *out = ys.y;
  *n = ys.n;
  return 0;
}

void kiln_store_yield_free(struct kiln_store_yield *y, size_t n) {
  for (size_t i = 0; i < n; i++)
    free(y[i].module);
  free(y);
}

struct group_values {
  const char *module;
  double *v;
  char **run;
  size_t n;
};

static int group_value_row(void *ctx, size_t ncols,
                           const struct kiln_store_cell *c) {
  struct group_values *g = ctx;
  /* run id, value, step name */
  char *module = kiln_store_step_module(c[2].data);
  bool same = strcmp(module, g->module) == 0;
  free(module);
  if (!same || !c[1].data)
    return 0;
  g->v = kiln_xrealloc(g->v, (g->n + 1) * sizeof *g->v);
  g->run = kiln_xrealloc(g->run, (g->n + 1) * sizeof *g->run);
  g->v[g->n] = strtod(c[1].data, NULL);
  g->run[g->n++] = cell_dup(&c[0]);
  return 0;
}

int kiln_store_group_values(struct kiln_store *st,
                            const struct kiln_store_group *grp,
                            const char *module, const char *name,
                            size_t max_runs, double **values, char ***run_ids,
                            size_t *n, char *err, size_t errn) {
  struct group_values g = {.module = module ? module : ""};
  bool by_sku = grp->sku != NULL;
  struct kiln_store_param p[] = {text_p(name),
                                 text_p(by_sku ? grp->sku : grp->profile),
                                 int_p((int64_t)(max_runs ? max_runs : 1))};
  /* The group's recent passing runs first (the index on started), then
   * their values of the measurement. */
  char sql[1024];
  snprintf(sql, sizeof sql,
           "SELECT m.run_id, m.value, s.name FROM measurements m JOIN steps "
           "s ON s.run_id = m.run_id AND s.step_id = m.step_id JOIN (SELECT "
           "id, started FROM runs WHERE verdict = 'PASS' AND %s ORDER BY "
           "started DESC, id DESC LIMIT $3) r ON r.id = m.run_id WHERE "
           "m.name = $1 AND m.value IS NOT NULL ORDER BY r.started DESC, "
           "r.id DESC, m.seq",
           by_sku ? "sku = $2" : "sku IS NULL AND profile = $2");
  int rc = exec(st, sql, 3, p, group_value_row, &g, err, errn);
  if (rc != 0) {
    free(g.v);
    strv_free(g.run, g.n);
    g = (struct group_values){0};
  }
  *values = g.v;
  *run_ids = g.run;
  *n = g.n;
  return rc ? -1 : 0;
}
