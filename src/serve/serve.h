/* The line server (`kiln serve`): an HTTP server (libmicrohttpd) in front
 * of the store (store/store.h) that takes the OCP streams and report files
 * DUTs upload and answers the line's reads. The protocol is the README's
 * "The line": uploads POST /api/v1/runs/<id>/ocp?first=N and PUT
 * /api/v1/runs/<id>/files/<name> (with the bearer token when one is set),
 * reads GET /api/v1/runs[/<id>[/ocp.jsonl|/files/<name>]] and /metrics.
 *
 * What it guarantees: every reply to an error is one line naming the value
 * at fault (JSON {"error": ...} on the API); bodies over their bound are
 * refused (413) without being kept; kiln_serve_start fails, saying why in
 * one line, before anything listens (a token, certificate or key file that
 * cannot be read, an address in use, a store that does not open).
 * Layer: serve (src/serve/): uses store and core. */
#ifndef KILN_SERVE_H
#define KILN_SERVE_H

#include <stddef.h>

#define KILN_SERVE_LISTEN_DEFAULT "127.0.0.1:8470"
#define KILN_SERVE_DB_DEFAULT "sqlite:kiln-line.db"
#define KILN_SERVE_MAX_BODY_DEFAULT ((size_t)8 << 20)  /* 8 MiB */
#define KILN_SERVE_MAX_FILE_DEFAULT ((size_t)64 << 20) /* 64 MiB */
#define KILN_SERVE_OUTLIER_K_DEFAULT 3.5

struct kiln_serve_options {
  const char *listen;     /* ADDR:PORT ([ADDR]:PORT for IPv6); port 0: any */
  const char *db;         /* sqlite:PATH or postgresql://... */
  const char *token_file; /* NULL: uploads need no token */
  const char *tls_cert, *tls_key; /* both or neither: HTTPS (PEM files) */
  size_t max_body, max_file;      /* bounds of an OCP batch, of a file */
  double outlier_k; /* how many MADs from the median is an outlier */
};

struct kiln_server;

/* Starts serving on a thread of its own; 0 and *out, 1 for a bad value
 * in o, -1 when the environment fails (a file, the address, the store);
 * err says why in one line. */
int kiln_serve_start(const struct kiln_serve_options *o,
                     struct kiln_server **out, char *err, size_t errn);
/* "http://127.0.0.1:8470" (https with TLS): the port it really listens on. */
const char *kiln_serve_url(const struct kiln_server *s);
/* The store's url with any password hidden, and its schema version. */
const char *kiln_serve_store_name(const struct kiln_server *s);
int kiln_serve_schema_version(const struct kiln_server *s);
/* Stops serving (replies in flight are finished) and closes the store. */
void kiln_serve_stop(struct kiln_server *s);

#endif
