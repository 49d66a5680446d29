/* The line server's store (src/store/), every case against both backends:
 * SQLite in a temporary directory, and a real PostgreSQL this test starts
 * itself (initdb and pg_ctl in a temporary directory, as an unprivileged
 * user, on a unix socket there only) and stops at the end. Without
 * PostgreSQL installed its cases are skipped, saying so. The stream fed is
 * a real one: tests/fixtures/ocp/line-sdc.* are the ocp.jsonl, telemetry.csv
 * and summary.txt of `kiln run --profile tests/fixtures/ocp/line-fixture.ini
 * --serial SN-LINE-0001 --duration 62s --inject cpu.sdc` (the thermal
 * monitor and cpu.compute; its telemetry spans two minutes) under
 * `umockdev-run -d tests/fixtures/umockdev/healthy.umockdev`. */
#include <libpq-fe.h>
#include <math.h>
#include <pthread.h>
#include <pwd.h>
#include <setjmp.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "fsutil.h"
#include "kiln/textutil.h"
#include "line_runs.h"
#include "store/store.h"

#define FIXTURE_OCP "tests/fixtures/ocp/line-sdc.ocp.jsonl"
#define FIXTURE_CSV "tests/fixtures/ocp/line-sdc.telemetry.csv"
#define FIXTURE_SUMMARY "tests/fixtures/ocp/line-sdc.summary.txt"
#define PG_BIN "/usr/lib/postgresql/15/bin"

/* One backend the cases run against. */
struct env {
  const char *name;
  bool pg;
  char dir[64]; /* the temporary directory (SQLite files; PG's cluster) */
  bool started, available;
  int databases; /* fresh stores made so far */
  char url[512]; /* the latest fresh store's url */
};

/* ---- the fixture ---- */

struct lines {
  char *text;
  char **line;
  size_t n;
};

static void read_lines(const char *path, struct lines *l) {
  char err[512];
  l->text = kiln_read_text_file(path, 16u << 20, "a fixture", err, sizeof err);
  if (!l->text)
    fail_msg("%s", err);
  l->line = NULL;
  l->n = 0;
  for (char *s = l->text; *s;) {
    char *nl = strchr(s, '\n');
    if (nl)
      *nl = '\0';
    l->line = kiln_xrealloc(l->line, (l->n + 1) * sizeof *l->line);
    l->line[l->n++] = s;
    s = nl ? nl + 1 : s + strlen(s);
  }
}

static void free_lines(struct lines *l) {
  free(l->text);
  free(l->line);
}

static size_t lines_with(const struct lines *l, const char *needle) {
  size_t n = 0;
  for (size_t i = 0; i < l->n; i++)
    n += strstr(l->line[i], needle) != NULL;
  return n;
}

/* ---- PostgreSQL, started and stopped by this test ---- */

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char cmd[2048];
  vsnprintf(cmd, sizeof cmd, fmt, ap);
  va_end(ap);
  return system(cmd);
}

/* As root, postgres runs as nobody (it refuses root); else as this user. */
static const char *as_user(void) {
  return geteuid() == 0 ? "runuser -u nobody -- " : "";
}

/* Whether PostgreSQL is here to start; why not in why. */
static bool pg_installed(char *why, size_t n) {
  if (access(PG_BIN "/initdb", X_OK) != 0 ||
      access(PG_BIN "/pg_ctl", X_OK) != 0) {
    snprintf(why, n,
             "PostgreSQL is not installed (no %s/initdb, pg_ctl): apt-get "
             "install postgresql",
             PG_BIN);
    return false;
  }
  if (geteuid() == 0 && !getpwnam("nobody")) {
    snprintf(why, n, "running as root and no user nobody to run postgres as");
    return false;
  }
  return true;
}

/* Starts a PostgreSQL server of its own; one that is installed but does
 * not start fails the case. */
static void pg_start(struct env *e) {
  strcpy(e->dir, "/tmp/kiln-pg-XXXXXX");
  if (!mkdtemp(e->dir))
    fail_msg("mkdtemp: %m");
  if (geteuid() == 0 && chown(e->dir, getpwnam("nobody")->pw_uid,
                              getpwnam("nobody")->pw_gid) != 0)
    fail_msg("chown %s: %m", e->dir);
  if (sh("cd %s && %s%s/initdb -D %s/data -A trust -U kiln --no-sync -E "
         "UTF8 >%s/initdb.log 2>&1",
         e->dir, as_user(), PG_BIN, e->dir, e->dir) != 0) {
    sh("cat %s/initdb.log >&2", e->dir);
    fail_msg("initdb failed in %s", e->dir);
  }
  if (sh("cd %s && %s%s/pg_ctl -D %s/data -l %s/server.log -w -s -o \"-k "
         "%s -c listen_addresses= -F\" start",
         e->dir, as_user(), PG_BIN, e->dir, e->dir, e->dir) != 0) {
    sh("cat %s/server.log >&2", e->dir);
    fail_msg("pg_ctl start failed in %s", e->dir);
  }
  e->available = true;
}

static void pg_stop(struct env *e) {
  if (!e->available)
    return;
  sh("cd %s && %s%s/pg_ctl -D %s/data -m fast -w -s stop", e->dir, as_user(),
     PG_BIN, e->dir);
  fs_rm_rf(e->dir);
}

static void pg_admin(const struct env *e, const char *sql) {
  char url[256];
  snprintf(url, sizeof url, "postgresql:///postgres?host=%s&user=kiln", e->dir);
  PGconn *c = PQconnectdb(url);
  assert_int_equal(PQstatus(c), CONNECTION_OK);
  PGresult *r = PQexec(c, sql);
  if (PQresultStatus(r) != PGRES_COMMAND_OK)
    fail_msg("%s: %s", sql, PQerrorMessage(c));
  PQclear(r);
  PQfinish(c);
}

/* ---- the backends ---- */

/* Makes the backend ready on its first use: SQLite's directory, or a
 * PostgreSQL server. */
static void env_start(struct env *e) {
  if (e->started)
    return;
  e->started = true;
  if (e->pg) {
    pg_start(e);
    return;
  }
  strcpy(e->dir, "/tmp/kiln-store-XXXXXX");
  if (!mkdtemp(e->dir))
    fail_msg("mkdtemp: %m");
  e->available = true;
}

/* The url of a new, empty store of the backend, in e->url. */
static void fresh_url(void **state) {
  struct env *e = *state;
  env_start(e);
  assert_true(e->available);
  int n = ++e->databases;
  if (e->pg) {
    char sql[64];
    snprintf(sql, sizeof sql, "CREATE DATABASE t%d", n);
    pg_admin(e, sql);
    snprintf(e->url, sizeof e->url, "postgresql:///t%d?host=%s&user=kiln", n,
             e->dir);
  } else {
    snprintf(e->url, sizeof e->url, "sqlite:%s/t%d.db", e->dir, n);
  }
}

