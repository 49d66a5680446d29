/* The line server under a production line's load (issue 14, "Speed"):
 * a `kiln serve` this bench starts itself (SQLite in a temporary
 * directory, --listen 127.0.0.1:0), with a line's history of stored runs
 * written through kiln_store_append before it starts, then
 *
 *   load    N simulated DUTs (200) for S seconds (60) on loopback, each
 *           replaying an OCP stream built from
 *           tests/fixtures/ocp/line-sdc.ocp.jsonl (its start lines with the
 *           DUT's own serial, then measurementSeriesElement lines for its
 *           series, 100 readings a second) in one batch a second through
 *           libcurl's multi interface, one connection per DUT. A DUT's
 *           batch is due every second; its latency runs from when it was
 *           due to the server's acknowledgement (a DUT still waiting for its
 *           previous ack sends late, and the wait counts). Afterwards
 *           every run's last_contiguous + 1 must equal the lines it sent.
 *   flood   4 DUTs post 100-line batches back to back for F seconds
 *           (10): the lines the server stored per second, and per second
 *           of its CPU (utime + stime: what it does with a core of its own,
 *           whatever else shares the machine).
 *   reads   GET /, /api/v1/line and /api/v1/runs with the history stored,
 *           median of 11; a URL the server does not have is said so.
 *   ref     a bare batched SQLite insert of as many (run_id, seq, line)
 *           rows as the flood stored, the same lines, into a table with the
 *           same primary key, one transaction per 100 rows, WAL with
 *           synchronous=NORMAL as the store opens it: only the transactions
 *           are timed, in wall time and in the thread's CPU time.
 *
 *   line_bench [--kiln PATH] [--seconds S] [--duts N] [--runs R]
 *              [--flood-seconds F] [--keep]
 *
 * Environment (the options win): KILN (build/kiln), LINE_BENCH_SECONDS,
 * LINE_BENCH_DUTS, LINE_BENCH_RUNS (10000), LINE_BENCH_FLOOD_SECONDS.
 * Prints "name value" lines (tests/bench/run.sh judges them against the
 * targets); exits 0 when it measured, 2 when it could not (no server, a
 * broken fixture). */
#include <curl/curl.h>
#include <errno.h>
#include <ftw.h>
#include <jansson.h>
#include <math.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kiln/textutil.h"
#include "store/store.h"

#define FIXTURE "tests/fixtures/ocp/line-sdc.ocp.jsonl"
#define READINGS_PER_SECOND 100
#define FLOOD_BATCH 100
#define REF_BATCH 100
#define READ_TRIES 11
#define LINE_MAX_BYTES 1024

/* What exit() cleans up: the temporary directory and the server. */
static char temp_dir[64];
static bool keep_temp_dir;
static pid_t server_pid;

static int remove_entry(const char *path, const struct stat *st, int flag,
                        struct FTW *ftw) {
  return remove(path);
}

