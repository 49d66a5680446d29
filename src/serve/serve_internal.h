/* Inside the line server: the request a route's handler gets, the helpers
 * it replies with, and the handlers the routing table (server.c's
 * `routes`) names. A handler sees no libmicrohttpd: it reads the request
 * (captured path parts, query, body) and replies exactly once through a
 * serve_reply* helper; server.c turns that into the HTTP response. The
 * routing table has one row per method and path pattern; adding a page is
 * adding its rows there and its handlers in a file of its own.
 * Handlers all run on the server's one thread (see server.c), so they use
 * the store without locking.
 * Layer: serve (src/serve/). */
#ifndef KILN_SERVE_INTERNAL_H
#define KILN_SERVE_INTERNAL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "serve/serve.h"
#include "store/store.h"

#define SERVE_ARGS_MAX 4
#define SERVE_HEADERS_MAX 4

struct serve_request {
  const char *method, *path; /* path: percent-decoded, without the query */
  /* The parts the route's pattern captured, in order ("{}" and "{*}"). */
  const char *arg[SERVE_ARGS_MAX];
  /* The body (NUL after its body_len bytes; "" when none). */
  const char *body;
  size_t body_len;
  struct kiln_store *store;
  const struct kiln_serve_options *opts;
  void *conn; /* the connection, for serve_query (server.c's) */

  /* The reply, set by the serve_reply* helpers. */
  unsigned status; /* 0: none yet */
  const char *content_type;
  char *reply; /* malloc'd */
  size_t reply_len;
  const char *header_name[SERVE_HEADERS_MAX];
  char *header_value[SERVE_HEADERS_MAX];
};

/* The query argument name (percent-decoded), or NULL when absent. */
const char *serve_query(const struct serve_request *rq, const char *name);

/* Replies with body (copied), of the content type. */
void serve_reply(struct serve_request *rq, unsigned status,
                 const char *content_type, const void *body, size_t len);
/* The same, taking body (malloc'd) over. */
void serve_reply_owned(struct serve_request *rq, unsigned status,
                       const char *content_type, char *body, size_t len);
/* A JSON object (its reference taken over) as application/json. */
void serve_reply_json(struct serve_request *rq, unsigned status, json_t *obj);
/* text/plain; charset=utf-8, and text/html; charset=utf-8. */
void serve_reply_text(struct serve_request *rq, unsigned status,
                      const char *text);
void serve_reply_html(struct serve_request *rq, unsigned status,
                      char *html_owned);
/* {"error": "<printf>"}: one line (newlines in it become spaces). */
void serve_reply_error(struct serve_request *rq, unsigned status,
                       const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The same with more members in extra (taken over; may be NULL). */
void serve_reply_error_with(struct serve_request *rq, unsigned status,
                            json_t *extra, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* One more header on the reply (name static, value copied). */
void serve_reply_header(struct serve_request *rq, const char *name,
                        const char *value);

/* The store failing: 500 naming why. */
void serve_reply_store_failed(struct serve_request *rq, const char *why);

/* "2026-12-02T00:57:13.665Z" (as kiln_format_time writes it) in seconds
 * since the epoch; NAN when s is not that form. */
double serve_parse_time(const char *s);

/* s as a JSON string, or null when s is NULL; bytes that are not UTF-8
 * shown as U+FFFD, never dropped. */
json_t *serve_json_text(const char *s);

/* A run as the API's JSON object (with "files" when with_files). */
json_t *serve_run_json(struct serve_request *rq,
                       const struct kiln_store_run *run, bool with_files);

typedef void (*serve_handler_fn)(struct serve_request *rq);

/* intake.c */
void serve_post_ocp(struct serve_request *rq);
void serve_put_file(struct serve_request *rq);
/* api.c */
void serve_get_runs(struct serve_request *rq);
void serve_get_run(struct serve_request *rq);
void serve_get_run_ocp(struct serve_request *rq);
void serve_get_run_file(struct serve_request *rq);
void serve_get_metrics(struct serve_request *rq);
/* pages.c: the line page, its data, a run's page and a serial's */
void serve_get_line_page(struct serve_request *rq);
void serve_get_line(struct serve_request *rq);
void serve_get_run_page(struct serve_request *rq);
void serve_get_serial_page(struct serve_request *rq);
/* The run's measurements that are outliers against the line (outliers.h),
 * as a JSON array of {step, module, measurement, subcomponent, value,
 * unit, median, mad, z, siblings}; cache (outliers.h) may be NULL. */
struct kiln_outlier_cache;
json_t *serve_outliers_json(struct serve_request *rq,
                            const struct kiln_store_run *run,
                            struct kiln_outlier_cache *cache);

#endif