/* A new, empty store of the backend (its url in e->url). */
static struct kiln_store *fresh_store(void **state) {
  struct env *e = *state;
  fresh_url(state);
  struct kiln_store *st = NULL;
  char err[512] = "";
  if (kiln_store_open(e->url, &st, err, sizeof err) != 0)
    fail_msg("open %s: %s", e->url, err);
  return st;
}

/* Runs sql on the store at url outside the store (what another program or
 * an older kiln would have done). */
static void raw_exec(const struct env *e, const char *sql) {
  if (e->pg) {
    PGconn *c = PQconnectdb(e->url);
    assert_int_equal(PQstatus(c), CONNECTION_OK);
    PGresult *r = PQexec(c, sql);
    if (PQresultStatus(r) != PGRES_COMMAND_OK)
      fail_msg("%s: %s", sql, PQerrorMessage(c));
    PQclear(r);
    PQfinish(c);
    return;
  }
  sqlite3 *db;
  assert_int_equal(sqlite3_open(e->url + strlen("sqlite:"), &db), SQLITE_OK);
  char *msg = NULL;
  if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
    fail_msg("%s: %s", sql, msg);
  sqlite3_close(db);
}

/* Appends lines [from, to) of l in batches of batch lines. */
static int64_t feed(struct kiln_store *st, const char *run_id,
                    const struct lines *l, size_t from, size_t to, size_t batch,
                    size_t *stored) {
  struct kiln_store_ack ack = {.last_contiguous = -2};
  char err[512];
  for (size_t i = from; i < to; i += batch) {
    size_t n = to - i < batch ? to - i : batch;
    int rc = kiln_store_append(st, run_id, (int64_t)i,
                               (const char *const *)l->line + i, n, &ack, err,
                               sizeof err);
    if (rc != 0)
      fail_msg("append %zu..%zu: %s", i, i + n, err);
    if (stored)
      *stored += ack.stored;
  }
  return ack.last_contiguous;
}

struct row_count {
  size_t n;
};
static int count_row(void *ctx, size_t ncols, const char *const *names,
                     const char *const *values) {
  ((struct row_count *)ctx)->n++;
  return 0;
}
static size_t rows(struct kiln_store *st, const char *run_id,
                   enum kiln_store_table t) {
  struct row_count c = {0};
  char err[512];
  if (kiln_store_rows(st, run_id, t, count_row, &c, err, sizeof err) != 0)
    fail_msg("rows: %s", err);
  return c.n;
}

struct stream_check {
  const struct lines *want;
  size_t n;
};
static int check_line(void *ctx, int64_t seq, const char *line) {
  struct stream_check *c = ctx;
  assert_int_equal(seq, (int64_t)c->n);
  assert_true(c->n < c->want->n);
  assert_string_equal(line, c->want->line[c->n]);
  c->n++;
  return 0;
}
/* The stored stream of run_id equals l, line for line. */
static void assert_stream_is(struct kiln_store *st, const char *run_id,
                             const struct lines *l) {
  struct stream_check c = {l, 0};
  char err[512];
  assert_int_equal(
      kiln_store_stream(st, run_id, check_line, &c, err, sizeof err), 0);
  assert_int_equal(c.n, l->n);
}

/* ---- the cases ---- */

static void schema_is_versioned_and_migrated_once(void **state) {
  struct env *e = *state;
  struct kiln_store *st = fresh_store(state);
  assert_int_equal(kiln_store_schema_version(st), KILN_STORE_SCHEMA_VERSION);
  kiln_store_close(st);
  char err[512];
  assert_int_equal(kiln_store_open(e->url, &st, err, sizeof err), 0);
  assert_int_equal(kiln_store_schema_version(st), KILN_STORE_SCHEMA_VERSION);
  kiln_store_close(st);
  /* A store a newer kiln wrote is refused, saying so. */
  raw_exec(e, "INSERT INTO schema_version (version, applied) VALUES (99, "
              "'2026-12-02T00:00:00Z')");
  assert_int_equal(kiln_store_open(e->url, &st, err, sizeof err), -1);
  assert_null(st);
  assert_non_null(strstr(err, "version 99, newer than this kiln's"));
}

struct opener {
  const char *url;
  pthread_barrier_t *go;
  int rc;
  char err[512];
};

static void *open_at_once(void *arg) {
  struct opener *o = arg;
  struct kiln_store *st = NULL;
  pthread_barrier_wait(o->go);
  o->rc = kiln_store_open(o->url, &st, o->err, sizeof o->err);
  if (o->rc == 0 && kiln_store_schema_version(st) != KILN_STORE_SCHEMA_VERSION)
    o->rc = 99;
  kiln_store_close(st);
  return NULL;
}

/* Several servers starting at once on a new store (a line's hosts after a
 * power cut): each opens it, and the schema is made once. */
static void servers_started_at_once_migrate_once(void **state) {
  struct env *e = *state;
  fresh_url(state);
  enum { SERVERS = 8 };
  pthread_barrier_t go;
  pthread_barrier_init(&go, NULL, SERVERS);
  struct opener o[SERVERS];
  pthread_t t[SERVERS];
  for (int i = 0; i < SERVERS; i++) {
    o[i] = (struct opener){.url = e->url, .go = &go};
    assert_int_equal(pthread_create(&t[i], NULL, open_at_once, &o[i]), 0);
  }
  for (int i = 0; i < SERVERS; i++)
    pthread_join(t[i], NULL);
  pthread_barrier_destroy(&go);
  for (int i = 0; i < SERVERS; i++)
    if (o[i].rc != 0)
      fail_msg("server %d of %d: %d %s", i, SERVERS, o[i].rc, o[i].err);
}

/* The database restarted under a running server (an upgrade, a failover):
 * the next batch reconnects and is stored, nothing lost (PostgreSQL). */
static void a_restarted_database_is_reconnected(void **state) {
  struct env *e = *state;
  struct kiln_store *st = fresh_store(state);
  struct lines l;
  read_lines(FIXTURE_OCP, &l);
  assert_int_equal(feed(st, "r", &l, 0, 100, 50, NULL), 99);
  if (sh("cd %s && %s%s/pg_ctl -D %s/data -l %s/server.log -m fast -w -s "
         "-o \"-k %s -c listen_addresses= -F\" restart",
         e->dir, as_user(), PG_BIN, e->dir, e->dir, e->dir) != 0)
    fail_msg("pg_ctl restart failed in %s", e->dir);
  assert_int_equal(feed(st, "r", &l, 100, l.n, 50, NULL), (int64_t)l.n - 1);
  assert_stream_is(st, "r", &l);
  free_lines(&l);
  kiln_store_close(st);
}