static void clean_up(void) {
  if (server_pid > 0) {
    kill(server_pid, SIGKILL);
    waitpid(server_pid, NULL, 0);
  }
  if (temp_dir[0] && keep_temp_dir)
    fprintf(stderr, "line_bench: kept %s\n", temp_dir);
  else if (temp_dir[0])
    nftw(temp_dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void die(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs("line_bench: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
  exit(2);
}

/* ---- text buffers ---- */

struct buf {
  char *p;
  size_t n, cap;
};

static void buf_reserve(struct buf *b, size_t more) {
  if (b->n + more + 1 <= b->cap)
    return;
  b->cap = (b->n + more + 1) * 2;
  b->p = kiln_xrealloc(b->p, b->cap);
}

static void buf_add(struct buf *b, const char *s, size_t len) {
  buf_reserve(b, len);
  memcpy(b->p + b->n, s, len);
  b->n += len;
  b->p[b->n] = '\0';
}

static size_t buf_write(char *data, size_t size, size_t n, void *ctx) {
  buf_add(ctx, data, size * n);
  return size * n;
}

/* ---- the replayed stream ---- */

/* One measurement series of the fixture: its step and id as JSON text
 * (escaped once, quotes included) and its first reading. */
struct series {
  char *step_json, *id_json;
  double value;
};

/* What every replayed stream is made of, read once from the fixture. */
struct stream_model {
  json_t **start; /* schemaVersion, testRunStart, testStepStart and
                     measurementSeriesStart lines, in the fixture's order */
  size_t n_start;
  struct series *series;
  size_t n_series;
  json_t **history; /* a stored run's body: step starts and ends,
                       measurements, diagnoses */
  size_t n_history;
  json_t *run_end;
};

static char *json_text(json_t *j) {
  char *s = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
  if (!s)
    die("cannot encode JSON");
  return s;
}

static void push_line(json_t ***v, size_t *n, json_t *j) {
  *v = kiln_xrealloc(*v, (*n + 1) * sizeof **v);
  (*v)[(*n)++] = json_incref(j);
}

static void add_series(struct stream_model *m, json_t *step, json_t *el) {
  char *id = json_text(json_object_get(el, "measurementSeriesId"));
  for (size_t i = 0; i < m->n_series; i++)
    if (strcmp(m->series[i].id_json, id) == 0) {
      free(id);
      return;
    }
  m->series = kiln_xrealloc(m->series, (m->n_series + 1) * sizeof *m->series);
  m->series[m->n_series++] = (struct series){
      .step_json = json_text(json_object_get(step, "testStepId")),
      .id_json = id,
      .value = json_number_value(json_object_get(el, "value")),
  };
}

static void load_model(struct stream_model *m) {
  FILE *f = fopen(FIXTURE, "r");
  if (!f)
    die("%s: %s (run from the repository root)", FIXTURE, strerror(errno));
  memset(m, 0, sizeof *m);
  static char text[64 * 1024];
  size_t lineno = 0;
  while (fgets(text, sizeof text, f)) {
    lineno++;
    json_error_t je;
    json_t *j = json_loads(text, 0, &je);
    if (!json_is_object(j))
      die("%s:%zu: not a JSON object: %s", FIXTURE, lineno, je.text);
    json_t *step = json_object_get(j, "testStepArtifact");
    json_t *run = json_object_get(j, "testRunArtifact");
    json_t *el = json_object_get(step, "measurementSeriesElement");
    if (el)
      add_series(m, step, el);
    if (json_object_get(j, "schemaVersion") ||
        json_object_get(run, "testRunStart") ||
        json_object_get(step, "testStepStart") ||
        json_object_get(step, "measurementSeriesStart"))
      push_line(&m->start, &m->n_start, j);
    if (json_object_get(step, "testStepStart") ||
        json_object_get(step, "testStepEnd") ||
        json_object_get(step, "measurement") ||
        json_object_get(step, "diagnosis"))
      push_line(&m->history, &m->n_history, j);
    if (json_object_get(run, "testRunEnd") && !m->run_end)
      m->run_end = json_incref(j);
    json_decref(j);
  }
  fclose(f);
  if (m->n_start < 2 || m->n_series == 0 || !m->run_end)
    die("%s: no start lines, series or testRunEnd to replay", FIXTURE);
}

static void free_model(struct stream_model *m) {
  for (size_t i = 0; i < m->n_start; i++)
    json_decref(m->start[i]);
  for (size_t i = 0; i < m->n_history; i++)
    json_decref(m->history[i]);
  for (size_t i = 0; i < m->n_series; i++) {
    free(m->series[i].step_json);
    free(m->series[i].id_json);
  }
  json_decref(m->run_end);
  free(m->start);
  free(m->history);
  free(m->series);
}

/* One DUT's stream: the model's lines with its serial, numbered on. */
struct replay {
  const struct stream_model *m;
  char serial[48];
  int64_t seq;      /* the next line's sequenceNumber */
  int64_t readings; /* elements written */
  int64_t *index;   /* per series */
};

static void replay_init(struct replay *r, const struct stream_model *m,
                        const char *serial) {
  memset(r, 0, sizeof *r);
  r->m = m;
  snprintf(r->serial, sizeof r->serial, "%s", serial);
  r->index = kiln_xcalloc(m->n_series, sizeof *r->index);
}

/* A model line as this DUT's: its serial and host in testRunStart. */
static char *model_line(const struct replay *r, json_t *model, int64_t seq,
                        const char *ts) {
  json_t *j = json_deep_copy(model);
  json_object_set_new(j, "sequenceNumber", json_integer(seq));
  json_object_set_new(j, "timestamp", json_string(ts));
  json_t *dut = json_object_get(
      json_object_get(json_object_get(j, "testRunArtifact"), "testRunStart"),
      "dutInfo");
  if (dut) {
    char host[64];
    snprintf(host, sizeof host, "node-%s", r->serial);
    json_object_set_new(dut, "dutInfoId", json_string(r->serial));
    json_object_set_new(dut, "name", json_string(host));
    json_t *meta = json_object_get(dut, "metadata");
    if (meta)
      json_object_set_new(meta, "serial", json_string(r->serial));
  }
  char *s = json_text(j);
  json_decref(j);
  return s;
}

static void add_start_lines(struct replay *r, struct buf *b, double t) {
  char ts[40];
  kiln_format_time(t, ts, sizeof ts);
  for (size_t i = 0; i < r->m->n_start; i++) {
    char *s = model_line(r, r->m->start[i], r->seq++, ts);
    buf_add(b, s, strlen(s));
    buf_add(b, "\n", 1);
    free(s);
  }
}

/* n readings, the series in turn, each near its fixture value. */
static void add_readings(struct replay *r, struct buf *b, int64_t n, double t) {
  char ts[40];
  kiln_format_time(t, ts, sizeof ts);
  for (int64_t k = 0; k < n; k++) {
    size_t i = (size_t)(r->readings++ % (int64_t)r->m->n_series);
    const struct series *s = &r->m->series[i];
    double v = s->value + (double)((r->index[i] * 7919 + i * 104729) % 41) / 10;
    buf_reserve(b, LINE_MAX_BYTES);
    int len =
        snprintf(b->p + b->n, LINE_MAX_BYTES,
                 "{\"testStepArtifact\":{\"testStepId\":%s,"
                 "\"measurementSeriesElement\":{\"index\":%lld,\"value\":%.1f,"
                 "\"timestamp\":\"%s\",\"measurementSeriesId\":%s}},"
                 "\"sequenceNumber\":%lld,\"timestamp\":\"%s\"}\n",
                 s->step_json, (long long)r->index[i]++, v, ts, s->id_json,
                 (long long)r->seq++, ts);
    if (len < 0 || len >= LINE_MAX_BYTES)
      die("a generated line is over %d bytes", LINE_MAX_BYTES);
    b->n += (size_t)len;
  }
}

/* ---- the line's history: runs stored before the server starts ---- */

static void store_history(const char *db_url, const struct stream_model *m,
                          size_t runs) {
  struct kiln_store *st;
  char err[512];
  if (kiln_store_open(db_url, &st, err, sizeof err) != 0)
    die("%s", err);
  size_t n = 2 + m->n_history + 1;
  char **lines = kiln_xcalloc(n, sizeof *lines);
  double now = kiln_now();
  for (size_t k = 0; k < runs; k++) {
    char serial[48], id[64], ts[40];
    /* Serials retested now and then; a month of runs, the newest an hour
     * ago; one in ten fails. */
    snprintf(serial, sizeof serial, "SN-HIST-%05zu", k % (runs * 9 / 10 + 1));
    snprintf(id, sizeof id, "hist-%05zu", k);
    struct replay r;
    replay_init(&r, m, serial);
    double start = now - 3600 - (double)(runs - k) * (30.0 * 86400 / runs);
    size_t i = 0;
    kiln_format_time(start, ts, sizeof ts);
    lines[i++] = model_line(&r, m->start[0], 0, ts);
    lines[i++] = model_line(&r, m->start[1], 1, ts);
    for (size_t h = 0; h < m->n_history; h++) {
      kiln_format_time(start + (double)i, ts, sizeof ts);
      lines[i] = model_line(&r, m->history[h], (int64_t)i, ts);
      i++;
    }
    json_t *end = json_deep_copy(m->run_end);
    json_object_set_new(
        json_object_get(json_object_get(end, "testRunArtifact"), "testRunEnd"),
        "result", json_string(k % 10 == 7 ? "FAIL" : "PASS"));
    kiln_format_time(start + 3600, ts, sizeof ts);
    lines[i] = model_line(&r, end, (int64_t)i, ts);
    json_decref(end);
    struct kiln_store_ack ack;
    if (kiln_store_append(st, id, 0, (const char *const *)lines, n, &ack, err,
                          sizeof err) != 0)
      die("storing the history: %s", err);
    for (i = 0; i < n; i++)
      free(lines[i]);
    free(r.index);
  }
  free(lines);
  kiln_store_close(st);
}

/* ---- the server ---- */

struct server {
  pid_t pid;
  char url[128];
  char out[512], err[512];
};

static void show_file(const char *path) {
  FILE *f = fopen(path, "r");
  char text[1024];
  while (f && fgets(text, sizeof text, f))
    fprintf(stderr, "  %s", text);
  if (f)
    fclose(f);
}

static void server_start(struct server *s, const char *kiln, const char *dir,
                         const char *db_url) {
  snprintf(s->out, sizeof s->out, "%s/serve.out", dir);
  snprintf(s->err, sizeof s->err, "%s/serve.err", dir);
  s->pid = fork();
  if (s->pid < 0)
    die("fork: %s", strerror(errno));
  if (s->pid == 0) {
    if (!freopen(s->out, "w", stdout) || !freopen(s->err, "w", stderr))
      _exit(127);
    execl(kiln, kiln, "serve", "--listen", "127.0.0.1:0", "--db", db_url,
          (char *)NULL);
    fprintf(stderr, "exec %s: %s\n", kiln, strerror(errno));
    _exit(127);
  }
  server_pid = s->pid;
  /* Ready when it says where it listens. */
  const char *says = "kiln serve: listening on ";
  for (double until = kiln_monotonic_now() + 60;;) {
    int status;
    if (waitpid(s->pid, &status, WNOHANG) == s->pid) {
      server_pid = 0;
      fprintf(stderr, "line_bench: %s serve exited before listening:\n", kiln);
      show_file(s->err);
      exit(2);
    }
    FILE *f = fopen(s->out, "r");
    char first[512] = "";
    if (f) {
      if (!fgets(first, sizeof first, f))
        first[0] = '\0';
      fclose(f);
    }
    if (strchr(first, '\n')) {
      if (strncmp(first, says, strlen(says)) != 0)
        die("kiln serve's first line is not \"%s...\": %s", says, first);
      const char *u = first + strlen(says);
      size_t len = strcspn(u, " \n");
      if (len == 0 || len >= sizeof s->url)
        die("no URL in kiln serve's first line: %s", first);
      memcpy(s->url, u, len);
      s->url[len] = '\0';
      return;
    }
    if (kiln_monotonic_now() > until) {
      kill(s->pid, SIGKILL);
      die("kiln serve did not say it listens within 60 s");
    }
    usleep(20000);
  }
}

/* utime + stime of pid, in seconds. */
static double process_cpu_seconds(pid_t pid) {
  char path[64], text[2048];
  snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
  FILE *f = fopen(path, "r");
  if (!f)
    die("%s: %s (did kiln serve die?)", path, strerror(errno));
  size_t n = fread(text, 1, sizeof text - 1, f);
  fclose(f);
  text[n] = '\0';
  /* The fields after the command's name, from state (the third). */
  const char *p = strrchr(text, ')');
  unsigned long long utime, stime;
  if (!p ||
      sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu",
             &utime, &stime) != 2)
    die("%s: cannot read utime and stime", path);
  return (double)(utime + stime) / (double)sysconf(_SC_CLK_TCK);
}

static double self_cpu_seconds(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
         (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

/* SIGTERM, then its exit: "0", "exit N", "signal N" or "hung". */
static void server_stop(struct server *s, char *how, size_t n) {
  server_pid = 0;
  kill(s->pid, SIGTERM);
  for (double until = kiln_monotonic_now() + 15;;) {
    int status;
    if (waitpid(s->pid, &status, WNOHANG) == s->pid) {
      if (WIFEXITED(status))
        snprintf(how, n, "%d", WEXITSTATUS(status));
      else
        snprintf(how, n, "signal-%d", WTERMSIG(status));
      return;
    }
    if (kiln_monotonic_now() > until) {
      kill(s->pid, SIGKILL);
      waitpid(s->pid, NULL, 0);
      snprintf(how, n, "hung-on-SIGTERM");
      return;
    }
    usleep(20000);
  }
}

/* ---- simulated DUTs ---- */

struct dut {
  struct replay r;
  char run_id[64];
  CURL *h;
  struct buf body, reply;
  int64_t batch_first, batch_lines;
  double stream_start; /* readings are due from then, 100 a second */
  double due;          /* when the next batch is due */
  double batch_due;    /* when the batch in flight was due */
  bool started, in_flight;
};

struct phase {
  CURLM *multi;
  struct curl_slist *headers;
  const char *base;
  double *latency; /* seconds, one per acknowledged batch */
  size_t n_latency, cap_latency;
  int64_t stored; /* "stored" summed over the acks */
  size_t errors;  /* batches not acknowledged as sent */
  size_t in_flight;
  double last_ack;
};

static void dut_init(struct dut *d, const struct stream_model *m,
                     const char *kind, size_t k) {
  memset(d, 0, sizeof *d);
  char serial[48];
  snprintf(serial, sizeof serial, "SN-%s-%04zu", kind, k);
  replay_init(&d->r, m, serial);
  snprintf(d->run_id, sizeof d->run_id, "%s-%04zu-%ld", kind, k,
           (long)getpid());
  d->h = curl_easy_init();
  if (!d->h)
    die("curl_easy_init failed");
}

static void dut_free(struct dut *d) {
  curl_easy_cleanup(d->h);
  free(d->body.p);
  free(d->reply.p);
  free(d->r.index);
}

/* Posts the DUT's next batch: its start lines first, then n readings. */
static void dut_send(struct phase *ph, struct dut *d, int64_t n, double due) {
  double now = kiln_now();
  d->body.n = 0;
  d->reply.n = 0;
  d->batch_first = d->r.seq;
  if (!d->started) {
    add_start_lines(&d->r, &d->body, now);
    d->started = true;
  }
  add_readings(&d->r, &d->body, n, now);
  d->batch_lines = d->r.seq - d->batch_first;
  char url[512];
  snprintf(url, sizeof url, "%s/api/v1/runs/%s/ocp?first=%lld", ph->base,
           d->run_id, (long long)d->batch_first);
  curl_easy_setopt(d->h, CURLOPT_URL, url);
  curl_easy_setopt(d->h, CURLOPT_POSTFIELDS, d->body.p);
  curl_easy_setopt(d->h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)d->body.n);
  curl_easy_setopt(d->h, CURLOPT_HTTPHEADER, ph->headers);
  curl_easy_setopt(d->h, CURLOPT_WRITEFUNCTION, buf_write);
  curl_easy_setopt(d->h, CURLOPT_WRITEDATA, &d->reply);
  curl_easy_setopt(d->h, CURLOPT_PRIVATE, d);
  curl_easy_setopt(d->h, CURLOPT_TIMEOUT, 30L);
  curl_easy_setopt(d->h, CURLOPT_NOSIGNAL, 1L);
  d->batch_due = due;
  d->in_flight = true;
  ph->in_flight++;
  if (curl_multi_add_handle(ph->multi, d->h) != CURLM_OK)
    die("curl_multi_add_handle failed");
}

static void dut_acked(struct phase *ph, struct dut *d, CURLcode result) {
  double now = kiln_monotonic_now();
  curl_multi_remove_handle(ph->multi, d->h);
  d->in_flight = false;
  ph->in_flight--;
  long code = 0;
  curl_easy_getinfo(d->h, CURLINFO_RESPONSE_CODE, &code);
  json_t *j =
      result == CURLE_OK && d->reply.p ? json_loads(d->reply.p, 0, NULL) : NULL;
  json_t *last = json_object_get(j, "last_contiguous");
  json_t *stored = json_object_get(j, "stored");
  int64_t want = d->batch_first + d->batch_lines - 1;
  if (code == 200 && json_is_integer(last) && json_is_integer(stored) &&
      json_integer_value(last) == want) {
    ph->stored += json_integer_value(stored);
    if (ph->n_latency == ph->cap_latency) {
      ph->cap_latency = ph->cap_latency ? ph->cap_latency * 2 : 4096;
      ph->latency =
          kiln_xrealloc(ph->latency, ph->cap_latency * sizeof *ph->latency);
    }
    ph->latency[ph->n_latency++] = now - d->batch_due;
    ph->last_ack = now;
  } else {
    if (ph->errors++ < 5)
      fprintf(stderr,
              "line_bench: %s, lines %lld..%lld: %s, HTTP %ld, reply %s "
              "(last_contiguous %lld was due)\n",
              d->run_id, (long long)d->batch_first, (long long)want,
              curl_easy_strerror(result), code,
              d->reply.p ? d->reply.p : "(none)", (long long)want);
  }
  json_decref(j);
}

/* Runs libcurl until nothing is due before `until` (monotonic). */
static void pump(struct phase *ph, double until) {
  double wait = until - kiln_monotonic_now();
  int ms = wait <= 0 ? 0 : wait > 0.05 ? 50 : (int)(wait * 1000) + 1;
  int running;
  curl_multi_poll(ph->multi, NULL, 0, ms, NULL);
  curl_multi_perform(ph->multi, &running);
  CURLMsg *msg;
  int left;
  while ((msg = curl_multi_info_read(ph->multi, &left)))
    if (msg->msg == CURLMSG_DONE) {
      struct dut *d;
      curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&d);
      dut_acked(ph, d, msg->data.result);
    }
}

static void drain(struct phase *ph) {
  for (double until = kiln_monotonic_now() + 60;
       ph->in_flight > 0 && kiln_monotonic_now() < until;)
    pump(ph, kiln_monotonic_now() + 0.05);
  if (ph->in_flight > 0)
    die("%zu batches still unacknowledged 60 s after the load stopped",
        ph->in_flight);
}

static void phase_init(struct phase *ph, const char *base) {
  memset(ph, 0, sizeof *ph);
  ph->base = base;
  ph->multi = curl_multi_init();
  if (!ph->multi)
    die("curl_multi_init failed");
  /* No "Expect: 100-continue" round trip before each body. */
  ph->headers = curl_slist_append(NULL, "Content-Type: application/x-ndjson");
  ph->headers = curl_slist_append(ph->headers, "Expect:");
}

static void phase_free(struct phase *ph) {
  curl_multi_cleanup(ph->multi);
  curl_slist_free_all(ph->headers);
  free(ph->latency);
}

/* The load: every DUT a batch a second, the DUTs spread over the second;
 * the server's and this process's CPU over the window. */
static void run_load(struct phase *ph, struct dut *d, size_t n, double seconds,
                     pid_t server, double *server_cpu, double *client_cpu,
                     double *window) {
  double t0 = kiln_monotonic_now() + 0.2, end = t0 + seconds;
  for (size_t k = 0; k < n; k++) {
    d[k].due = t0 + (double)k / (double)n;
    d[k].stream_start = d[k].due - 1.0;
  }
  double cpu0 = process_cpu_seconds(server), self0 = self_cpu_seconds();
  double w0 = kiln_monotonic_now(), now;
  while ((now = kiln_monotonic_now()) < end) {
    double next = end;
    for (size_t k = 0; k < n; k++) {
      if (!d[k].in_flight && d[k].due <= now && d[k].due < end) {
        int64_t fresh =
            (int64_t)floor((now - d[k].stream_start) * READINGS_PER_SECOND) -
            d[k].r.readings;
        /* A DUT whose late batch took everything up to now has nothing
         * to send at this second: it waits for the next one. */
        if (fresh > 0)
          dut_send(ph, &d[k], fresh, d[k].due);
        d[k].due += 1.0;
      }
      if (!d[k].in_flight && d[k].due < next)
        next = d[k].due;
    }
    pump(ph, next);
  }
  *window = kiln_monotonic_now() - w0;
  *server_cpu = process_cpu_seconds(server) - cpu0;
  *client_cpu = self_cpu_seconds() - self0;
  drain(ph);
}

/* The flood: each DUT posts its next batch as soon as the last is acked. */
static double run_flood(struct phase *ph, struct dut *d, size_t n,
                        double seconds, pid_t server, double *server_cpu) {
  double t0 = kiln_monotonic_now(), end = t0 + seconds;
  double cpu0 = process_cpu_seconds(server);
  while (kiln_monotonic_now() < end) {
    for (size_t k = 0; k < n; k++)
      if (!d[k].in_flight) {
        int64_t readings =
            FLOOD_BATCH - (d[k].started ? 0 : (int64_t)d[k].r.m->n_start);
        dut_send(ph, &d[k], readings, kiln_monotonic_now());
      }
    pump(ph, end);
  }
  drain(ph);
  /* Floors: a flood nothing was acked in still divides. */
  *server_cpu = fmax(process_cpu_seconds(server) - cpu0, 1e-6);
  return fmax(ph->last_ack - t0, 1e-6);
}

/* ---- reads ---- */

static long http_get(CURL *h, const char *url, struct buf *out,
                     double *seconds) {
  out->n = 0;
  curl_easy_setopt(h, CURLOPT_URL, url);
  curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, buf_write);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, out);
  curl_easy_setopt(h, CURLOPT_TIMEOUT, 30L);
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  double t = kiln_monotonic_now();
  CURLcode rc = curl_easy_perform(h);
  *seconds = kiln_monotonic_now() - t;
  if (rc != CURLE_OK)
    die("GET %s: %s", url, curl_easy_strerror(rc));
  long code = 0;
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
  buf_reserve(out, 0);
  out->p[out->n] = '\0';
  return code;
}

