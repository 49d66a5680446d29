/* The line server's uploads: a batch of a run's OCP lines (POST
 * /api/v1/runs/<id>/ocp?first=N) and a report file (PUT
 * /api/v1/runs/<id>/files/<name>), both into the store. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kiln/textutil.h"
#include "serve/serve_internal.h"

/* ?first=N: a sequence number (0 or more, decimal); false after replying. */
static bool first_sequence(struct serve_request *rq, int64_t *first) {
  const char *v = serve_query(rq, "first");
  if (!v || !*v) {
    serve_reply_error(rq, 400,
                      "?first= missing: the sequence number of the batch's "
                      "first line");
    return false;
  }
  char *end;
  errno = 0;
  long long n = strtoll(v, &end, 10);
  /* Bounded far below overflow: first + i must stay an int64_t. */
  if (*end || v[strspn(v, "0123456789")] || errno || n > INT64_MAX / 2) {
    serve_reply_error(rq, 400,
                      "?first=%.40s: not a sequence number (0 or more)", v);
    return false;
  }
  *first = n;
  return true;
}

static json_t *ack_json(const char *run_id, const struct kiln_store_ack *ack) {
  return json_pack("{s:s, s:I, s:I, s:I}", "run", run_id, "last_contiguous",
                   (json_int_t)ack->last_contiguous, "stored",
                   (json_int_t)ack->stored, "refused",
                   (json_int_t)ack->refused);
}

void serve_post_ocp(struct serve_request *rq) {
  const char *run_id = rq->arg[0];
  int64_t first;
  if (!first_sequence(rq, &first))
    return;
  if (rq->body_len == 0) {
    serve_reply_error(rq, 400, "run %s: empty body: no OCP lines", run_id);
    return;
  }
  /* The body's lines, cut in place; a last one without its newline, or
   * one holding a NUL, is the batch's bad line (the lines before it are
   * stored). */
  char *body = (char *)rq->body;
  size_t cap = 64, n = 0;
  const char **lines = kiln_xcalloc(cap, sizeof *lines);
  const char *cut = NULL;
  for (size_t at = 0; at < rq->body_len;) {
    char *nl = memchr(body + at, '\n', rq->body_len - at);
    if (!nl) {
      cut = "the body's last line does not end in a newline";
      break;
    }
    if (memchr(body + at, '\0', (size_t)(nl - (body + at)))) {
      cut = "holds a NUL byte";
      break;
    }
    *nl = '\0';
    if (n == cap)
      lines = kiln_xrealloc(lines, (cap *= 2) * sizeof *lines);
    lines[n++] = body + at;
    at = (size_t)(nl - body) + 1;
  }
  struct kiln_store_ack ack;
  char err[1024];
  int rc = kiln_store_append(rq->store, run_id, first, lines, n, &ack, err,
                             sizeof err);
  free(lines);
  if (rc < 0) {
    serve_reply_store_failed(rq, err);
  } else if (rc > 0) {
    serve_reply_error_with(rq, 400, ack_json(run_id, &ack), "%s", err);
  } else if (cut) {
    serve_reply_error_with(rq, 400, ack_json(run_id, &ack),
                           "run %s: line %zu of the batch (sequence %lld): %s",
                           run_id, n + 1, (long long)(first + (int64_t)n), cut);
  } else {
    serve_reply_json(rq, 200, ack_json(run_id, &ack));
  }
}

void serve_put_file(struct serve_request *rq) {
  const char *run_id = rq->arg[0], *name = rq->arg[1];
  char err[1024];
  /* The name first: a path or an unknown name is refused whatever the run. */
  if (!kiln_store_file_name_known(name)) {
    serve_reply_error(
        rq, 400, "file '%.100s': %s", name,
        strcmp(name, "ocp.jsonl") == 0
            ? "the OCP stream is sent line by line (POST .../ocp), not as a "
              "file"
            : "not a report file the server takes (junit.xml, results.tap, "
              "summary.txt, report.html, telemetry.csv)");
    return;
  }
  struct kiln_store_run run;
  int rc = kiln_store_run_get(rq->store, run_id, &run, err, sizeof err);
  kiln_store_run_clear(&run);
  if (rc < 0) {
    serve_reply_store_failed(rq, err);
    return;
  }
  if (rc > 0) {
    serve_reply_error(rq, 404, "no run %s: send its OCP stream first", run_id);
    return;
  }
  rc = kiln_store_put_file(rq->store, run_id, name, rq->body, rq->body_len, err,
                           sizeof err);
  if (rc < 0)
    serve_reply_store_failed(rq, err);
  else if (rc > 0)
    serve_reply_error(rq, 400, "%s", err);
  else
    serve_reply_json(rq, 200,
                     json_pack("{s:s, s:s, s:I}", "run", run_id, "file", name,
                               "size", (json_int_t)rq->body_len));
}