static void bad_url_is_refused_naming_it(void **state) {
  struct env *e = *state;
  env_start(e);
  struct kiln_store *st;
  char err[512];
  assert_int_equal(kiln_store_open("mysql://x/y", &st, err, sizeof err), 1);
  assert_non_null(strstr(err, "'mysql://x/y'"));
  char path[128];
  snprintf(path, sizeof path, "sqlite:%s/no/such/dir/x.db", e->dir);
  assert_int_equal(kiln_store_open(path, &st, err, sizeof err), -1);
  assert_non_null(strstr(err, "no/such/dir/x.db"));
}

static void replayed_stream_is_stored_and_parsed(void **state) {
  struct kiln_store *st = fresh_store(state);
  struct lines l;
  read_lines(FIXTURE_OCP, &l);
  size_t stored = 0;
  assert_int_equal(feed(st, "run-1", &l, 0, l.n, 100, &stored),
                   (int64_t)l.n - 1);
  assert_int_equal(stored, l.n);
  assert_stream_is(st, "run-1", &l);

  struct kiln_store_run r;
  char err[512];
  assert_int_equal(kiln_store_run_get(st, "run-1", &r, err, sizeof err), 0);
  assert_string_equal(r.id, "run-1");
  assert_string_equal(r.serial, "SN-LINE-0001");
  assert_string_equal(r.profile, "line-fixture");
  assert_non_null(r.host);
  assert_string_equal(r.verdict, "FAIL"); /* cpu.sdc was injected */
  assert_int_equal(r.exit_code, 1);
  assert_int_equal(r.ocp_lines, (int64_t)l.n);
  assert_int_equal(r.last_contiguous, (int64_t)l.n - 1);
  assert_non_null(r.started);
  assert_non_null(strstr(l.line[1], r.started));     /* testRunStart's time */
  assert_non_null(strstr(l.line[l.n - 1], r.ended)); /* testRunEnd's */
  assert_non_null(r.last_seen);
  kiln_store_run_clear(&r);

  assert_int_equal(rows(st, "run-1", KILN_STORE_STEPS),
                   lines_with(&l, "\"testStepStart\":"));
  assert_int_equal(rows(st, "run-1", KILN_STORE_MEASUREMENTS),
                   lines_with(&l, "\"measurement\":{"));
  assert_int_equal(rows(st, "run-1", KILN_STORE_DIAGNOSES),
                   lines_with(&l, "\"diagnosis\":{") +
                       lines_with(&l, "\"error\":{"));
  assert_int_equal(rows(st, "run-1", KILN_STORE_INVENTORY),
                   lines_with(&l, "\"hardwareInfoId\":") ? 1 : 0);
  free_lines(&l);
  kiln_store_close(st);
}

/* The measurement with limits, and the diagnosis, as the stream says. */
struct find_row {
  const char *column, *value; /* the row wanted */
  char got[16][256];
  bool found;
};
static int find_row_fn(void *ctx, size_t ncols, const char *const *names,
                       const char *const *values) {
  struct find_row *f = ctx;
  for (size_t i = 0; i < ncols; i++)
    if (!f->found && strcmp(names[i], f->column) == 0 && values[i] &&
        strcmp(values[i], f->value) == 0) {
      f->found = true;
      for (size_t j = 0; j < ncols && j < 16; j++)
        snprintf(f->got[j], sizeof f->got[j], "%s",
                 values[j] ? values[j] : "(null)");
    }
  return 0;
}

static void measurements_keep_limits_and_diagnoses_their_words(void **state) {
  struct kiln_store *st = fresh_store(state);
  struct lines l;
  read_lines(FIXTURE_OCP, &l);
  feed(st, "run-1", &l, 0, l.n, 500, NULL);
  char err[512];
  /* gflops_per_core carries a GREATER_THAN_OR_EQUAL validator (0.5). */
  struct find_row f = {.column = "name", .value = "gflops_per_core"};
  assert_int_equal(kiln_store_rows(st, "run-1", KILN_STORE_MEASUREMENTS,
                                   find_row_fn, &f, err, sizeof err),
                   0);
  assert_true(f.found);
  assert_string_equal(f.got[1], "0");                      /* step_id */
  assert_true(fabs(strtod(f.got[6], NULL) - 0.5) < 1e-12); /* lo */
  assert_string_equal(f.got[7], "(null)");                 /* no hi */
  assert_non_null(strstr(f.got[8], "GREATER_THAN_OR_EQUAL"));
  assert_non_null(strstr(f.got[5], "cpu")); /* subcomponent */
  struct find_row d = {.column = "verdict", .value = "cpu-sdc"};
  assert_int_equal(kiln_store_rows(st, "run-1", KILN_STORE_DIAGNOSES,
                                   find_row_fn, &d, err, sizeof err),
                   0);
  assert_true(d.found);
  assert_string_equal(d.got[2], "FAIL");
  assert_non_null(strstr(d.got[4], "computed a wrong FMA result"));
  /* Both limits of one measurement (kiln gives a range as two
   * validators). */
  const char *both[] = {
      "{\"testStepArtifact\":{\"testStepId\":\"3\",\"measurement\":{"
      "\"name\":\"power_w\",\"value\":650.5,\"unit\":\"W\","
      "\"validators\":[{\"name\":\"lo\",\"type\":\"GREATER_THAN_OR_EQUAL\","
      "\"value\":600},{\"name\":\"hi\",\"type\":\"LESS_THAN\",\"value\":"
      "700.25}]}},\"sequenceNumber\":0,\"timestamp\":\"2026-12-02T00:00:"
      "00.000Z\"}"};
  struct kiln_store_ack ack;
  assert_int_equal(
      kiln_store_append(st, "range", 0, both, 1, &ack, err, sizeof err), 0);
  struct find_row r = {.column = "name", .value = "power_w"};
  assert_int_equal(kiln_store_rows(st, "range", KILN_STORE_MEASUREMENTS,
                                   find_row_fn, &r, err, sizeof err),
                   0);
  assert_true(r.found);
  assert_true(fabs(strtod(r.got[3], NULL) - 650.5) < 1e-9);
  assert_true(fabs(strtod(r.got[6], NULL) - 600) < 1e-9);
  assert_true(fabs(strtod(r.got[7], NULL) - 700.25) < 1e-9);
  free_lines(&l);
  kiln_store_close(st);
}

