/* The line server's HTTP side: the libmicrohttpd daemon, the routing
 * table, the bearer token, the bounds on bodies, TLS, and the replies.
 *
 * Threading: one internal polling thread (MHD_USE_INTERNAL_POLLING_THREAD,
 * select/poll/epoll as MHD finds best) runs every handler, so the store's
 * one connection is only ever used from that thread and needs no lock;
 * intake is a short transaction per batch, which one thread keeps up with
 * for a line of DUTs (tests/bench), and nothing a handler does waits on a
 * client (bodies arrive whole before it runs). */
#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "kiln/textutil.h"
#include "serve/serve_internal.h"

enum body_bound {
  BODY_NONE,  /* a read: a body is ignored (bounded by --max-body) */
  BODY_BATCH, /* OCP lines: --max-body */
  BODY_FILE,  /* a report file: --max-file */
};

/* One row per method and path. In a pattern "{}" captures one path
 * segment and "{*}" (last) the rest of the path, '/' and all, so that a
 * refused file name ("a/b", "../x") reaches its handler and is named. */
static const struct route {
  const char *method, *pattern;
  serve_handler_fn fn;
  enum body_bound body;
  bool upload; /* needs the bearer token when the server has one */
} routes[] = {
    {"POST", "/api/v1/runs/{}/ocp", serve_post_ocp, BODY_BATCH, true},
    {"PUT", "/api/v1/runs/{}/files/{*}", serve_put_file, BODY_FILE, true},
    {"GET", "/api/v1/runs", serve_get_runs, BODY_NONE, false},
    {"GET", "/api/v1/runs/{}", serve_get_run, BODY_NONE, false},
    {"GET", "/api/v1/runs/{}/ocp.jsonl", serve_get_run_ocp, BODY_NONE, false},
    {"GET", "/api/v1/runs/{}/files/{*}", serve_get_run_file, BODY_NONE, false},
    {"GET", "/metrics", serve_get_metrics, BODY_NONE, false},
    {"GET", "/", serve_get_line_page, BODY_NONE, false},
    {"GET", "/api/v1/line", serve_get_line, BODY_NONE, false},
    {"GET", "/runs/{}", serve_get_run_page, BODY_NONE, false},
    {"GET", "/serials/{*}", serve_get_serial_page, BODY_NONE, false},
};
#define N_ROUTES (sizeof routes / sizeof routes[0])

struct kiln_server {
  struct kiln_serve_options opts;
  struct MHD_Daemon *daemon;
  struct kiln_store *store;
  char *token; /* NULL: uploads need none */
  char *tls_cert, *tls_key;
  char url[128];
  char *store_name;
  int schema;
  char last_log[256]; /* libmicrohttpd's last complaint */
};

/* ---- the request's life ---- */

/* What one request has gathered between libmicrohttpd's calls. */
struct exchange {
  const struct route *route;
  char *args; /* the captured parts, NUL-separated */
  const char *arg[SERVE_ARGS_MAX];
  char *body;
  size_t len, cap, bound;
  /* A refusal decided before the body is read (the body is then read and
   * dropped, up to the bound, so the client sees the reply). */
  struct serve_request refusal;
};

static bool match(const char *pat, const char *path, char *out,
                  const char **arg) {
  size_t na = 0;
  while (*pat) {
    if (strcmp(pat, "{*}") == 0) {
      if (!*path || na == SERVE_ARGS_MAX)
        return false;
      arg[na++] = out;
      strcpy(out, path);
      return true;
    }
    if (strncmp(pat, "{}", 2) == 0) {
      size_t n = strcspn(path, "/");
      if (n == 0 || na == SERVE_ARGS_MAX)
        return false;
      arg[na++] = out;
      memcpy(out, path, n);
      out[n] = '\0';
      out += n + 1;
      path += n;
      pat += 2;
      continue;
    }
    if (*pat != *path)
      return false;
    pat++;
    path++;
  }
  return *path == '\0';
}

/* The bearer token check: constant time over the token's length. */
static bool token_ok(const char *want, const char *header) {
  static const char scheme[] = "Bearer ";
  if (!header || strncasecmp(header, scheme, sizeof scheme - 1) != 0)
    return false;
  const char *got = header + sizeof scheme - 1;
  size_t n = strlen(want), m = strlen(got);
  unsigned char diff = n != m;
  for (size_t i = 0; i < n; i++)
    diff |= (unsigned char)want[i] ^ (unsigned char)(i < m ? got[i] : 0);
  return diff == 0;
}