/* Every DUT's run as the server has it: the lines it lost (sent but not
 * in its last_contiguous), and the runs whose ocp_lines differ. */
static void check_stored(const char *base, struct dut *d, size_t n,
                         int64_t *lost, size_t *miscounted) {
  CURL *h = curl_easy_init();
  struct buf reply = {0};
  *lost = 0;
  *miscounted = 0;
  for (size_t k = 0; k < n; k++) {
    char url[512];
    double s;
    snprintf(url, sizeof url, "%s/api/v1/runs/%s", base, d[k].run_id);
    long code = http_get(h, url, &reply, &s);
    json_t *j = code == 200 ? json_loads(reply.p, 0, NULL) : NULL;
    json_t *last = json_object_get(j, "last_contiguous");
    json_t *lines = json_object_get(j, "ocp_lines");
    int64_t have = json_is_integer(last) ? json_integer_value(last) + 1 : 0;
    if (have < d[k].r.seq) {
      *lost += d[k].r.seq - have;
      fprintf(stderr,
              "line_bench: run %s: %lld lines sent, the server has %lld "
              "contiguous (HTTP %ld)\n",
              d[k].run_id, (long long)d[k].r.seq, (long long)have, code);
    }
    if (!json_is_integer(lines) || json_integer_value(lines) != d[k].r.seq)
      ++*miscounted;
    json_decref(j);
  }
  free(reply.p);
  curl_easy_cleanup(h);
}

