/* The SQLite backend's kept statements (src/store/store_sqlite.c): a
 * statement is prepared once and run again, and keeping it changes no
 * result. Through the backend's own interface (store_backend.h), on a
 * database in a temporary directory: more distinct statements than are
 * kept, a row function running the statement that called it, a statement
 * stopped early or failed that must hold nothing afterwards. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fsutil.h"
#include "store/store_backend.h"

struct db {
  char dir[64];
  void *conn;
};

static int open_db(void **state) {
  struct db *d = calloc(1, sizeof *d);
  snprintf(d->dir, sizeof d->dir, "/tmp/kiln-test-sqlite-XXXXXX");
  if (!mkdtemp(d->dir))
    return -1;
  char path[128], err[256];
  snprintf(path, sizeof path, "%s/t.db", d->dir);
  d->conn = kiln_store_sqlite.open(path, err, sizeof err);
  if (!d->conn) {
    fprintf(stderr, "# %s\n", err);
    return -1;
  }
  *state = d;
  return 0;
}

static int close_db(void **state) {
  struct db *d = *state;
  kiln_store_sqlite.close(d->conn);
  fs_rm_rf(d->dir);
  free(d);
  return 0;
}

static void run(struct db *d, const char *sql, size_t np,
                const struct kiln_store_param *p, kiln_store_row_fn fn,
                void *ctx) {
  char err[256] = "";
  int rc =
      kiln_store_sqlite.exec(d->conn, sql, np, p, fn, ctx, err, sizeof err);
  if (rc != 0)
    fail_msg("%s: %d %s", sql, rc, err);
}

static struct kiln_store_param int_p(int64_t i) {
  return (struct kiln_store_param){.kind = KILN_P_INT, .i = i};
}

static int sum_row(void *ctx, size_t ncols, const struct kiln_store_cell *c) {
  *(int64_t *)ctx += strtoll(c[0].data, NULL, 10);
  return 0;
}

/* t(k) holds 1..10. */
static void fill(struct db *d) {
  run(d, "CREATE TABLE t (k INTEGER PRIMARY KEY)", 0, NULL, NULL, NULL);
  for (int64_t k = 1; k <= 10; k++) {
    struct kiln_store_param p = int_p(k);
    run(d, "INSERT INTO t (k) VALUES ($1)", 1, &p, NULL, NULL);
  }
}

/* 200 distinct statements, each run twice with other values: every
 * answer right, whichever were kept or dropped meanwhile. */
static void more_statements_than_kept_all_answer_right(void **state) {
  struct db *d = *state;
  fill(d);
  for (int round = 0; round < 2; round++)
    for (int i = 0; i < 200; i++) {
      char sql[128];
      snprintf(sql, sizeof sql, "SELECT k + %d FROM t WHERE k <= $1", i);
      struct kiln_store_param p = int_p(round ? 3 : 2);
      int64_t sum = 0;
      run(d, sql, 1, &p, sum_row, &sum);
      int64_t n = round ? 3 : 2;
      assert_int_equal(sum, n * (n + 1) / 2 + n * i);
    }
}

/* A row function that runs the very statement it was called from. */
struct nested {
  struct db *d;
  int64_t outer_rows, inner_sum;
};

static int nested_row(void *ctx, size_t ncols,
                      const struct kiln_store_cell *c) {
  struct nested *n = ctx;
  n->outer_rows++;
  struct kiln_store_param p = int_p(strtoll(c[0].data, NULL, 10));
  run(n->d, "SELECT k FROM t WHERE k <= $1", 1, &p, sum_row, &n->inner_sum);
  return 0;
}

static void a_row_function_may_run_the_same_statement(void **state) {
  struct db *d = *state;
  fill(d);
  struct nested n = {.d = d};
  struct kiln_store_param p = int_p(4);
  run(d, "SELECT k FROM t WHERE k <= $1", 1, &p, nested_row, &n);
  assert_int_equal(n.outer_rows, 4);
  assert_int_equal(n.inner_sum, 1 + 3 + 6 + 10);
  /* And the kept one still answers for itself afterwards. */
  int64_t sum = 0;
  run(d, "SELECT k FROM t WHERE k <= $1", 1, &p, sum_row, &sum);
  assert_int_equal(sum, 10);
}

static int stop_at_first(void *ctx, size_t ncols,
                         const struct kiln_store_cell *c) {
  return 7;
}

/* Stopped by its row function, or failed: the statement is reset, so it
 * holds no lock on its table (DROP TABLE would be refused as locked). */
static void a_statement_stopped_or_failed_holds_nothing(void **state) {
  struct db *d = *state;
  fill(d);
  char err[256] = "";
  assert_int_equal(kiln_store_sqlite.exec(d->conn, "SELECT k FROM t", 0, NULL,
                                          stop_at_first, NULL, err, sizeof err),
                   7);
  struct kiln_store_param dup = int_p(3);
  assert_int_equal(kiln_store_sqlite.exec(d->conn,
                                          "INSERT INTO t (k) VALUES ($1)", 1,
                                          &dup, NULL, NULL, err, sizeof err),
                   -1);
  assert_non_null(strstr(err, "UNIQUE"));
  /* The failed one runs again with a good value. */
  struct kiln_store_param fresh = int_p(11);
  run(d, "INSERT INTO t (k) VALUES ($1)", 1, &fresh, NULL, NULL);
  int64_t sum = 0;
  run(d, "SELECT k FROM t WHERE k <= $1", 1, &fresh, sum_row, &sum);
  assert_int_equal(sum, 66);
  run(d, "DROP TABLE t", 0, NULL, NULL, NULL);
}

int main(void) {
  cmocka_set_message_output(CM_OUTPUT_TAP);
  const struct CMUnitTest all[] = {
      cmocka_unit_test_setup_teardown(
          more_statements_than_kept_all_answer_right, open_db, close_db),
      cmocka_unit_test_setup_teardown(a_row_function_may_run_the_same_statement,
                                      open_db, close_db),
      cmocka_unit_test_setup_teardown(
          a_statement_stopped_or_failed_holds_nothing, open_db, close_db),
  };
  return cmocka_run_group_tests(all, NULL, NULL);
}