static void the_same_lines_twice_are_stored_once(void **state) {
  struct kiln_store *st = fresh_store(state);
  struct lines l;
  read_lines(FIXTURE_OCP, &l);
  assert_true(l.n > 400);
  size_t stored = 0;
  assert_int_equal(feed(st, "r", &l, 0, 100, 100, &stored), 99);
  /* The same batch again, then one overlapping it. */
  assert_int_equal(feed(st, "r", &l, 0, 100, 100, &stored), 99);
  assert_int_equal(stored, 100);
  assert_int_equal(feed(st, "r", &l, 50, 150, 100, &stored), 149);
  assert_int_equal(stored, 150);
  /* A batch past a gap is stored, but the acknowledgement waits at the
   * gap until it is filled. */
  assert_int_equal(feed(st, "r", &l, 200, 300, 100, &stored), 149);
  assert_int_equal(feed(st, "r", &l, 150, 200, 50, &stored), 299);
  assert_int_equal(feed(st, "r", &l, 0, l.n, 37, &stored), (int64_t)l.n - 1);
  assert_int_equal(stored, l.n);
  assert_stream_is(st, "r", &l);
  struct kiln_store_run r;
  char err[512];
  assert_int_equal(kiln_store_run_get(st, "r", &r, err, sizeof err), 0);
  assert_int_equal(r.ocp_lines, (int64_t)l.n);
  kiln_store_run_clear(&r);
  assert_int_equal(rows(st, "r", KILN_STORE_MEASUREMENTS),
                   lines_with(&l, "\"measurement\":{"));
  assert_int_equal(rows(st, "r", KILN_STORE_DIAGNOSES),
                   lines_with(&l, "\"diagnosis\":{") +
                       lines_with(&l, "\"error\":{"));
  free_lines(&l);
  kiln_store_close(st);
}

static void a_malformed_line_is_refused_and_the_good_ones_kept(void **state) {
  struct kiln_store *st = fresh_store(state);
  struct lines l;
  read_lines(FIXTURE_OCP, &l);
  const char *batch[6];
  for (size_t i = 0; i < 6; i++)
    batch[i] = l.line[i];
  batch[3] = "{\"sequenceNumber\":3, garbage";
  struct kiln_store_ack ack;
  char err[512];
  assert_int_equal(
      kiln_store_append(st, "r", 0, batch, 6, &ack, err, sizeof err), 1);
  /* Every good line is kept, those after the bad one too; the run's
   * acknowledged end stops before the gap. */
  assert_int_equal(ack.bad_line, 4);
  assert_int_equal(ack.refused, 1);
  assert_int_equal(ack.stored, 5);
  assert_int_equal(ack.last_contiguous, 2);
  assert_non_null(strstr(err, "line 4 of the batch (sequence 3): not JSON"));
  assert_null(strstr(err, "more lines"));
  struct kiln_store_run r;
  assert_int_equal(kiln_store_run_get(st, "r", &r, err, sizeof err), 0);
  assert_int_equal(r.ocp_lines, 5);
  kiln_store_run_clear(&r);
  /* A line whose sequenceNumber is not the one due is refused too; two bad
   * lines: the first named, the other counted. */
  batch[3] = l.line[4];
  batch[5] = "{}";
  assert_int_equal(
      kiln_store_append(st, "r", 3, batch + 3, 3, &ack, err, sizeof err), 1);
  assert_int_equal(ack.bad_line, 1);
  assert_int_equal(ack.refused, 2);
  assert_int_equal(ack.stored, 0);
  assert_int_equal(ack.last_contiguous, 2);
  assert_non_null(strstr(err, "sequenceNumber 4 where 3 was due"));
  assert_non_null(strstr(err, "(and 1 more lines of the batch refused)"));
  /* Not an object, and a record without a sequenceNumber. */
  const char *array[] = {"[3]"};
  assert_int_equal(
      kiln_store_append(st, "r", 3, array, 1, &ack, err, sizeof err), 1);
  assert_non_null(strstr(err, "no integer sequenceNumber"));
  /* The rest follows and the stream is whole. */
  assert_int_equal(feed(st, "r", &l, 3, l.n, 200, NULL), (int64_t)l.n - 1);
  assert_stream_is(st, "r", &l);
  /* Bad run ids are refused before anything is stored. */
  assert_int_equal(kiln_store_append(st, "../etc", 0,
                                     (const char *const *)l.line, 1, &ack, err,
                                     sizeof err),
                   1);
  assert_non_null(strstr(err, "run id '../etc'"));
  assert_int_equal(kiln_store_append(st, "", 0, (const char *const *)l.line, 1,
                                     &ack, err, sizeof err),
                   1);
  free_lines(&l);
  kiln_store_close(st);
}

/* Lines stored whole (series elements) are checked as strictly as those
 * the store reads apart: a key twice, bad UTF-8, a number that overflows,
 * and a duplicate hidden among more keys than the quick check tracks, are
 * each refused, and the good lines around them kept. */
static void lines_stored_whole_are_checked_too(void **state) {
  struct kiln_store *st = fresh_store(state);
  char many[8192];
  size_t n = (size_t)snprintf(many, sizeof many, "{\"sequenceNumber\":4");
  for (int i = 0; i < 300; i++)
    n += (size_t)snprintf(many + n, sizeof many - n, ",\"k%d\":%d", i, i);
  snprintf(many + n, sizeof many - n, ",\"k7\":0}");
#define ELEMENT(seq, extra)                                                    \
  "{\"testStepArtifact\":{\"testStepId\":\"1\",\"measurementSeriesElement\":"  \
  "{\"index\":" #seq ",\"value\":1.5" extra "}},\"sequenceNumber\":" #seq "}"
  const char *batch[] = {
      ELEMENT(0, ""),
      ELEMENT(1, ",\"value\":2"),
      ELEMENT(2, ",\"unit\":\"\xc3\x28\""),
      ELEMENT(3, ",\"n\":99999999999999999999"),
      many,
      ELEMENT(5, ""),
  };
#undef ELEMENT
  struct kiln_store_ack ack;
  char err[512];
  assert_int_equal(
      kiln_store_append(st, "r", 0, batch, 6, &ack, err, sizeof err), 1);
  assert_int_equal(ack.refused, 4);
  assert_int_equal(ack.stored, 2);
  assert_int_equal(ack.bad_line, 2);
  assert_int_equal(ack.last_contiguous, 0);
  assert_non_null(strstr(err, "line 2 of the batch (sequence 1): not JSON: "
                              "duplicate object key \"value\""));
  assert_non_null(strstr(err, "(and 3 more lines of the batch refused)"));
  /* Each alone, for its own words. */
  static const char *const words[] = {"UTF8", "overflow",
                                      "duplicate object key"};
  for (size_t i = 0; i < 3; i++) {
    assert_int_equal(kiln_store_append(st, "r", (int64_t)i + 2, batch + i + 2,
                                       1, &ack, err, sizeof err),
                     1);
    if (!strstr(err, words[i]))
      fail_msg("line %zu refused as \"%s\", not for %s", i + 3, err, words[i]);
  }
  kiln_store_close(st);
}

