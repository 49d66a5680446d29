/* The uploader's thread: a report directory to a line server with
 * libcurl's easy interface (one handle, its connection kept between
 * requests). See upload.h for what it promises. */
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "kiln/textutil.h"
#include "upload/upload.h"

/* A batch of lines: sent about once a second, at most this many bytes
 * (the server takes 8 MiB by default). */
#define BATCH_INTERVAL 1.0
#define BATCH_MAX_BYTES (1024 * 1024)
#define BATCH_MAX_LINES 20000
/* Retrying a server that is down: from the first to the last wait,
 * doubling. */
#define BACKOFF_FIRST 0.5
#define BACKOFF_MAX 8.0
/* One request: to connect, and in all. */
#define CONNECT_TIMEOUT 5L
#define REQUEST_TIMEOUT 60.0
/* The most of a reply kept (replies are small JSON objects). */
#define REPLY_MAX 65536

static const char *const report_files[] = {
    "junit.xml", "results.tap", "summary.txt", "report.html", "telemetry.csv",
};
#define N_REPORT_FILES (sizeof report_files / sizeof *report_files)

struct kiln_upload {
  char *dir, *url, *token, *ca_file;
  pthread_t thread;
  pthread_mutex_t lock;
  pthread_cond_t wake;
  /* Under lock: */
  bool closed;     /* the directory is complete */
  double deadline; /* monotonic; once closed */

  /* The thread's own: */
  CURL *curl;
  struct curl_slist *headers, *json_headers;
  struct kiln_tail *tail;
  char run_id[KILN_UPLOAD_RUN_ID_MAX + 1];
  long long acked;  /* the server's last_contiguous; -1: none */
  bool resume;      /* ask the server where its copy ends first */
  bool lines_stuck; /* a line was refused: the rest stay unsent */
  bool stopped;     /* an error no retry mends (a refused token) */
  bool file_done[N_REPORT_FILES]; /* stored, or refused for good */
  bool file_sent[N_REPORT_FILES];
  double backoff;
  char stop_problem[640]; /* what stopped it */
  char last_problem[640]; /* the last failure seen */
  char reply[REPLY_MAX + 1];
  size_t reply_len;
};

/* The first error no retry mends is the one the result names. */
__attribute__((format(printf, 2, 3))) static void
note_refusal(struct kiln_upload *u, const char *fmt, ...) {
  if (u->stop_problem[0])
    return;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(u->stop_problem, sizeof u->stop_problem, fmt, ap);
  va_end(ap);
}

/* ---- HTTP ---- */

static size_t take_reply(char *data, size_t size, size_t nmemb, void *ctx) {
  struct kiln_upload *u = ctx;
  size_t len = size * nmemb;
  size_t room = REPLY_MAX - u->reply_len;
  size_t keep = len < room ? len : room;
  memcpy(u->reply + u->reply_len, data, keep);
  u->reply_len += keep;
  u->reply[u->reply_len] = 0;
  return len;
}

/* A transfer still going at the deadline is cut short. */
static int check_deadline(void *ctx, curl_off_t dltotal, curl_off_t dlnow,
                          curl_off_t ultotal, curl_off_t ulnow) {
  struct kiln_upload *u = ctx;
  pthread_mutex_lock(&u->lock);
  bool late = u->closed && kiln_monotonic_now() >= u->deadline;
  pthread_mutex_unlock(&u->lock);
  return late ? 1 : 0;
}

/* Sockets close on exec, and are not left to a step's child. */
static curl_socket_t open_socket(void *ctx, curlsocktype purpose,
                                 struct curl_sockaddr *a) {
  return socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
}

/* What is left of the time to the deadline (a large value before the
 * directory is closed). */
static double time_left(struct kiln_upload *u) {
  pthread_mutex_lock(&u->lock);
  double left =
      u->closed ? u->deadline - kiln_monotonic_now() : REQUEST_TIMEOUT;
  pthread_mutex_unlock(&u->lock);
  return left;
}

/* One request to path (under the URL), its reply in u->reply. method:
 * "GET", "POST" (body, len) or "PUT" (the file f, len bytes). Returns the
 * HTTP status, or 0 after noting in last_problem why no reply came. */