/* Finds the route and decides what is refused before the body. */
static void begin(struct kiln_server *s, struct exchange *x,
                  struct MHD_Connection *c, const char *url,
                  const char *method) {
  x->args = kiln_xcalloc(1, strlen(url) + 2);
  char allowed[64] = "";
  for (size_t i = 0; i < N_ROUTES && !x->route; i++) {
    const char *arg[SERVE_ARGS_MAX] = {0};
    if (!match(routes[i].pattern, url, x->args, arg))
      continue;
    if (strcmp(routes[i].method, method) == 0) {
      x->route = &routes[i];
      memcpy(x->arg, arg, sizeof arg);
    } else if (!strstr(allowed, routes[i].method)) {
      snprintf(allowed + strlen(allowed), sizeof allowed - strlen(allowed),
               "%s%s", allowed[0] ? ", " : "", routes[i].method);
    }
  }
  x->bound = s->opts.max_body;
  struct serve_request *r = &x->refusal;
  if (!x->route && allowed[0]) {
    serve_reply_error(r, 405, "method %s is not allowed on %s (only %s)",
                      method, url, allowed);
    serve_reply_header(r, MHD_HTTP_HEADER_ALLOW, allowed);
    return;
  }
  if (!x->route) {
    serve_reply_error(r, 404, "no such path: %s", url);
    return;
  }
  if (x->route->upload && s->token) {
    const char *auth = MHD_lookup_connection_value(
        c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
    if (!token_ok(s->token, auth)) {
      serve_reply_error(r, 401,
                        auth ? "the bearer token is wrong"
                             : "no Authorization: Bearer token: this "
                               "server takes uploads with its token only");
      serve_reply_header(r, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer");
      return;
    }
  }
  if (x->route->body == BODY_FILE)
    x->bound = s->opts.max_file;
}

static void too_big(struct serve_request *r, const struct exchange *x,
                    const char *how_big) {
  serve_reply_error(
      r, 413, "body of %s bytes: over the bound of %zu (%s)", how_big, x->bound,
      x->route && x->route->body == BODY_FILE ? "--max-file" : "--max-body");
}

static enum MHD_Result send_reply(struct MHD_Connection *c,
                                  struct serve_request *r) {
  if (r->status == 0)
    serve_reply_error(r, 500, "the handler gave no reply");
  struct MHD_Response *resp = MHD_create_response_from_buffer(
      r->reply_len, r->reply, MHD_RESPMEM_MUST_FREE);
  if (!resp)
    return MHD_NO;
  r->reply = NULL;
  MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, r->content_type);
  MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
  for (size_t i = 0; i < SERVE_HEADERS_MAX && r->header_name[i]; i++)
    MHD_add_response_header(resp, r->header_name[i], r->header_value[i]);
  enum MHD_Result ok = MHD_queue_response(c, r->status, resp);
  MHD_destroy_response(resp);
  return ok;
}

static void request_clear(struct serve_request *r) {
  free(r->reply);
  for (size_t i = 0; i < SERVE_HEADERS_MAX; i++)
    free(r->header_value[i]);
  memset(r, 0, sizeof *r);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c,
                                  const char *url, const char *method,
                                  const char *version, const char *upload,
                                  size_t *upload_size, void **state) {
  struct kiln_server *s = cls;
  struct exchange *x = *state;
  if (!x) {
    x = *state = kiln_xcalloc(1, sizeof *x);
    begin(s, x, c, url, method);
    /* A declared length over the bound is refused before it is sent. */
    const char *cl = MHD_lookup_connection_value(
        c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    if (cl && strtoull(cl, NULL, 10) > x->bound) {
      if (!x->refusal.status)
        too_big(&x->refusal, x, cl);
      return send_reply(c, &x->refusal);
    }
    return MHD_YES;
  }
  if (*upload_size) {
    size_t n = *upload_size;
    *upload_size = 0;
    if (x->len + n > x->bound && !x->refusal.status) {
      /* Sent without its length (chunked): libmicrohttpd takes a reply
       * only once the body is in, so the rest is read and dropped, and
       * refused at its end. */
      char how[32];
      snprintf(how, sizeof how, "more than %zu", x->bound);
      too_big(&x->refusal, x, how);
    }
    /* Dropping is bounded too: a body that goes on and on is cut off
     * (the connection closed, no reply). */
    if (x->refusal.status && x->len / 16 > x->bound)
      return MHD_NO;
    if (!x->refusal.status) {
      if (x->len + n + 1 > x->cap) {
        x->cap = x->cap ? x->cap : 4096;
        while (x->cap < x->len + n + 1)
          x->cap *= 2;
        x->body = kiln_xrealloc(x->body, x->cap);
      }
      memcpy(x->body + x->len, upload, n);
    }
    x->len += n; /* a refusal still counts what it drops */
    return MHD_YES;
  }
  if (x->refusal.status)
    return send_reply(c, &x->refusal);
  struct serve_request rq = {
      .method = method,
      .path = url,
      .body = x->body ? x->body : "",
      .body_len = x->body ? x->len : 0,
      .store = s->store,
      .opts = &s->opts,
      .conn = c,
  };
  if (x->body)
    x->body[x->len] = '\0';
  memcpy(rq.arg, x->arg, sizeof rq.arg);
  x->route->fn(&rq);
  enum MHD_Result ok = send_reply(c, &rq);
  request_clear(&rq);
  return ok;
}

static void on_completed(void *cls, struct MHD_Connection *c, void **state,
                         enum MHD_RequestTerminationCode why) {
  struct exchange *x = *state;
  if (!x)
    return;
  request_clear(&x->refusal);
  free(x->args);
  free(x->body);
  free(x);
  *state = NULL;
}

const char *serve_query(const struct serve_request *rq, const char *name) {
  return MHD_lookup_connection_value(rq->conn, MHD_GET_ARGUMENT_KIND, name);
}

/* ---- replies ---- */

void serve_reply_owned(struct serve_request *rq, unsigned status,
                       const char *content_type, char *body, size_t len) {
  free(rq->reply);
  rq->status = status;
  rq->content_type = content_type;
  rq->reply = body ? body : kiln_xcalloc(1, 1);
  rq->reply_len = body ? len : 0;
}

void serve_reply(struct serve_request *rq, unsigned status,
                 const char *content_type, const void *body, size_t len) {
  char *copy = kiln_xrealloc(NULL, len + 1);
  memcpy(copy, body, len);
  copy[len] = '\0';
  serve_reply_owned(rq, status, content_type, copy, len);
}

void serve_reply_json(struct serve_request *rq, unsigned status, json_t *obj) {
  char *text = json_dumps(obj, JSON_COMPACT | JSON_ENSURE_ASCII);
  json_decref(obj);
  if (!text) {
    serve_reply_text(rq, 500, "cannot write the reply as JSON\n");
    return;
  }
  size_t n = strlen(text);
  char *body = kiln_xrealloc(NULL, n + 2);
  memcpy(body, text, n);
  memcpy(body + n, "\n", 2);
  free(text);
  serve_reply_owned(rq, status, "application/json", body, n + 1);
}

void serve_reply_text(struct serve_request *rq, unsigned status,
                      const char *text) {
  serve_reply(rq, status, "text/plain; charset=utf-8", text, strlen(text));
}

void serve_reply_html(struct serve_request *rq, unsigned status,
                      char *html_owned) {
  serve_reply_owned(rq, status, "text/html; charset=utf-8", html_owned,
                    strlen(html_owned));
}

static void reply_error_v(struct serve_request *rq, unsigned status,
                          json_t *extra, const char *fmt, va_list ap) {
  char msg[1024];
  vsnprintf(msg, sizeof msg, fmt, ap);
  for (char *p = msg; *p; p++)
    if (*p == '\n' || *p == '\r')
      *p = ' ';
  json_t *o = extra ? extra : json_object();
  json_t *m = json_string(msg);
  if (!m) { /* not UTF-8: a DUT's bytes in the message */
    char *clean = kiln_utf8_sanitize(msg);
    m = json_string(clean);
    free(clean);
  }
  json_object_set_new(o, "error", m);
  serve_reply_json(rq, status, o);
}

void serve_reply_error(struct serve_request *rq, unsigned status,
                       const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  reply_error_v(rq, status, NULL, fmt, ap);
  va_end(ap);
}

void serve_reply_error_with(struct serve_request *rq, unsigned status,
                            json_t *extra, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  reply_error_v(rq, status, extra, fmt, ap);
  va_end(ap);
}

void serve_reply_header(struct serve_request *rq, const char *name,
                        const char *value) {
  for (size_t i = 0; i < SERVE_HEADERS_MAX; i++)
    if (!rq->header_name[i]) {
      rq->header_name[i] = name;
      rq->header_value[i] = kiln_xstrdup(value);
      return;
    }
}

void serve_reply_store_failed(struct serve_request *rq, const char *why) {
  serve_reply_error(rq, 500, "the store failed: %s", why);
}

/* ---- the server ---- */

static void on_mhd_log(void *cls, const char *fmt, va_list ap) {
  struct kiln_server *s = cls;
  vsnprintf(s->last_log, sizeof s->last_log, fmt, ap);
  s->last_log[strcspn(s->last_log, "\n")] = '\0';
}

/* A file an option names, whole and not empty ("--tls-cert F: why" in
 * err). */
static char *read_file(const char *path, const char *option, char *err,
                       size_t errn) {
  char why[512];
  char *text =
      kiln_read_text_file(path, 1 << 20, "not a text file", why, sizeof why);
  if (!text) {
    snprintf(err, errn, "%s %s", option, why);
    return NULL;
  }
  if (!*text) {
    snprintf(err, errn, "%s %s: empty", option, path);
    free(text);
    return NULL;
  }
  return text;
}

/* The listening socket on o->listen; -1 with err (bad: 1 for a bad value,
 * else the environment). */
static int listen_on(const char *listen_at, char *url_host, size_t hostn,
                     int *port, int *family, int *bad, char *err, size_t errn) {
  *bad = 1;
  const char *colon = strrchr(listen_at, ':');
  char host[256];
  if (!colon || !colon[1] || (size_t)(colon - listen_at) >= sizeof host) {
    snprintf(err, errn, "--listen '%s': give ADDR:PORT (127.0.0.1:8470)",
             listen_at);
    return -1;
  }
  const char *ps = colon + 1;
  char *end;
  long p = strtol(ps, &end, 10);
  if (*end || p < 0 || p > 65535 || ps[strspn(ps, "0123456789")]) {
    snprintf(err, errn, "--listen '%s': port '%s' is not 0 to 65535", listen_at,
             ps);
    return -1;
  }
  snprintf(host, sizeof host, "%.*s", (int)(colon - listen_at), listen_at);
  if (host[0] == '[' && host[strlen(host) - 1] == ']') {
    memmove(host, host + 1, strlen(host));
    host[strlen(host) - 1] = '\0';
  }
  struct addrinfo hints = {.ai_family = AF_UNSPEC,
                           .ai_socktype = SOCK_STREAM,
                           .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
  struct addrinfo *ai = NULL;
  int gai = getaddrinfo(host[0] ? host : NULL, ps, &hints, &ai);
  if (gai != 0) {
    snprintf(err, errn, "--listen '%s': address '%s': %s", listen_at, host,
             gai_strerror(gai));
    return -1;
  }
  *bad = 0;
  int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  if (fd < 0 ||
      setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
      bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(fd, 256) != 0) {
    snprintf(err, errn, "cannot listen on %s: %s", listen_at, strerror(errno));
    if (fd >= 0)
      close(fd);
    freeaddrinfo(ai);
    return -1;
  }
  *family = ai->ai_family;
  freeaddrinfo(ai);
  struct sockaddr_storage sa;
  socklen_t sl = sizeof sa;
  char num[INET6_ADDRSTRLEN] = "?", serv[16] = "0";
  if (getsockname(fd, (struct sockaddr *)&sa, &sl) == 0)
    getnameinfo((struct sockaddr *)&sa, sl, num, sizeof num, serv, sizeof serv,
                NI_NUMERICHOST | NI_NUMERICSERV);
  *port = atoi(serv);
  snprintf(url_host, hostn, *family == AF_INET6 ? "[%s]" : "%s", num);
  return fd;
}

/* url with the password of postgresql://user:password@... hidden. */
static char *hide_password(const char *url) {
  char *out = kiln_xstrdup(url);
  char *auth = strstr(out, "://");
  if (!auth)
    return out;
  auth += 3;
  char *at = strchr(auth, '@');
  char *colon = strchr(auth, ':');
  char *slash = strchr(auth, '/');
  if (at && colon && colon < at && (!slash || at < slash)) {
    char *hidden =
        kiln_strdup_printf("%.*s***%s", (int)(colon + 1 - out), out, at);
    free(out);
    out = hidden;
  }
  return out;
}

/* Whether libmicrohttpd takes the certificate and key: tried on a daemon
 * that listens nowhere, so that a bad one is refused before anything
 * listens or the store is opened. */
static bool tls_usable(struct kiln_server *s, char *err, size_t errn) {
  struct MHD_Daemon *d = MHD_start_daemon(
      MHD_USE_TLS | MHD_USE_NO_LISTEN_SOCKET | MHD_USE_ERROR_LOG, 0, NULL, NULL,
      on_request, s, MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, s,
      MHD_OPTION_HTTPS_MEM_CERT, s->tls_cert, MHD_OPTION_HTTPS_MEM_KEY,
      s->tls_key, MHD_OPTION_END);
  if (d) {
    MHD_stop_daemon(d);
    return true;
  }
  snprintf(err, errn,
           "cannot serve HTTPS with --tls-cert %s and --tls-key %s: %s",
           s->opts.tls_cert, s->opts.tls_key,
           s->last_log[0] ? s->last_log : "libmicrohttpd refused them");
  return false;
}

static void server_free(struct kiln_server *s) {
  if (s->daemon)
    MHD_stop_daemon(s->daemon);
  if (s->store)
    kiln_store_close(s->store);
  free(s->token);
  free(s->tls_cert);
  free(s->tls_key);
  free(s->store_name);
  free(s);
}

int kiln_serve_start(const struct kiln_serve_options *o,
                     struct kiln_server **out, char *err, size_t errn) {
  *out = NULL;
  if (!o->tls_cert != !o->tls_key) {
    snprintf(err, errn, "--tls-cert and --tls-key go together: give both");
    return 1;
  }
  if (o->tls_cert && MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
    snprintf(err, errn,
             "--tls-cert: this libmicrohttpd is built without TLS (GnuTLS)");
    return -1;
  }
  struct kiln_server *s = kiln_xcalloc(1, sizeof *s);
  s->opts = *o;
  if (!s->opts.listen)
    s->opts.listen = KILN_SERVE_LISTEN_DEFAULT;
  if (!s->opts.db)
    s->opts.db = KILN_SERVE_DB_DEFAULT;
  char token_err[600];
  if (o->token_file && !(s->token = kiln_read_token_file(
                             o->token_file, token_err, sizeof token_err))) {
    snprintf(err, errn, "--token-file %s", token_err);
    goto env_failed;
  }
  if (o->tls_cert &&
      (!(s->tls_cert = read_file(o->tls_cert, "--tls-cert", err, errn)) ||
       !(s->tls_key = read_file(o->tls_key, "--tls-key", err, errn))))
    goto env_failed;

  if (o->tls_cert && !tls_usable(s, err, errn))
    goto env_failed;

  char host[INET6_ADDRSTRLEN + 2];
  int port = 0, family = AF_INET, bad = 0;
  int fd = listen_on(s->opts.listen, host, sizeof host, &port, &family, &bad,
                     err, errn);
  if (fd < 0) {
    server_free(s);
    return bad ? 1 : -1;
  }
  snprintf(s->url, sizeof s->url, "%s://%s:%d", o->tls_cert ? "https" : "http",
           host, port);
  s->store_name = hide_password(s->opts.db);
  char why[512];
  int opened = kiln_store_open(s->opts.db, &s->store, why, sizeof why);
  if (opened != 0) {
    snprintf(err, errn, "--db %s: %s", s->store_name, why);
    close(fd);
    server_free(s);
    return opened > 0 ? 1 : -1;
  }
  s->schema = kiln_store_schema_version(s->store);

  unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO |
                   MHD_USE_ERROR_LOG | (family == AF_INET6 ? MHD_USE_IPv6 : 0) |
                   (o->tls_cert ? MHD_USE_TLS : 0);
  struct MHD_OptionItem tls[] = {
      {MHD_OPTION_HTTPS_MEM_CERT, 0, s->tls_cert},
      {MHD_OPTION_HTTPS_MEM_KEY, 0, s->tls_key},
      {MHD_OPTION_END, 0, NULL},
  };
  s->daemon = MHD_start_daemon(
      flags, 0, NULL, NULL, on_request, s, MHD_OPTION_LISTEN_SOCKET, fd,
      MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, s, MHD_OPTION_NOTIFY_COMPLETED,
      on_completed, s, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)120,
      MHD_OPTION_ARRAY, o->tls_cert ? tls : tls + 2, MHD_OPTION_END);
  if (!s->daemon) {
    snprintf(err, errn, "cannot start the server on %s: %s", s->url,
             s->last_log[0] ? s->last_log : "libmicrohttpd failed");
    close(fd);
    goto env_failed;
  }
  *out = s;
  return 0;
env_failed:
  server_free(s);
  return -1;
}

const char *kiln_serve_url(const struct kiln_server *s) { return s->url; }

const char *kiln_serve_store_name(const struct kiln_server *s) {
  return s->store_name;
}

int kiln_serve_schema_version(const struct kiln_server *s) { return s->schema; }

void kiln_serve_stop(struct kiln_server *s) {
  if (s)
    server_free(s);
}
