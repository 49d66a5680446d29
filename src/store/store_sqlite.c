/* The SQLite backend (`sqlite:PATH`, the default): one file, WAL, so the
 * API reads while a DUT's batch is written. */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>

#include "store_backend.h"

static void *sqlite_open(const char *path, char *err, size_t errn) {
  sqlite3 *db = NULL;
  if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
                      NULL) != SQLITE_OK) {
    snprintf(err, errn, "sqlite:%s: %s", path,
             db ? sqlite3_errmsg(db) : "out of memory");
    sqlite3_close(db);
    return NULL;
  }
  sqlite3_busy_timeout(db, 5000);
  char *msg = NULL;
  if (sqlite3_exec(db,
                   "PRAGMA journal_mode=WAL; PRAGMA foreign_keys=ON; "
                   "PRAGMA synchronous=NORMAL;",
                   NULL, NULL, &msg) != SQLITE_OK) {
    snprintf(err, errn, "sqlite:%s: %s", path, msg ? msg : "cannot set WAL");
    sqlite3_free(msg);
    sqlite3_close(db);
    return NULL;
  }
  return db;
}

static void sqlite_close(void *db) { sqlite3_close(db); }

static int bind(sqlite3_stmt *s, size_t i, const struct kiln_store_param *p) {
  char name[24];
  snprintf(name, sizeof name, "$%zu", i + 1);
  int at = sqlite3_bind_parameter_index(s, name);
  if (at == 0)
    return SQLITE_OK; /* the statement does not use it */
  switch (p->kind) {
  case KILN_P_TEXT:
    if (p->text)
      return sqlite3_bind_text(s, at, p->text, -1, SQLITE_TRANSIENT);
    return sqlite3_bind_null(s, at);
  case KILN_P_INT: return sqlite3_bind_int64(s, at, p->i);
  case KILN_P_REAL: return sqlite3_bind_double(s, at, p->r);
  case KILN_P_BLOB:
    return sqlite3_bind_blob64(s, at, p->len ? p->blob : "", p->len,
                               SQLITE_TRANSIENT);
  case KILN_P_NULL: break;
  }
  return sqlite3_bind_null(s, at);
}

static int sqlite_exec(void *handle, const char *sql, size_t np,
                       const struct kiln_store_param *params,
                       kiln_store_row_fn fn, void *ctx, char *err,
                       size_t errn) {
  sqlite3 *db = handle;
  sqlite3_stmt *s = NULL;
  if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK) {
    snprintf(err, errn, "sqlite: %s", sqlite3_errmsg(db));
    return -1;
  }
  for (size_t i = 0; i < np; i++)
    if (bind(s, i, &params[i]) != SQLITE_OK) {
      snprintf(err, errn, "sqlite: %s", sqlite3_errmsg(db));
      sqlite3_finalize(s);
      return -1;
    }
  int rc = 0, step;
  while ((step = sqlite3_step(s)) == SQLITE_ROW) {
    if (!fn)
      continue;
    size_t n = (size_t)sqlite3_column_count(s);
    struct kiln_store_cell cells[32];
    if (n > sizeof cells / sizeof cells[0])
      n = sizeof cells / sizeof cells[0];
    for (size_t c = 0; c < n; c++) {
      int type = sqlite3_column_type(s, (int)c);
      if (type == SQLITE_NULL) {
        cells[c].data = NULL;
        cells[c].len = 0;
      } else if (type == SQLITE_BLOB) {
        const void *b = sqlite3_column_blob(s, (int)c);
        cells[c].data = b ? b : "";
        cells[c].len = (size_t)sqlite3_column_bytes(s, (int)c);
      } else {
        cells[c].data = (const char *)sqlite3_column_text(s, (int)c);
        cells[c].len = (size_t)sqlite3_column_bytes(s, (int)c);
      }
    }
    rc = fn(ctx, n, cells);
    if (rc != 0)
      break;
  }
  if (rc == 0 && step != SQLITE_DONE) {
    snprintf(err, errn, "sqlite: %s", sqlite3_errmsg(db));
    rc = -1;
  }
  sqlite3_finalize(s);
  return rc;
}

const struct kiln_store_backend kiln_store_sqlite = {
    .name = "sqlite",
    .blob = "BLOB",
    .real = "REAL",
    .bigint = "INTEGER",
    .begin_schema = "BEGIN IMMEDIATE",
    .open = sqlite_open,
    .close = sqlite_close,
    .exec = sqlite_exec,
};
