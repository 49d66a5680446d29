/* The SQLite backend (`sqlite:PATH`, the default): one file, WAL, so the
 * API reads while a DUT's batch is written.
 *
 * Statements are prepared once and kept: every line of a batch runs the
 * same few, and preparing one costs more than running it (under a line of
 * 200 DUTs, parsing SQL was most of the server's time in SQLite). A
 * connection is used by one thread at a time (store.h), so it needs no
 * mutex of SQLite's either. */
#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kiln/textutil.h"
#include "store_backend.h"

/* More than the distinct statements store.c runs, so none is dropped. */
#define KEPT_STATEMENTS 64
/* The parameters ($1 ...) a kept statement knows the positions of. */
#define KEPT_PARAMS 32

struct kept_statement {
  char *sql;
  uint64_t hash;
  sqlite3_stmt *stmt;
  /* Where $i+1 binds (0: unused), found once rather than by name on every
   * run: SQLite numbers named parameters by first appearance. */
  int at[KEPT_PARAMS];
  bool busy; /* being stepped: a row function running the same SQL gets
                a statement of its own */
};

struct sqlite_conn {
  sqlite3 *db;
  struct kept_statement kept[KEPT_STATEMENTS];
  size_t n_kept, next_dropped;
};

static uint64_t sql_hash(const char *sql) {
  uint64_t h = 14695981039346656037u; /* FNV-1a */
  for (; *sql; sql++)
    h = (h ^ (unsigned char)*sql) * 1099511628211u;
  return h;
}

/* Where the statement binds $i+1; 0: it does not use it. */
static int param_at(sqlite3_stmt *s, size_t i) {
  char name[24];
  snprintf(name, sizeof name, "$%zu", i + 1);
  return sqlite3_bind_parameter_index(s, name);
}

/* sql's kept statement, prepared the first time; NULL with err set. *kept
 * is its slot, or NULL for a statement the caller finalizes. */
static sqlite3_stmt *statement(struct sqlite_conn *c, const char *sql,
                               struct kept_statement **kept, char *err,
                               size_t errn) {
  uint64_t h = sql_hash(sql);
  *kept = NULL;
  for (size_t i = 0; i < c->n_kept; i++) {
    struct kept_statement *k = &c->kept[i];
    if (k->hash == h && strcmp(k->sql, sql) == 0) {
      if (k->busy)
        break;
      *kept = k;
      return k->stmt;
    }
  }
  sqlite3_stmt *s = NULL;
  if (sqlite3_prepare_v3(c->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &s, NULL) !=
      SQLITE_OK) {
    snprintf(err, errn, "sqlite: %s", sqlite3_errmsg(c->db));
    return NULL;
  }
  for (size_t i = 0; i < c->n_kept; i++)
    if (c->kept[i].hash == h && strcmp(c->kept[i].sql, sql) == 0)
      return s; /* the kept one is busy: this one is used once */
  struct kept_statement *k;
  if (c->n_kept < KEPT_STATEMENTS) {
    k = &c->kept[c->n_kept++];
  } else {
    /* Full (SQL made on the fly): the slots in turn, never a busy one. */
    do {
      k = &c->kept[c->next_dropped];
      c->next_dropped = (c->next_dropped + 1) % KEPT_STATEMENTS;
    } while (k->busy);
    sqlite3_finalize(k->stmt);
    free(k->sql);
  }
  *k = (struct kept_statement){.sql = kiln_xstrdup(sql), .hash = h, .stmt = s};
  for (int i = 0; i < KEPT_PARAMS; i++)
    k->at[i] = param_at(s, (size_t)i);
  *kept = k;
  return s;
}

static void *sqlite_open(const char *path, char *err, size_t errn) {
  sqlite3 *db = NULL;
  if (sqlite3_open_v2(path, &db,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
                          SQLITE_OPEN_NOMUTEX,
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
  struct sqlite_conn *c = kiln_xcalloc(1, sizeof *c);
  c->db = db;
  return c;
}

static void sqlite_close(void *handle) {
  struct sqlite_conn *c = handle;
  for (size_t i = 0; i < c->n_kept; i++) {
    sqlite3_finalize(c->kept[i].stmt);
    free(c->kept[i].sql);
  }
  sqlite3_close(c->db);
  free(c);
}

/* Text and blobs are bound without a copy: the statement is reset and its
 * bindings cleared (or it is finalized) before exec returns. */
static int bind(sqlite3_stmt *s, int at, const struct kiln_store_param *p) {
  if (at == 0)
    return SQLITE_OK; /* the statement does not use it */
  switch (p->kind) {
  case KILN_P_TEXT:
    if (p->text)
      return sqlite3_bind_text(s, at, p->text, -1, SQLITE_STATIC);
    return sqlite3_bind_null(s, at);
  case KILN_P_INT: return sqlite3_bind_int64(s, at, p->i);
  case KILN_P_REAL: return sqlite3_bind_double(s, at, p->r);
  case KILN_P_BLOB:
    return sqlite3_bind_blob64(s, at, p->len ? p->blob : "", p->len,
                               SQLITE_STATIC);
  case KILN_P_NULL: break;
  }
  return sqlite3_bind_null(s, at);
}

static int sqlite_exec(void *handle, const char *sql, size_t np,
                       const struct kiln_store_param *params,
                       kiln_store_row_fn fn, void *ctx, char *err,
                       size_t errn) {
  struct sqlite_conn *conn = handle;
  sqlite3 *db = conn->db;
  struct kept_statement *kept;
  sqlite3_stmt *s = statement(conn, sql, &kept, err, errn);
  if (!s)
    return -1;
  int rc = 0, step = SQLITE_DONE;
  for (size_t i = 0; i < np; i++)
    if (bind(s, kept && i < KEPT_PARAMS ? kept->at[i] : param_at(s, i),
             &params[i]) != SQLITE_OK) {
      snprintf(err, errn, "sqlite: %s", sqlite3_errmsg(db));
      rc = -1;
      goto done;
    }
  if (kept)
    kept->busy = true;
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
done:
  if (kept) {
    /* Ready for the next run, holding no transaction open nor any of
     * this run's values. */
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    kept->busy = false;
  } else {
    sqlite3_finalize(s);
  }
  return rc;
}

static int64_t sqlite_changes(void *handle) {
  struct sqlite_conn *c = handle;
  return sqlite3_changes64(c->db);
}

const struct kiln_store_backend kiln_store_sqlite = {
    .name = "sqlite",
    .blob = "BLOB",
    .real = "REAL",
    .bigint = "INTEGER",
    .without_rowid = " WITHOUT ROWID",
    .begin_schema = "BEGIN IMMEDIATE",
    .open = sqlite_open,
    .close = sqlite_close,
    .exec = sqlite_exec,
    .changes = sqlite_changes,
};