static void report_files_known_by_name_only(void **state) {
  struct kiln_store *st = fresh_store(state);
  char err[512];
  unsigned char bytes[256];
  for (size_t i = 0; i < sizeof bytes; i++)
    bytes[i] = (unsigned char)i; /* NULs and all: files are kept as bytes */
  assert_int_equal(kiln_store_put_file(st, "r", "report.html", bytes,
                                       sizeof bytes, err, sizeof err),
                   0);
  char *summary = kiln_read_text_file(FIXTURE_SUMMARY, 1 << 20, "a fixture",
                                      err, sizeof err);
  assert_non_null(summary);
  assert_int_equal(
      kiln_store_put_file(st, "r", "summary.txt", "old", 3, err, sizeof err),
      0);
  assert_int_equal(kiln_store_put_file(st, "r", "summary.txt", summary,
                                       strlen(summary), err, sizeof err),
                   0);
  const char *refused[] = {"ocp.jsonl", "../junit.xml", "junit.xml/x",
                           "notes.txt", ""};
  for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
    assert_int_equal(
        kiln_store_put_file(st, "r", refused[i], "x", 1, err, sizeof err), 1);
    assert_non_null(strstr(err, refused[i]));
  }
  struct kiln_store_file *files;
  size_t n;
  assert_int_equal(kiln_store_files(st, "r", &files, &n, err, sizeof err), 0);
  assert_int_equal(n, 2);
  assert_string_equal(files[0].name, "report.html");
  assert_int_equal(files[0].size, 256);
  assert_string_equal(files[1].name, "summary.txt");
  assert_int_equal(files[1].size, (int64_t)strlen(summary));
  kiln_store_files_free(files, n);
  char *data;
  size_t len;
  assert_int_equal(
      kiln_store_file_get(st, "r", "report.html", &data, &len, err, sizeof err),
      0);
  assert_int_equal(len, sizeof bytes);
  assert_memory_equal(data, bytes, sizeof bytes);
  free(data);
  assert_int_equal(
      kiln_store_file_get(st, "r", "summary.txt", &data, &len, err, sizeof err),
      0);
  assert_string_equal(data, summary); /* the second upload replaced it */
  free(data);
  assert_int_equal(
      kiln_store_file_get(st, "r", "junit.xml", &data, &len, err, sizeof err),
      1);
  free(summary);
  kiln_store_close(st);
}

/* One sensor-minute of telemetry.csv, computed here from the file. */
struct minute_want {
  char sensor[128], minute[17];
  int n;
  double min, max, sum;
};

static int check_minute(void *ctx, size_t ncols, const char *const *names,
                        const char *const *v) {
  struct minute_want *w = ctx;
  if (strcmp(v[1], w->sensor) == 0 && strcmp(v[3], w->minute) == 0) {
    assert_int_equal(strtol(v[4], NULL, 10), w->n);
    assert_true(fabs(strtod(v[5], NULL) - w->min) < 1e-9);
    assert_true(fabs(strtod(v[6], NULL) - w->sum / w->n) < 1e-9);
    assert_true(fabs(strtod(v[7], NULL) - w->max) < 1e-9);
    w->n = -1; /* seen */
  }
  return 0;
}

