/* What a store backend provides to store.c: a connection and one way to
 * run SQL with parameters ($1, $2, ... in the SQL both backends share).
 * Layer: store (src/store/). */
#ifndef KILN_STORE_BACKEND_H
#define KILN_STORE_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum kiln_store_param_kind {
  KILN_P_NULL,
  KILN_P_TEXT,
  KILN_P_INT,
  KILN_P_REAL,
  KILN_P_BLOB
};
struct kiln_store_param {
  enum kiln_store_param_kind kind;
  const char *text; /* KILN_P_TEXT (NULL: SQL NULL) */
  int64_t i;
  double r;
  const void *blob; /* KILN_P_BLOB: len bytes */
  size_t len;
};

/* One result cell: text (numbers as text), or a blob's bytes. */
struct kiln_store_cell {
  const char *data; /* NULL: SQL NULL */
  size_t len;
};
/* Called per result row; non-zero stops the statement and is returned. */
typedef int (*kiln_store_row_fn)(void *ctx, size_t ncols,
                                 const struct kiln_store_cell *cells);

struct kiln_store_backend {
  const char *name;
  /* The few type names that differ, put where the shared SQL says
   * {blob}, {real} and {bigint}; {without_rowid} ends a CREATE TABLE whose
   * primary key is its only index (SQLite's " WITHOUT ROWID": one b-tree
   * instead of a table and its key's index; PostgreSQL: ""). */
  const char *blob, *real, *bigint, *without_rowid;
  /* Begins the transaction that reads and migrates the schema, holding the
   * lock that makes a second server starting at once wait for the first:
   * SQLite's BEGIN IMMEDIATE takes the write lock; PostgreSQL's BEGIN is
   * followed by schema_lock (an advisory lock held until COMMIT). */
  const char *begin_schema, *schema_lock;
  /* url without its scheme for sqlite (the path), whole for PostgreSQL. */
  void *(*open)(const char *url, char *err, size_t errn);
  void (*close)(void *db);
  /* Runs one statement; 0, the row function's non-zero value, or -1 with
   * err set. */
  int (*exec)(void *db, const char *sql, size_t np,
              const struct kiln_store_param *params, kiln_store_row_fn fn,
              void *ctx, char *err, size_t errn);
  /* The rows the last INSERT, UPDATE or DELETE run by exec changed (an
   * INSERT ... ON CONFLICT DO NOTHING: the rows new to its table). */
  int64_t (*changes)(void *db);
};

extern const struct kiln_store_backend kiln_store_sqlite;
extern const struct kiln_store_backend kiln_store_pg;

#endif