static int by_value(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* The q-quantile of v[0..n) (sorts v), nearest rank. */
static double quantile(double *v, size_t n, double q) {
  if (n == 0)
    return NAN;
  qsort(v, n, sizeof *v, by_value);
  size_t rank = (size_t)ceil(q * (double)n);
  return v[rank ? rank - 1 : 0];
}

/* GET path READ_TRIES times: "line_read_ms PATH MEDIAN BYTES", or that it
 * is not there. */
static void time_read(const char *base, const char *path) {
  CURL *h = curl_easy_init();
  struct buf reply = {0};
  char url[512];
  snprintf(url, sizeof url, "%s%s", base, path);
  double t[READ_TRIES];
  long code = 0;
  for (size_t i = 0; i < READ_TRIES; i++) {
    code = http_get(h, url, &reply, &t[i]);
    if (code != 200)
      break;
  }
  if (code == 404) {
    printf("line_read_missing %s 404\n", path);
  } else if (code != 200) {
    printf("line_read_failed %s %ld\n", path, code);
  } else {
    printf("line_read_ms %s %.1f %zu\n", path,
           quantile(t, READ_TRIES, 0.5) * 1000, reply.n);
    if (strcmp(path, "/api/v1/runs") == 0) {
      json_t *j = json_loads(reply.p, 0, NULL);
      printf("line_runs_listed %zu\n",
             json_array_size(json_object_get(j, "runs")));
      json_decref(j);
    }
  }
  free(reply.p);
  curl_easy_cleanup(h);
}

/* ---- the reference: a bare batched SQLite insert ---- */

static void sql_or_die(sqlite3 *db, const char *sql) {
  char *msg = NULL;
  if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
    die("reference: %s: %s", sql, msg ? msg : sqlite3_errmsg(db));
}

static double thread_cpu_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* rows lines of the flood's DUTs (the same generator, each DUT's stream in
 * batches of REF_BATCH) into ocp_lines; rows/s over the transactions, and
 * rows per second of this thread's CPU in them (*cpu_rate). */