static void telemetry_csv_gives_per_minute_figures(void **state) {
  struct kiln_store *st = fresh_store(state);
  char err[512];
  struct lines csv;
  read_lines(FIXTURE_CSV, &csv);
  char *whole =
      kiln_read_text_file(FIXTURE_CSV, 16u << 20, "a fixture", err, sizeof err);
  assert_non_null(whole);
  if (kiln_store_put_file(st, "r", "telemetry.csv", whole, strlen(whole), err,
                          sizeof err) != 0)
    fail_msg("%s", err);
  /* Every sensor-minute with a value, each figure checked against what
   * this test reads from the file itself. */
  size_t want_rows = 0;
  for (size_t i = 1; i < csv.n; i++) {
    char ts[40], source[64], sensor[128];
    double v;
    if (sscanf(csv.line[i], "%39[^,],%63[^,],%127[^,],%lf", ts, source, sensor,
               &v) != 4)
      continue;
    bool seen = false;
    for (size_t j = 1; j < i && !seen; j++) {
      char ts2[40], source2[64], sensor2[128];
      double v2;
      seen = sscanf(csv.line[j], "%39[^,],%63[^,],%127[^,],%lf", ts2, source2,
                    sensor2, &v2) == 4 &&
             strcmp(sensor, sensor2) == 0 && strncmp(ts, ts2, 16) == 0;
    }
    if (seen)
      continue;
    want_rows++;
    struct minute_want w = {.n = 0};
    snprintf(w.sensor, sizeof w.sensor, "%s", sensor);
    snprintf(w.minute, sizeof w.minute, "%.16s", ts);
    for (size_t j = i; j < csv.n; j++) {
      char ts2[40], source2[64], sensor2[128];
      double v2;
      if (sscanf(csv.line[j], "%39[^,],%63[^,],%127[^,],%lf", ts2, source2,
                 sensor2, &v2) == 4 &&
          strcmp(sensor, sensor2) == 0 && strncmp(ts, ts2, 16) == 0) {
        w.min = w.n ? fmin(w.min, v2) : v2;
        w.max = w.n ? fmax(w.max, v2) : v2;
        w.sum += v2;
        w.n++;
      }
    }
    assert_int_equal(kiln_store_rows(st, "r", KILN_STORE_TELEMETRY,
                                     check_minute, &w, err, sizeof err),
                     0);
    if (w.n != -1)
      fail_msg("no stored minute %s for %s", w.minute, w.sensor);
  }
  assert_true(want_rows > 10); /* the fixture spans two minutes */
  assert_int_equal(rows(st, "r", KILN_STORE_TELEMETRY), want_rows);
  /* Sent again: replaced, not doubled. */
  assert_int_equal(kiln_store_put_file(st, "r", "telemetry.csv", whole,
                                       strlen(whole), err, sizeof err),
                   0);
  assert_int_equal(rows(st, "r", KILN_STORE_TELEMETRY), want_rows);
  /* A bad row: refused naming its line; the stored file and figures stay. */
  char *bad = kiln_strdup_printf("%s%s",
                                 "timestamp,source,sensor,value,unit\n"
                                 "2026-12-02T00:53:41.595Z,s,a,1,C\n",
                                 "2026-12-02T00:53:42.595Z,s,a,\"1,C\n");
  assert_int_equal(kiln_store_put_file(st, "r", "telemetry.csv", bad,
                                       strlen(bad), err, sizeof err),
                   1);
  assert_non_null(strstr(err, "telemetry.csv line 3"));
  assert_int_equal(rows(st, "r", KILN_STORE_TELEMETRY), want_rows);
  char *data;
  size_t len;
  assert_int_equal(kiln_store_file_get(st, "r", "telemetry.csv", &data, &len,
                                       err, sizeof err),
                   0);
  assert_string_equal(data, whole);
  free(data);
  /* RFC 4180 quoting, as kiln_tel_csv_row writes a sensor name with a comma
   * or a quote: one sensor, its name unquoted. Today's header, with the
   * label column (the fixture above is an older kiln's, without it). */
  const char *quoted =
      "timestamp,source,sensor,label,value,unit\n"
      "2026-12-02T00:53:41.595Z,s,\"fan, \"\"rear\"\"\",\"FAN, 2\",7,RPM\n"
      "2026-12-02T00:53:42.595Z,s,\"fan, \"\"rear\"\"\",\"FAN, 2\",9,RPM\n";
  assert_int_equal(kiln_store_put_file(st, "r", "telemetry.csv", quoted,
                                       strlen(quoted), err, sizeof err),
                   0);
  struct minute_want q = {.sensor = "fan, \"rear\"",
                          .minute = "2026-12-02T00:53",
                          .n = 2,
                          .min = 7,
                          .max = 9,
                          .sum = 16};
  assert_int_equal(kiln_store_rows(st, "r", KILN_STORE_TELEMETRY, check_minute,
                                   &q, err, sizeof err),
                   0);
  if (q.n != -1)
    fail_msg("the quoted sensor's minute was not stored");
  assert_int_equal(rows(st, "r", KILN_STORE_TELEMETRY), 1);
  /* A header that names a column the store does not know, or a row short
   * of the header's columns: refused, naming the line. */
  const char *odd = "timestamp,source,sensor,colour,value,unit\n";
  assert_int_equal(kiln_store_put_file(st, "r", "telemetry.csv", odd,
                                       strlen(odd), err, sizeof err),
                   1);
  assert_non_null(strstr(err, "telemetry.csv line 1"));
  const char *short_row = "timestamp,source,sensor,label,value,unit\n"
                          "2026-12-02T00:53:41.595Z,s,a,1,C\n";
  assert_int_equal(kiln_store_put_file(st, "r", "telemetry.csv", short_row,
                                       strlen(short_row), err, sizeof err),
                   1);
  assert_non_null(strstr(err, "telemetry.csv line 2"));
  free(bad);
  free(whole);
  free_lines(&csv);
  kiln_store_close(st);
}

/* A short stream of its own: testRunStart of serial at time, testRunEnd
 * with result. */
static void short_run(struct kiln_store *st, const char *id, const char *serial,
                      const char *time, const char *result) {
  char *start = kiln_strdup_printf(
      "{\"testRunArtifact\":{\"testRunStart\":{\"name\":\"kiln\","
      "\"parameters\":{\"profile\":\"quick\"},\"dutInfo\":{\"dutInfoId\":"
      "\"%s\",\"name\":\"host-%s\"}}},\"sequenceNumber\":0,\"timestamp\":"
      "\"%s\"}",
      serial, serial, time);
  char *end = kiln_strdup_printf(
      "{\"testRunArtifact\":{\"testRunEnd\":{\"status\":\"COMPLETE\","
      "\"result\":\"%s\"}},\"sequenceNumber\":1,\"timestamp\":\"%s\"}",
      result, time);
  const char *lines[] = {start, end};
  struct kiln_store_ack ack;
  char err[512];
  if (kiln_store_append(st, id, 0, lines, 2, &ack, err, sizeof err) != 0)
    fail_msg("%s", err);
  free(start);
  free(end);
}

static void runs_filtered_newest_first(void **state) {
  struct kiln_store *st = fresh_store(state);
  short_run(st, "a1", "SN-A", "2026-12-01T08:00:00.000Z", "PASS");
  short_run(st, "b1", "SN-B", "2026-12-01T09:00:00.000Z", "FAIL");
  short_run(st, "a2", "SN-A", "2026-12-01T10:00:00.000Z", "FAIL");
  short_run(st, "a3", "SN-A", "2026-12-01T11:00:00.000Z", "PASS");
  struct kiln_store_run *r;
  size_t n;
  char err[512];
  struct kiln_store_filter all = {0};
  assert_int_equal(kiln_store_runs(st, &all, &r, &n, err, sizeof err), 0);
  assert_int_equal(n, 4);
  assert_string_equal(r[0].id, "a3");
  assert_string_equal(r[3].id, "a1");
  assert_string_equal(r[0].host, "host-SN-A");
  assert_int_equal(r[0].exit_code, 0);
  assert_int_equal(r[1].exit_code, 1);
  kiln_store_runs_free(r, n);
  struct kiln_store_filter f = {.serial = "SN-A", .verdict = "FAIL"};
  assert_int_equal(kiln_store_runs(st, &f, &r, &n, err, sizeof err), 0);
  assert_int_equal(n, 1);
  assert_string_equal(r[0].id, "a2");
  kiln_store_runs_free(r, n);
  struct kiln_store_filter since = {.since = "2026-12-01T09:00:00.000Z",
                                    .limit = 2};
  assert_int_equal(kiln_store_runs(st, &since, &r, &n, err, sizeof err), 0);
  assert_int_equal(n, 2);
  assert_string_equal(r[0].id, "a3");
  assert_string_equal(r[1].id, "a2");
  kiln_store_runs_free(r, n);
  struct kiln_store_filter none = {.serial = "SN-Z"};
  assert_int_equal(kiln_store_runs(st, &none, &r, &n, err, sizeof err), 0);
  assert_int_equal(n, 0);
  kiln_store_runs_free(r, n);
  struct kiln_store_run one;
  assert_int_equal(kiln_store_run_get(st, "nope", &one, err, sizeof err), 1);
  kiln_store_close(st);
}

/* ids of runs[0..n) joined by spaces, into buf. */
static const char *ids(const struct kiln_store_run *r, size_t n, char *buf,
                       size_t len) {
  buf[0] = '\0';
  for (size_t i = 0; i < n; i++)
    snprintf(buf + strlen(buf), len - strlen(buf), "%s%s", i ? " " : "",
             r[i].id);
  return buf;
}

