/* The PostgreSQL backend (`postgresql://...`, libpq): for a line whose
 * servers share one store. Parameters go typed (bigint, double, bytea in
 * binary; text left for the server to infer), results come as text.
 * A connection lost between transactions (the database restarted, a
 * failover) is made again before the next statement, and a statement that
 * finds it lost is run once more on the new one; lost inside a
 * transaction, the statement fails (the caller rolls back) and the next
 * transaction reconnects. */
#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kiln/textutil.h"
#include "store_backend.h"

/* The type OIDs of PostgreSQL's catalog (pg_type.dat). */
#define PG_BYTEA_OID 17
#define PG_INT8_OID 20
#define PG_FLOAT8_OID 701

static void quiet_notices(void *arg, const char *message) {
  (void)arg;
  (void)message; /* "relation already exists, skipping" and the like */
}

struct pg_conn {
  PGconn *c;
  int64_t changes;     /* the last statement's rows changed (PQcmdTuples) */
  bool in_transaction; /* between BEGIN and COMMIT or ROLLBACK */
};

static void *pg_open(const char *url, char *err, size_t errn) {
  PGconn *c = PQconnectdb(url);
  if (!c || PQstatus(c) != CONNECTION_OK) {
    /* libpq's message ends in a newline: one line is enough. */
    const char *m = c ? PQerrorMessage(c) : "out of memory";
    snprintf(err, errn, "postgresql: %.*s", (int)strcspn(m, "\n"), m);
    PQfinish(c);
    return NULL;
  }
  PQsetNoticeProcessor(c, quiet_notices, NULL);
  struct pg_conn *pc = kiln_xcalloc(1, sizeof *pc);
  pc->c = c;
  return pc;
}

static void pg_close(void *handle) {
  struct pg_conn *pc = handle;
  PQfinish(pc->c);
  free(pc);
}

static int64_t pg_changes(void *handle) {
  return ((struct pg_conn *)handle)->changes;
}

static int pg_exec(void *handle, const char *sql, size_t np,
                   const struct kiln_store_param *params, kiln_store_row_fn fn,
                   void *ctx, char *err, size_t errn) {
  struct pg_conn *pc = handle;
  PGconn *c = pc->c;
  pc->changes = 0;
  enum { MAXP = 32 };
  if (np > MAXP) {
    snprintf(err, errn, "postgresql: %zu parameters, at most %d", np, MAXP);
    return -1;
  }
  Oid types[MAXP];
  const char *values[MAXP];
  int lengths[MAXP], formats[MAXP];
  char numbers[MAXP][32];
  for (size_t i = 0; i < np; i++) {
    const struct kiln_store_param *p = &params[i];
    types[i] = 0;
    values[i] = NULL;
    lengths[i] = 0;
    formats[i] = 0;
    switch (p->kind) {
    case KILN_P_TEXT: values[i] = p->text; break;
    case KILN_P_INT:
      types[i] = PG_INT8_OID;
      snprintf(numbers[i], sizeof numbers[i], "%lld", (long long)p->i);
      values[i] = numbers[i];
      break;
    case KILN_P_REAL:
      types[i] = PG_FLOAT8_OID;
      snprintf(numbers[i], sizeof numbers[i], "%.17g", p->r);
      values[i] = numbers[i];
      break;
    case KILN_P_BLOB:
      types[i] = PG_BYTEA_OID;
      values[i] = p->len ? p->blob : "";
      lengths[i] = (int)p->len;
      formats[i] = 1;
      break;
    case KILN_P_NULL: break;
    }
  }
  bool begins = strcmp(sql, "BEGIN") == 0,
       ends = strcmp(sql, "COMMIT") == 0 || strcmp(sql, "ROLLBACK") == 0;
  if (PQstatus(c) != CONNECTION_OK && !pc->in_transaction)
    PQreset(c);
  PGresult *r =
      PQexecParams(c, sql, (int)np, types, values, lengths, formats, 0);
  ExecStatusType status = PQresultStatus(r);
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK &&
      PQstatus(c) == CONNECTION_BAD && !pc->in_transaction && !ends) {
    PQclear(r);
    PQreset(c);
    r = PQexecParams(c, sql, (int)np, types, values, lengths, formats, 0);
    status = PQresultStatus(r);
  }
  if (ends)
    pc->in_transaction = false;
  else if (begins && (status == PGRES_COMMAND_OK))
    pc->in_transaction = true;
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
    const char *m = PQresultErrorMessage(r);
    if (!*m)
      m = PQerrorMessage(c);
    snprintf(err, errn, "postgresql: %.*s", (int)strcspn(m, "\n"), m);
    PQclear(r);
    return -1;
  }
  pc->changes = strtoll(PQcmdTuples(r), NULL, 10); /* "" when none */
  int rc = 0;
  int rows = PQntuples(r), cols = PQnfields(r);
  struct kiln_store_cell cells[32];
  if (cols > 32)
    cols = 32;
  for (int row = 0; fn && rc == 0 && row < rows; row++) {
    unsigned char *blobs[32] = {0};
    for (int col = 0; col < cols; col++) {
      if (PQgetisnull(r, row, col)) {
        cells[col].data = NULL;
        cells[col].len = 0;
      } else if (PQftype(r, col) == PG_BYTEA_OID) {
        size_t len = 0;
        blobs[col] = PQunescapeBytea(
            (const unsigned char *)PQgetvalue(r, row, col), &len);
        cells[col].data = blobs[col] ? (const char *)blobs[col] : "";
        cells[col].len = len;
      } else {
        cells[col].data = PQgetvalue(r, row, col);
        cells[col].len = (size_t)PQgetlength(r, row, col);
      }
    }
    rc = fn(ctx, (size_t)cols, cells);
    for (int col = 0; col < cols; col++)
      PQfreemem(blobs[col]);
  }
  PQclear(r);
  return rc;
}

const struct kiln_store_backend kiln_store_pg = {
    .name = "postgresql",
    .blob = "BYTEA",
    .real = "DOUBLE PRECISION",
    .bigint = "BIGINT",
    .without_rowid = "",
    .begin_schema = "BEGIN",
    /* Any fixed key: kiln's schema is the only user. */
    .schema_lock = "SELECT pg_advisory_xact_lock(8470)",
    .open = pg_open,
    .close = pg_close,
    .exec = pg_exec,
    .changes = pg_changes,
};