static double reference_insert(const char *path, const struct stream_model *m,
                               size_t duts, int64_t rows, double *cpu_rate) {
  sqlite3 *db;
  if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
                      NULL) != SQLITE_OK)
    die("reference: %s: %s", path, sqlite3_errmsg(db));
  sql_or_die(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;");
  sql_or_die(db, "CREATE TABLE ocp_lines (run_id TEXT NOT NULL, seq INTEGER "
                 "NOT NULL, line TEXT NOT NULL, PRIMARY KEY (run_id, seq))");
  sqlite3_stmt *ins;
  if (sqlite3_prepare_v2(db,
                         "INSERT INTO ocp_lines (run_id, seq, line) VALUES "
                         "(?1, ?2, ?3)",
                         -1, &ins, NULL) != SQLITE_OK)
    die("reference: %s", sqlite3_errmsg(db));
  struct dut *d = kiln_xcalloc(duts, sizeof *d);
  for (size_t k = 0; k < duts; k++) {
    char serial[48];
    snprintf(serial, sizeof serial, "SN-FLOOD-%04zu", k);
    replay_init(&d[k].r, m, serial);
    snprintf(d[k].run_id, sizeof d[k].run_id, "flood-%04zu", k);
  }
  struct buf b = {0};
  double timed = 0, cpu = 0;
  for (int64_t done = 0, k = 0; done < rows; k = (k + 1) % (int64_t)duts) {
    struct dut *x = &d[k];
    int64_t first = x->r.seq;
    b.n = 0;
    if (!x->started) {
      add_start_lines(&x->r, &b, kiln_now());
      x->started = true;
    }
    int64_t left = rows - done, more = REF_BATCH - (x->r.seq - first);
    add_readings(&x->r, &b, more < left ? more : left, kiln_now());
    int64_t n = x->r.seq - first;
    double t = kiln_monotonic_now(), c = thread_cpu_seconds();
    sql_or_die(db, "BEGIN");
    char *line = b.p;
    for (int64_t i = 0; i < n; i++) {
      char *nl = strchr(line, '\n');
      sqlite3_bind_text(ins, 1, x->run_id, -1, SQLITE_STATIC);
      sqlite3_bind_int64(ins, 2, first + i);
      sqlite3_bind_text(ins, 3, line, (int)(nl - line), SQLITE_STATIC);
      if (sqlite3_step(ins) != SQLITE_DONE)
        die("reference: %s", sqlite3_errmsg(db));
      sqlite3_reset(ins);
      line = nl + 1;
    }
    sql_or_die(db, "COMMIT");
    timed += kiln_monotonic_now() - t;
    cpu += thread_cpu_seconds() - c;
    done += n;
  }
  sqlite3_finalize(ins);
  sqlite3_close(db);
  for (size_t k = 0; k < duts; k++)
    free(d[k].r.index);
  free(d);
  free(b.p);
  *cpu_rate = (double)rows / fmax(cpu, 1e-6);
  return (double)rows / fmax(timed, 1e-6);
}