/* A page after `before` goes on where it ended, ties of the start broken
 * by id, the filters kept; an unknown run lists none. */
static void runs_page_on_after_before(void **state) {
  struct kiln_store *st = fresh_store(state);
  short_run(st, "c1", "SN-A", "2026-12-01T08:00:00.000Z", "PASS");
  short_run(st, "c2", "SN-B", "2026-12-01T09:00:00.000Z", "PASS");
  short_run(st, "c3", "SN-A", "2026-12-01T09:00:00.000Z", "FAIL");
  short_run(st, "c4", "SN-A", "2026-12-01T09:00:00.000Z", "PASS");
  short_run(st, "c5", "SN-B", "2026-12-01T10:00:00.000Z", "PASS");
  struct kiln_store_run *r;
  size_t n;
  char err[512], got[128];
  const char *pages[][2] = {
      /* before, the page of two after it */
      {NULL, "c5 c4"}, {"c5", "c4 c3"}, {"c4", "c3 c2"}, {"c3", "c2 c1"},
      {"c2", "c1"},    {"c1", ""},      {"nope", ""},
  };
  for (size_t i = 0; i < sizeof pages / sizeof pages[0]; i++) {
    struct kiln_store_filter f = {.before = pages[i][0], .limit = 2};
    assert_int_equal(kiln_store_runs(st, &f, &r, &n, err, sizeof err), 0);
    assert_string_equal(ids(r, n, got, sizeof got), pages[i][1]);
    kiln_store_runs_free(r, n);
  }
  struct kiln_store_filter a = {.serial = "SN-A", .before = "c4"};
  assert_int_equal(kiln_store_runs(st, &a, &r, &n, err, sizeof err), 0);
  assert_string_equal(ids(r, n, got, sizeof got), "c3 c1");
  kiln_store_runs_free(r, n);
  kiln_store_close(st);
}

/* Each testRunEnd as kiln's exit code for it; a run-level error artifact
 * (an abort's reason) a diagnosis with no step. */
static void verdicts_and_exit_codes_as_kiln_exits(void **state) {
  struct kiln_store *st = fresh_store(state);
  const char *ends[][4] = {
      /* status, result, verdict, exit code */
      {"COMPLETE", "PASS", "PASS", "0"},
      {"ERROR", "FAIL", "FAIL", "1"},
      {"ERROR", "NOT_APPLICABLE", "ERROR", "2"},
      {"SKIP", "NOT_APPLICABLE", "SKIP", "0"},
  };
  char err[512];
  for (size_t i = 0; i < sizeof ends / sizeof ends[0]; i++) {
    char id[16];
    snprintf(id, sizeof id, "v%zu", i);
    char *abort_line = kiln_strdup_printf(
        "{\"testRunArtifact\":{\"error\":{\"symptom\":\"run-aborted\","
        "\"message\":\"SIGTERM\"}},\"sequenceNumber\":0,\"timestamp\":"
        "\"2026-12-02T00:00:00.000Z\"}");
    char *end = kiln_strdup_printf(
        "{\"testRunArtifact\":{\"testRunEnd\":{\"status\":\"%s\","
        "\"result\":\"%s\"}},\"sequenceNumber\":1,\"timestamp\":"
        "\"2026-12-02T00:00:01.000Z\"}",
        ends[i][0], ends[i][1]);
    const char *lines[] = {abort_line, end};
    struct kiln_store_ack ack;
    assert_int_equal(
        kiln_store_append(st, id, 0, lines, 2, &ack, err, sizeof err), 0);
    struct kiln_store_run r;
    assert_int_equal(kiln_store_run_get(st, id, &r, err, sizeof err), 0);
    assert_string_equal(r.verdict, ends[i][2]);
    assert_int_equal(r.exit_code, atoi(ends[i][3]));
    assert_string_equal(r.ended, "2026-12-02T00:00:01.000Z");
    kiln_store_run_clear(&r);
    struct find_row d = {.column = "verdict", .value = "run-aborted"};
    assert_int_equal(kiln_store_rows(st, id, KILN_STORE_DIAGNOSES, find_row_fn,
                                     &d, err, sizeof err),
                     0);
    assert_true(d.found);
    assert_string_equal(d.got[1], "(null)"); /* no step */
    assert_string_equal(d.got[2], "ERROR");
    assert_string_equal(d.got[4], "SIGTERM");
    free(abort_line);
    free(end);
  }
  /* A run still going has no verdict and no exit code yet. */
  struct kiln_store_run r;
  struct lines l;
  read_lines(FIXTURE_OCP, &l);
  feed(st, "going", &l, 0, 10, 10, NULL);
  assert_int_equal(kiln_store_run_get(st, "going", &r, err, sizeof err), 0);
  assert_null(r.verdict);
  assert_null(r.ended);
  assert_int_equal(r.exit_code, -1);
  kiln_store_run_clear(&r);
  free_lines(&l);
  kiln_store_close(st);
}

/* The line page's queries: runs in progress with their plan and last
 * event, runs finished since a time with their failing steps and first
 * diagnosis, first-pass yield over each serial's first run of the shift,
 * and a measurement's siblings. */