static long request(struct kiln_upload *u, const char *method, const char *path,
                    const char *body, FILE *f, size_t len) {
  CURL *c = u->curl;
  curl_easy_reset(c);
  char *url = kiln_strdup_printf("%s%s", u->url, path);
  char curl_err[CURL_ERROR_SIZE] = "";
  double left = time_left(u);
  long timeout_ms =
      (long)((left < REQUEST_TIMEOUT ? left : REQUEST_TIMEOUT) * 1000.0);
  if (timeout_ms < 1)
    timeout_ms = 1;
  curl_easy_setopt(c, CURLOPT_URL, url);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, CONNECT_TIMEOUT);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms);
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, curl_err);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, take_reply);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, u);
  curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, check_deadline);
  curl_easy_setopt(c, CURLOPT_XFERINFODATA, u);
  curl_easy_setopt(c, CURLOPT_OPENSOCKETFUNCTION, open_socket);
  curl_easy_setopt(c, CURLOPT_USERAGENT, "kiln/" KILN_VERSION);
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  if (u->ca_file)
    curl_easy_setopt(c, CURLOPT_CAINFO, u->ca_file);
  if (strcmp(method, "POST") == 0) {
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, u->headers);
    curl_easy_setopt(c, CURLOPT_POST, 1L);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
  } else if (strcmp(method, "PUT") == 0) {
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, u->headers);
    curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(c, CURLOPT_READDATA, f);
    curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, (curl_off_t)len);
  } else {
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, u->json_headers);
    curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
  }
  u->reply_len = 0;
  u->reply[0] = 0;
  CURLcode rc = curl_easy_perform(c);
  long status = 0;
  if (rc == CURLE_OK) {
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  } else {
    snprintf(u->last_problem, sizeof u->last_problem, "%s %s: %s", method, url,
             curl_err[0] ? curl_err : curl_easy_strerror(rc));
    /* The next connection asks where the server's copy ends. */
    u->resume = true;
  }
  free(url);
  return status;
}

/* The reply's "error", or its first line, for a message. */
static void reply_reason(const struct kiln_upload *u, char *buf, size_t n) {
  json_t *root = json_loadb(u->reply, u->reply_len, 0, NULL);
  const char *e = json_string_value(json_object_get(root, "error"));
  if (e)
    snprintf(buf, n, "%s", e);
  else
    snprintf(buf, n, "%.*s", (int)strcspn(u->reply, "\r\n"), u->reply);
  json_decref(root);
}

/* The reply's last_contiguous into *out (null: -1); false when it has
 * none. */
static bool reply_last_contiguous(const struct kiln_upload *u, long long *out) {
  json_t *root = json_loadb(u->reply, u->reply_len, 0, NULL);
  json_t *v = json_object_get(root, "last_contiguous");
  bool ok = json_is_integer(v) || json_is_null(v);
  if (ok)
    *out = json_is_integer(v) ? (long long)json_integer_value(v) : -1;
  json_decref(root);
  return ok;
}

/* A status the thread cannot go on from (401), or one to retry later;
 * noted in last_problem. Returns false when the upload must stop. */
static bool note_status(struct kiln_upload *u, const char *what, long status) {
  char reason[400];
  reply_reason(u, reason, sizeof reason);
  if (status == 401 || status == 403) {
    note_refusal(u, "the server refused the token (HTTP %ld%s%s): %s", status,
                 reason[0] ? ": " : "", reason,
                 u->token ? "check the token file" : "it needs a token file");
    u->stopped = true;
    return false;
  }
  snprintf(u->last_problem, sizeof u->last_problem, "%s: HTTP %ld%s%s", what,
           status, reason[0] ? ": " : "", reason);
  u->resume = true;
  return true;
}

/* ---- The run's stream ---- */

/* The run id, once the stream's first two lines are there; false while
 * they are not (or, stopping the upload, when they name no run). */