/* ---- main ---- */

static long number_arg(const char *name, const char *text, long lo) {
  char *end;
  errno = 0;
  long v = text ? strtol(text, &end, 10) : 0;
  if (!text || errno || *end || v < lo)
    die("%s '%s': give a whole number, at least %ld", name, text ? text : "",
        lo);
  return v;
}

static const char *env_or(const char *name, const char *fallback) {
  const char *v = getenv(name);
  return v && *v ? v : fallback;
}

int main(int argc, char **argv) {
  const char *kiln = env_or("KILN", "build/kiln");
  long seconds =
      number_arg("LINE_BENCH_SECONDS", env_or("LINE_BENCH_SECONDS", "60"), 1);
  long n_duts =
      number_arg("LINE_BENCH_DUTS", env_or("LINE_BENCH_DUTS", "200"), 1);
  long runs =
      number_arg("LINE_BENCH_RUNS", env_or("LINE_BENCH_RUNS", "10000"), 0);
  long flood_seconds = number_arg("LINE_BENCH_FLOOD_SECONDS",
                                  env_or("LINE_BENCH_FLOOD_SECONDS", "10"), 1);
  bool keep = false;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (strcmp(a, "--kiln") == 0 && v)
      kiln = argv[++i];
    else if (strcmp(a, "--seconds") == 0)
      seconds = number_arg(a, v, 1), i++;
    else if (strcmp(a, "--duts") == 0)
      n_duts = number_arg(a, v, 1), i++;
    else if (strcmp(a, "--runs") == 0)
      runs = number_arg(a, v, 0), i++;
    else if (strcmp(a, "--flood-seconds") == 0)
      flood_seconds = number_arg(a, v, 1), i++;
    else if (strcmp(a, "--keep") == 0)
      keep = true;
    else {
      fprintf(stderr,
              "usage: line_bench [--kiln PATH] [--seconds S] [--duts N] "
              "[--runs R] [--flood-seconds F] [--keep]\n");
      return 64;
    }
  }
  if (access(kiln, X_OK) != 0)
    die("%s: %s (make all)", kiln, strerror(errno));
  signal(SIGPIPE, SIG_IGN);
  if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
    die("curl_global_init failed");

  struct stream_model model;
  load_model(&model);
  char dir[] = "/tmp/kiln-line-bench-XXXXXX";
  if (!mkdtemp(dir))
    die("mkdtemp: %s", strerror(errno));
  snprintf(temp_dir, sizeof temp_dir, "%s", dir);
  keep_temp_dir = keep;
  atexit(clean_up);
  char *db_url = kiln_strdup_printf("sqlite:%s/line.db", dir);

  fprintf(stderr, "line_bench: storing %ld runs of history in %s\n", runs,
          db_url);
  double t = kiln_monotonic_now();
  store_history(db_url, &model, (size_t)runs);
  double history_s = kiln_monotonic_now() - t;

  struct server srv;
  server_start(&srv, kiln, dir, db_url);
  fprintf(stderr, "line_bench: kiln serve at %s; %ld DUTs for %ld s\n", srv.url,
          n_duts, seconds);

  /* The load. */
  struct dut *duts = kiln_xcalloc((size_t)n_duts, sizeof *duts);
  for (size_t k = 0; k < (size_t)n_duts; k++)
    dut_init(&duts[k], &model, "LOAD", k);
  struct phase load;
  phase_init(&load, srv.url);
  double server_cpu, client_cpu, window;
  run_load(&load, duts, (size_t)n_duts, (double)seconds, srv.pid, &server_cpu,
           &client_cpu, &window);
  int64_t sent = 0, lost;
  size_t miscounted;
  for (size_t k = 0; k < (size_t)n_duts; k++)
    sent += duts[k].r.seq;
  check_stored(srv.url, duts, (size_t)n_duts, &lost, &miscounted);

  /* The flood. */
  const size_t n_flood = 4;
  fprintf(stderr, "line_bench: flood, %zu DUTs back to back for %ld s\n",
          n_flood, flood_seconds);
  struct dut flood_duts[4];
  for (size_t k = 0; k < n_flood; k++)
    dut_init(&flood_duts[k], &model, "FLOOD", k);
  struct phase flood;
  phase_init(&flood, srv.url);
  double flood_cpu;
  double flood_s = run_flood(&flood, flood_duts, n_flood, (double)flood_seconds,
                             srv.pid, &flood_cpu);
  int64_t flood_lost;
  size_t flood_miscounted;
  check_stored(srv.url, flood_duts, n_flood, &flood_lost, &flood_miscounted);

  printf("line_duts %ld\nline_seconds %.1f\n", n_duts, window);
  printf("line_lines_sent %lld\n", (long long)sent);
  printf("line_lines_per_second %.0f\n", (double)sent / window);
  printf("line_batches_acked %zu\n", load.n_latency);
  printf("line_post_errors %zu\n", load.errors + flood.errors);
  printf("line_lines_lost %lld\n", (long long)(lost + flood_lost));
  printf("line_runs_miscounted %zu\n", miscounted + flood_miscounted);
  printf("line_ack_p50_ms %.1f\n",
         quantile(load.latency, load.n_latency, 0.50) * 1000);
  printf("line_ack_p99_ms %.1f\n",
         quantile(load.latency, load.n_latency, 0.99) * 1000);
  printf("line_ack_max_ms %.1f\n",
         quantile(load.latency, load.n_latency, 1.0) * 1000);
  printf("line_server_cpu_percent %.2f\n", server_cpu / window * 100);
  printf("line_client_cpu_percent %.2f\n", client_cpu / window * 100);
  printf("line_flood_lines %lld\nline_flood_seconds %.2f\n",
         (long long)flood.stored, flood_s);
  printf("line_flood_server_cpu_percent %.1f\n", flood_cpu / flood_s * 100);
  printf("line_server_insert_rate %.0f\n", (double)flood.stored / flood_s);
  printf("line_server_insert_rate_cpu %.0f\n",
         (double)flood.stored / flood_cpu);
  fflush(stdout);

  printf("line_history_runs %ld\nline_history_store_seconds %.1f\n", runs,
         history_s);
  time_read(srv.url, "/");
  time_read(srv.url, "/api/v1/line");
  time_read(srv.url, "/api/v1/runs");

  char how[32];
  server_stop(&srv, how, sizeof how);
  printf("line_server_exit %s\n", how);
  if (strcmp(how, "0") != 0) {
    fprintf(stderr, "line_bench: kiln serve's stderr:\n");
    show_file(srv.err);
  }
  fflush(stdout);

  char *ref_path = kiln_strdup_printf("%s/reference.db", dir);
  double ref_cpu;
  double ref = reference_insert(ref_path, &model, n_flood,
                                flood.stored > 0 ? flood.stored : 1, &ref_cpu);
  printf("line_ref_insert_rate %.0f\n", ref);
  printf("line_ref_insert_rate_cpu %.0f\n", ref_cpu);

  for (size_t k = 0; k < (size_t)n_duts; k++)
    dut_free(&duts[k]);
  for (size_t k = 0; k < n_flood; k++)
    dut_free(&flood_duts[k]);
  free(duts);
  phase_free(&load);
  phase_free(&flood);
  free(ref_path);
  free(db_url);
  free_model(&model);
  curl_global_cleanup();
  return 0;
}