static void line_page_queries(void **state) {
  struct kiln_store *st = fresh_store(state);
  const char *shift = "2026-12-02T01:00:00.000Z";
  const struct line_run runs[] = {
      /* before the shift: neither finished in it nor a first pass */
      {.id = "old",
       .serial = "S1",
       .started = "2026-12-01T20:00:00.000Z",
       .value = 1,
       .fail = "old failure"},
      {.id = "s1-first",
       .serial = "S1",
       .started = "2026-12-02T01:00:00.000Z",
       .value = 4000},
      {.id = "s2-fail",
       .serial = "S2",
       .started = "2026-12-02T01:01:00.000Z",
       .value = 3000,
       .fail = "HBM bandwidth 3000 GB/s under 3500"},
      /* a retest of S1 that fails: not a first pass */
      {.id = "s1-retest",
       .serial = "S1",
       .started = "2026-12-02T01:10:00.000Z",
       .value = 1,
       .fail = "retest failure"},
      {.id = "s3-going",
       .serial = "S3",
       .host = "node-3",
       .started = "2026-12-02T01:20:00.000Z",
       .value = 4000,
       .fail = "a failure while going",
       .open = true},
  };
  for (size_t i = 0; i < sizeof runs / sizeof runs[0]; i++)
    line_run_store(st, &runs[i]);
  char err[512];

  struct kiln_store_live *live;
  size_t n;
  assert_int_equal(kiln_store_live_runs(st, &live, &n, err, sizeof err), 0);
  assert_int_equal(n, 1);
  assert_string_equal(live[0].run.id, "s3-going");
  assert_string_equal(live[0].run.host, "node-3");
  assert_int_equal(live[0].n_planned, 1);
  assert_string_equal(live[0].planned_steps[0], "gpu.membw[0]");
  assert_float_equal(live[0].planned_seconds, 600, 0);
  assert_int_equal(live[0].steps_started, 1);
  assert_int_equal(live[0].steps_ended, 0);
  assert_int_equal(live[0].n_running, 1);
  assert_string_equal(live[0].running_steps[0], "gpu.membw[0]");
  assert_string_equal(live[0].verdict_so_far, "FAIL");
  assert_string_equal(live[0].last_event, "diagnosis");
  assert_string_equal(live[0].last_event_time, "2026-12-02T01:20:04.000Z");
  kiln_store_live_free(live, n);

  struct kiln_store_finished *done;
  assert_int_equal(
      kiln_store_finished_runs(st, shift, &done, &n, err, sizeof err), 0);
  assert_int_equal(n, 3);
  assert_string_equal(done[0].run.id, "s1-retest");
  assert_string_equal(done[1].run.id, "s2-fail");
  assert_string_equal(done[1].run.verdict, "FAIL");
  assert_int_equal(done[1].n_failing, 1);
  assert_string_equal(done[1].failing_steps[0], "gpu.membw[0]");
  assert_string_equal(done[1].first_diagnosis,
                      "HBM bandwidth 3000 GB/s under 3500");
  assert_string_equal(done[2].run.id, "s1-first");
  assert_int_equal(done[2].n_failing, 0);
  assert_null(done[2].first_diagnosis);
  kiln_store_finished_free(done, n);

  struct kiln_store_yield *y;
  assert_int_equal(
      kiln_store_first_pass_yield(st, shift, &y, &n, err, sizeof err), 0);
  assert_int_equal(n, 1);
  assert_string_equal(y[0].module, "gpu.membw");
  assert_int_equal(y[0].passed, 1); /* s1-first; s2-fail failed */
  assert_int_equal(y[0].total, 2);  /* the retest and the open run: no */
  kiln_store_yield_free(y, n);

  /* A group's values: its passing runs only, newest first, with their
   * ids; by profile where the runs name no SKU. */
  double *v;
  char **ids;
  struct kiln_store_group by_profile = {.profile = "line"};
  assert_int_equal(kiln_store_group_values(st, &by_profile, "gpu.membw",
                                           "bandwidth_gbps", 10, &v, &ids, &n,
                                           err, sizeof err),
                   0);
  assert_int_equal(n, 1);
  assert_float_equal(v[0], 4000, 0);
  assert_string_equal(ids[0], "s1-first");
  free(v);
  free(ids[0]);
  free(ids);
  struct kiln_store_group by_sku = {.sku = "h100-sxm5-80gb", .profile = "line"};
  assert_int_equal(kiln_store_group_values(st, &by_sku, "gpu.membw",
                                           "bandwidth_gbps", 10, &v, &ids, &n,
                                           err, sizeof err),
                   0);
  assert_int_equal(n, 0);
  free(v);
  free(ids);
  assert_int_equal(kiln_store_group_values(st, &by_profile, "gpu.hbm",
                                           "bandwidth_gbps", 10, &v, &ids, &n,
                                           err, sizeof err),
                   0);
  assert_int_equal(n, 0); /* another module's steps */
  free(v);
  free(ids);
  kiln_store_close(st);
}

static struct env sqlite_env = {.name = "sqlite"};
static struct env pg_env = {.name = "postgresql", .pg = true};

/* Both backends' temporary directories go at the end, PostgreSQL stopped
 * first. */
static int group_teardown(void **state) {
  pg_stop(&pg_env);
  if (sqlite_env.available)
    fs_rm_rf(sqlite_env.dir);
  return 0;
}

#define CASE(env, f)                                                           \
  { #env ": " #f, f, NULL, NULL, &env##_env }

int main(void) {
  cmocka_set_message_output(CM_OUTPUT_TAP);
  const struct CMUnitTest all[] = {
      CASE(sqlite, bad_url_is_refused_naming_it),
      CASE(sqlite, schema_is_versioned_and_migrated_once),
      CASE(sqlite, servers_started_at_once_migrate_once),
      CASE(sqlite, replayed_stream_is_stored_and_parsed),
      CASE(sqlite, measurements_keep_limits_and_diagnoses_their_words),
      CASE(sqlite, the_same_lines_twice_are_stored_once),
      CASE(sqlite, a_malformed_line_is_refused_and_the_good_ones_kept),
      CASE(sqlite, lines_stored_whole_are_checked_too),
      CASE(sqlite, report_files_known_by_name_only),
      CASE(sqlite, telemetry_csv_gives_per_minute_figures),
      CASE(sqlite, runs_filtered_newest_first),
      CASE(sqlite, runs_page_on_after_before),
      CASE(sqlite, verdicts_and_exit_codes_as_kiln_exits),
      CASE(sqlite, line_page_queries),
      CASE(pg, schema_is_versioned_and_migrated_once),
      CASE(pg, servers_started_at_once_migrate_once),
      CASE(pg, a_restarted_database_is_reconnected),
      CASE(pg, replayed_stream_is_stored_and_parsed),
      CASE(pg, measurements_keep_limits_and_diagnoses_their_words),
      CASE(pg, the_same_lines_twice_are_stored_once),
      CASE(pg, a_malformed_line_is_refused_and_the_good_ones_kept),
      CASE(pg, lines_stored_whole_are_checked_too),
      CASE(pg, report_files_known_by_name_only),
      CASE(pg, telemetry_csv_gives_per_minute_figures),
      CASE(pg, runs_filtered_newest_first),
      CASE(pg, runs_page_on_after_before),
      CASE(pg, verdicts_and_exit_codes_as_kiln_exits),
      CASE(pg, line_page_queries),
  };
  size_t n = sizeof all / sizeof all[0];
  /* Without PostgreSQL its cases are left out, each named with why (a
   * cmocka skip() would be a "not ok" to prove). */
  char why[256];
  if (!pg_installed(why, sizeof why)) {
    size_t kept = 0;
    for (size_t i = 0; i < n; i++) {
      if (all[i].initial_state == &pg_env)
        printf("# skipped %s: %s\n", all[i].name, why);
      else
        kept++;
    }
    n = kept; /* the PostgreSQL cases are the last ones */
  }
  return _cmocka_run_group_tests("tests", all, n, NULL, group_teardown);
}