static bool know_run_id(struct kiln_upload *u) {
  if (u->run_id[0])
    return true;
  if (kiln_tail_lines(u->tail) < 2)
    return false;
  char err[256];
  size_t count = 2, len;
  char *head =
      kiln_tail_read(u->tail, 0, &count, 1 << 20, &len, err, sizeof err);
  if (!head || count < 2) {
    note_refusal(u, "%s",
                 head ? "ocp.jsonl: its first lines are over 1 MiB" : err);
    u->stopped = true;
    free(head);
    return false;
  }
  size_t len0 = strcspn(head, "\n");
  const char *line1 = head + len0 + 1;
  size_t len1 = len - len0 - 2;
  if (kiln_upload_run_id(head, len0, line1, len1, u->run_id, sizeof u->run_id,
                         err, sizeof err) != 0) {
    note_refusal(u, "%s/%s", u->dir, err);
    u->stopped = true;
  }
  free(head);
  return u->run_id[0] != 0;
}

/* Where the server's copy of the stream ends. false: not known (no
 * reply), try again later. */
static bool ask_server(struct kiln_upload *u) {
  char *path = kiln_strdup_printf("/api/v1/runs/%s", u->run_id);
  long status = request(u, "GET", path, NULL, NULL, 0);
  free(path);
  if (status == 404) {
    u->acked = -1;
  } else if (status == 200) {
    if (!reply_last_contiguous(u, &u->acked)) {
      snprintf(u->last_problem, sizeof u->last_problem,
               "GET %s/api/v1/runs/%s: the reply has no last_contiguous",
               u->url, u->run_id);
      return false;
    }
  } else {
    if (status != 0)
      note_status(u, "GET /api/v1/runs/<id>", status);
    return false;
  }
  u->resume = false;
  return true;
}

/* Posts the next batch of lines. Returns false when no reply came (retry
 * after a wait). */
static bool send_batch(struct kiln_upload *u, size_t *max_bytes) {
  size_t first = (size_t)(u->acked + 1);
  size_t count = BATCH_MAX_LINES, len;
  char err[256];
  char *body =
      kiln_tail_read(u->tail, first, &count, *max_bytes, &len, err, sizeof err);
  if (!body) {
    note_refusal(u, "%s", err);
    u->stopped = true;
    return true;
  }
  char *path =
      kiln_strdup_printf("/api/v1/runs/%s/ocp?first=%zu", u->run_id, first);
  long status = request(u, "POST", path, body, NULL, len);
  free(path);
  free(body);
  if (status == 0)
    return false;
  long long acked = u->acked;
  bool has_ack = reply_last_contiguous(u, &acked);
  if (status == 200 && has_ack && acked > u->acked) {
    u->acked = acked; /* less than sent: the rest again from there */
    return true;
  }
  if (status == 413 && count > 1) {
    *max_bytes /= 2; /* smaller batches */
    return true;
  }
  if (status == 400 || status == 413) {
    char reason[400];
    reply_reason(u, reason, sizeof reason);
    if (has_ack)
      u->acked = acked;
    note_refusal(u,
                 "the server refused a line of ocp.jsonl (HTTP %ld: %s); it "
                 "and the lines after it stay unacknowledged",
                 status, reason);
    u->lines_stuck = true;
    return true;
  }
  if (status == 200)
    snprintf(u->last_problem, sizeof u->last_problem,
             "POST /api/v1/runs/<id>/ocp: the server acknowledged no new line");
  else
    note_status(u, "POST /api/v1/runs/<id>/ocp", status);
  return false;
}

/* PUTs report file i. Returns false when no reply came (retry later). */
static bool send_file(struct kiln_upload *u, size_t i) {
  char *file = kiln_strdup_printf("%s/%s", u->dir, report_files[i]);
  char err[300];
  int fd = kiln_open_regular(file, err, sizeof err);
  free(file);
  FILE *f = fd >= 0 ? fdopen(fd, "rb") : NULL;
  struct stat sb;
  if (!f || fstat(fd, &sb) != 0) {
    if (fd >= 0 && !f)
      close(fd);
    if (f)
      fclose(f);
    note_refusal(u, "%s", err);
    u->file_done[i] = true;
    return true;
  }
  char *path = kiln_strdup_printf("/api/v1/runs/%s/files/%s", u->run_id,
                                  report_files[i]);
  long status = request(u, "PUT", path, NULL, f, (size_t)sb.st_size);
  free(path);
  fclose(f);
  if (status == 0)
    return false;
  if (status == 200) {
    u->file_done[i] = u->file_sent[i] = true;
    return true;
  }
  if (status == 400 || status == 404 || status == 413) {
    char reason[400];
    reply_reason(u, reason, sizeof reason);
    note_refusal(u, "the server refused %s (HTTP %ld: %s)", report_files[i],
                 status, reason);
    u->file_done[i] = true;
    return true;
  }
  note_status(u, "PUT /api/v1/runs/<id>/files", status);
  return false;
}

static bool file_present(const struct kiln_upload *u, size_t i) {
  char *path = kiln_strdup_printf("%s/%s", u->dir, report_files[i]);
  struct stat sb;
  bool there = stat(path, &sb) == 0 && S_ISREG(sb.st_mode);
  free(path);
  return there;
}

/* ---- The thread ---- */

static bool is_closed(struct kiln_upload *u) {
  pthread_mutex_lock(&u->lock);
  bool closed = u->closed;
  pthread_mutex_unlock(&u->lock);
  return closed;
}

/* Sleeps until `until` (monotonic), the deadline, or a close; returns the
 * time now. */
static double wait_until(struct kiln_upload *u, double until) {
  pthread_mutex_lock(&u->lock);
  bool was_closed = u->closed;
  for (;;) {
    double now = kiln_monotonic_now();
    double end = u->closed && u->deadline < until ? u->deadline : until;
    if (now >= end || u->closed != was_closed)
      break;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    double secs = end - now;
    ts.tv_sec += (time_t)secs;
    ts.tv_nsec += (long)((secs - (double)(time_t)secs) * 1e9);
    if (ts.tv_nsec >= 1000000000L) {
      ts.tv_sec++;
      ts.tv_nsec -= 1000000000L;
    }
    pthread_cond_timedwait(&u->wake, &u->lock, &ts);
  }
  pthread_mutex_unlock(&u->lock);
  return kiln_monotonic_now();
}

static bool past_deadline(struct kiln_upload *u) {
  pthread_mutex_lock(&u->lock);
  bool late = u->closed && kiln_monotonic_now() >= u->deadline;
  pthread_mutex_unlock(&u->lock);
  return late;
}

/* A failed request: wait, longer each time in a row. */
static void back_off(struct kiln_upload *u) {
  wait_until(u, kiln_monotonic_now() + u->backoff);
  u->backoff = u->backoff * 2 < BACKOFF_MAX ? u->backoff * 2 : BACKOFF_MAX;
}

/* One round: what the file gained, then what can be sent of it. Returns
 * true when everything is sent (or nothing more can be). */
static bool upload_round(struct kiln_upload *u, size_t *max_bytes) {
  bool closed = is_closed(u); /* before the poll: then it sees it all */
  char err[300];
  if (kiln_tail_poll(u->tail, err, sizeof err) < 0) {
    note_refusal(u, "%s", err);
    u->stopped = true;
    return true;
  }
  if (!know_run_id(u)) {
    if (closed) {
      note_refusal(u,
                   "%s/ocp.jsonl: no testRunStart line (the run never "
                   "started)",
                   u->dir);
      u->stopped = true;
    }
    if (!u->stopped)
      wait_until(u, kiln_monotonic_now() + BATCH_INTERVAL);
    return u->stopped;
  }
  if (u->resume && !ask_server(u)) {
    if (!u->stopped)
      back_off(u);
    return u->stopped;
  }
  size_t lines = kiln_tail_lines(u->tail);
  if (!u->lines_stuck && (size_t)(u->acked + 1) < lines) {
    if (!send_batch(u, max_bytes) && !u->stopped)
      back_off(u);
    else
      u->backoff = BACKOFF_FIRST;
    return u->stopped;
  }
  if (!closed) {
    wait_until(u, kiln_monotonic_now() + BATCH_INTERVAL);
    return false;
  }
  for (size_t i = 0; i < N_REPORT_FILES && !u->stopped; i++) {
    if (u->file_done[i] || !file_present(u, i))
      continue;
    if (!send_file(u, i)) {
      if (!u->stopped)
        back_off(u);
      return u->stopped;
    }
    u->backoff = BACKOFF_FIRST;
  }
  return true;
}

static void *upload_thread(void *arg) {
  struct kiln_upload *u = arg;
  size_t max_bytes = BATCH_MAX_BYTES;
  while (!u->stopped && !past_deadline(u))
    if (upload_round(u, &max_bytes))
      break;
  return NULL;
}

static void upload_free(struct kiln_upload *u);

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc;
static void init_curl(void) {
  curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

struct kiln_upload *kiln_upload_start(const char *dir, const char *url,
                                      const char *token, const char *ca_file,
                                      char *err, size_t n) {
  pthread_once(&curl_once, init_curl);
  CURL *curl = curl_init_rc == CURLE_OK ? curl_easy_init() : NULL;
  if (!curl) {
    snprintf(err, n, "upload: libcurl cannot start");
    return NULL;
  }
  struct kiln_upload *u = kiln_xcalloc(1, sizeof *u);
  u->curl = curl;
  u->dir = kiln_xstrdup(dir);
  size_t url_len = strlen(url);
  while (url_len > 0 && url[url_len - 1] == '/')
    url_len--;
  u->url = kiln_strdup_printf("%.*s", (int)url_len, url);
  u->token = token ? kiln_xstrdup(token) : NULL;
  u->ca_file = ca_file ? kiln_xstrdup(ca_file) : NULL;
  u->acked = -1;
  u->resume = true;
  u->backoff = BACKOFF_FIRST;
  char *ocp = kiln_strdup_printf("%s/ocp.jsonl", dir);
  u->tail = kiln_tail_new(ocp);
  free(ocp);
  /* No "Expect: 100-continue": it would hold each body back a second. */
  u->headers = curl_slist_append(NULL, "Expect:");
  u->headers =
      curl_slist_append(u->headers, "Content-Type: application/x-ndjson");
  u->json_headers = curl_slist_append(NULL, "Accept: application/json");
  if (token) {
    char *auth = kiln_strdup_printf("Authorization: Bearer %s", token);
    u->headers = curl_slist_append(u->headers, auth);
    free(auth);
  }
  pthread_mutex_init(&u->lock, NULL);
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  pthread_cond_init(&u->wake, &ca);
  pthread_condattr_destroy(&ca);
  int rc = pthread_create(&u->thread, NULL, upload_thread, u);
  if (rc != 0) {
    snprintf(err, n, "upload: cannot start its thread: %s", strerror(rc));
    upload_free(u);
    return NULL;
  }
  return u;
}

void kiln_upload_close(struct kiln_upload *u, double wait) {
  pthread_mutex_lock(&u->lock);
  if (!u->closed) {
    u->closed = true;
    u->deadline = kiln_monotonic_now() + (wait > 0 ? wait : 0);
  }
  pthread_cond_broadcast(&u->wake);
  pthread_mutex_unlock(&u->lock);
}

void kiln_upload_finish(struct kiln_upload *u, struct kiln_upload_result *r) {
  kiln_upload_close(u, 0);
  pthread_join(u->thread, NULL);
  memset(r, 0, sizeof *r);
  snprintf(r->run_id, sizeof r->run_id, "%s", u->run_id);
  char err[300];
  kiln_tail_poll(u->tail, err, sizeof err);
  r->lines = kiln_tail_lines(u->tail);
  r->lines_sent = u->acked >= 0 ? (size_t)(u->acked + 1) : 0;
  if (r->lines_sent > r->lines)
    r->lines_sent = r->lines;
  for (size_t i = 0; i < N_REPORT_FILES; i++) {
    if (u->file_sent[i] || file_present(u, i))
      r->files++;
    if (u->file_sent[i])
      r->files_sent++;
  }
  if (!kiln_upload_complete(r))
    snprintf(r->problem, sizeof r->problem, "%s",
             u->stop_problem[0]   ? u->stop_problem
             : u->last_problem[0] ? u->last_problem
                                  : "the wait ran out before all was sent");
  upload_free(u);
}

static void upload_free(struct kiln_upload *u) {
  curl_slist_free_all(u->headers);
  curl_slist_free_all(u->json_headers);
  curl_easy_cleanup(u->curl);
  kiln_tail_free(u->tail);
  pthread_mutex_destroy(&u->lock);
  pthread_cond_destroy(&u->wake);
  free(u->dir);
  free(u->url);
  free(u->token);
  free(u->ca_file);
  free(u);
}

bool kiln_upload_complete(const struct kiln_upload_result *r) {
  return r->run_id[0] && r->lines_sent == r->lines && r->files_sent == r->files;
}
