/* The line server's reads for the line's software: runs as JSON, a run's
 * stream and files as stored, and /metrics for Prometheus. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kiln/textutil.h"
#include "kiln/verdict.h"
#include "serve/serve_internal.h"

double serve_parse_time(const char *s) {
  struct tm tm = {0};
  double sec;
  char z = 0;
  if (!s ||
      sscanf(s, "%4d-%2d-%2dT%2d:%2d:%lf%c", &tm.tm_year, &tm.tm_mon,
             &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &sec, &z) != 7 ||
      z != 'Z' || sec < 0 || sec >= 61)
    return NAN;
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  return (double)timegm(&tm) + sec;
}

json_t *serve_json_text(const char *s) {
  if (!s)
    return json_null();
  json_t *j = json_string(s);
  if (!j) { /* not UTF-8: shown with U+FFFD, never dropped */
    char *clean = kiln_utf8_sanitize(s);
    j = json_string(clean);
    free(clean);
  }
  return j;
}

json_t *serve_run_json(struct serve_request *rq, const struct kiln_store_run *r,
                       bool with_files) {
  json_t *o = json_object();
  json_object_set_new(o, "id", serve_json_text(r->id));
  json_object_set_new(o, "serial", serve_json_text(r->serial));
  json_object_set_new(o, "host", serve_json_text(r->host));
  json_object_set_new(o, "sku", serve_json_text(r->sku));
  json_object_set_new(o, "profile", serve_json_text(r->profile));
  json_object_set_new(o, "started", serve_json_text(r->started));
  json_object_set_new(o, "ended", serve_json_text(r->ended));
  json_object_set_new(o, "verdict", serve_json_text(r->verdict));
  json_object_set_new(o, "exit_code",
                      r->exit_code < 0 ? json_null()
                                       : json_integer(r->exit_code));
  json_object_set_new(o, "ocp_lines", json_integer(r->ocp_lines));
  json_object_set_new(o, "last_contiguous", json_integer(r->last_contiguous));
  json_object_set_new(o, "last_seen", serve_json_text(r->last_seen));
  if (with_files) {
    json_t *files = json_array();
    struct kiln_store_file *f = NULL;
    size_t n = 0;
    char err[512];
    if (kiln_store_files(rq->store, r->id, &f, &n, err, sizeof err) == 0)
      for (size_t i = 0; i < n; i++)
        json_array_append_new(files, json_pack("{s:s, s:I}", "name", f[i].name,
                                               "size", (json_int_t)f[i].size));
    kiln_store_files_free(f, n);
    json_object_set_new(o, "files", files);
  }
  /* The line's judgement of the run's figures: for one run (judging
   * every run of a list would read every run's siblings). */
  if (with_files)
    json_object_set_new(o, "outliers", serve_outliers_json(rq, r, NULL));
  return o;
}

/* The run named by the path, or false after replying 404 or 500. */
static bool get_run(struct serve_request *rq, struct kiln_store_run *run) {
  char err[512];
  int rc = kiln_store_run_get(rq->store, rq->arg[0], run, err, sizeof err);
  if (rc < 0)
    serve_reply_store_failed(rq, err);
  else if (rc > 0)
    serve_reply_error(rq, 404, "no run %s", rq->arg[0]);
  return rc == 0;
}

void serve_get_run(struct serve_request *rq) {
  struct kiln_store_run run;
  if (!get_run(rq, &run))
    return;
  serve_reply_json(rq, 200, serve_run_json(rq, &run, true));
  kiln_store_run_clear(&run);
}

/* The run list comes a page at a time: a line keeps months of runs, and
 * a reply of all of them grows without bound (10,000 runs: 3 MB). */
#define RUNS_PAGE_DEFAULT 500
#define RUNS_PAGE_MAX 5000

void serve_get_runs(struct serve_request *rq) {
  struct kiln_store_filter f = {
      .serial = serve_query(rq, "serial"),
      .verdict = serve_query(rq, "verdict"),
      .since = serve_query(rq, "since"),
      .before = serve_query(rq, "before"),
      .limit = RUNS_PAGE_DEFAULT,
  };
  const char *limit = serve_query(rq, "limit");
  if (limit) {
    char *end;
    unsigned long long n = strtoull(limit, &end, 10);
    if (!*limit || *end || limit[strspn(limit, "0123456789")] || n == 0 ||
        n > RUNS_PAGE_MAX) {
      serve_reply_error(rq, 400, "?limit=%.40s: not a count of 1 to %d", limit,
                        RUNS_PAGE_MAX);
      return;
    }
    f.limit = (size_t)n;
  }
  enum kiln_verdict ignored;
  if (f.verdict && !kiln_verdict_parse(f.verdict, &ignored)) {
    serve_reply_error(rq, 400,
                      "?verdict=%.40s: not a verdict (PASS, FAIL, ERROR, "
                      "SKIP, ABORTED)",
                      f.verdict);
    return;
  }
  if (f.since && isnan(serve_parse_time(f.since))) {
    serve_reply_error(rq, 400,
                      "?since=%.60s: not a UTC time as "
                      "2026-12-02T00:57:13.665Z",
                      f.since);
    return;
  }
  char err[512];
  if (f.before) {
    struct kiln_store_run last;
    int rc = kiln_store_run_get(rq->store, f.before, &last, err, sizeof err);
    kiln_store_run_clear(&last);
    if (rc < 0) {
      serve_reply_store_failed(rq, err);
      return;
    }
    if (rc > 0) {
      serve_reply_error(rq, 400,
                        "?before=%.140s: no such run (give the \"before\" "
                        "of the previous page)",
                        f.before);
      return;
    }
  }
  /* One more than the page: whether the list goes on. */
  size_t page = f.limit;
  f.limit = page + 1;
  struct kiln_store_run *runs = NULL;
  size_t n = 0;
  if (kiln_store_runs(rq->store, &f, &runs, &n, err, sizeof err) != 0) {
    serve_reply_store_failed(rq, err);
    return;
  }
  bool truncated = n > page;
  json_t *list = json_array();
  for (size_t i = 0; i < n && i < page; i++)
    json_array_append_new(list, serve_run_json(rq, &runs[i], false));
  json_t *reply = json_pack("{s:o, s:b}", "runs", list, "truncated", truncated);
  /* The next page: the same query with ?before= this page's last run. */
  if (truncated)
    json_object_set_new(reply, "before", serve_json_text(runs[page - 1].id));
  kiln_store_runs_free(runs, n);
  serve_reply_json(rq, 200, reply);
}

static int stream_line(void *ctx, int64_t seq, const char *line) {
  fputs(line, ctx);
  fputc('\n', ctx);
  return 0;
}

void serve_get_run_ocp(struct serve_request *rq) {
  struct kiln_store_run run;
  if (!get_run(rq, &run))
    return;
  kiln_store_run_clear(&run);
  char *text = NULL, err[512];
  size_t len = 0;
  FILE *f = open_memstream(&text, &len);
  if (!f) {
    serve_reply_store_failed(rq, "out of memory");
    return;
  }
  int rc =
      kiln_store_stream(rq->store, rq->arg[0], stream_line, f, err, sizeof err);
  fclose(f);
  if (rc != 0) {
    free(text);
    serve_reply_store_failed(rq, err);
    return;
  }
  serve_reply_owned(rq, 200, "application/x-ndjson", text, len);
}

static const char *file_type(const char *name) {
  static const struct {
    const char *name, *type;
  } types[] = {
      {"junit.xml", "application/xml"},
      {"results.tap", "text/plain; charset=utf-8"},
      {"summary.txt", "text/plain; charset=utf-8"},
      {"report.html", "text/html; charset=utf-8"},
      {"telemetry.csv", "text/csv; charset=utf-8"},
  };
  for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
    if (strcmp(name, types[i].name) == 0)
      return types[i].type;
  return "application/octet-stream";
}

void serve_get_run_file(struct serve_request *rq) {
  const char *name = rq->arg[1];
  if (!kiln_store_file_name_known(name)) {
    serve_reply_error(rq, 400,
                      "file '%.100s': not a report file (junit.xml, "
                      "results.tap, summary.txt, report.html, telemetry.csv)",
                      name);
    return;
  }
  struct kiln_store_run run;
  if (!get_run(rq, &run))
    return;
  kiln_store_run_clear(&run);
  char *data = NULL, err[512];
  size_t len = 0;
  int rc = kiln_store_file_get(rq->store, rq->arg[0], name, &data, &len, err,
                               sizeof err);
  if (rc < 0) {
    serve_reply_store_failed(rq, err);
  } else if (rc > 0) {
    serve_reply_error(rq, 404, "run %s has no %s", rq->arg[0], name);
  } else {
    serve_reply_owned(rq, 200, file_type(name), data, len);
    /* A DUT's file is shown, never run: no script of it on this origin. */
    serve_reply_header(rq, "Content-Security-Policy", "sandbox");
  }
}

/* A Prometheus label value: \\, \" and \n escaped. */
static void label_value(FILE *f, const char *s) {
  for (; s && *s; s++) {
    if (*s == '\\' || *s == '"')
      fputc('\\', f);
    if (*s == '\n')
      fputs("\\n", f);
    else
      fputc(*s, f);
  }
}

struct verdict_counts {
  int64_t n[16];
};

static int count_verdict(void *ctx, const char *verdict, int64_t n) {
  struct verdict_counts *c = ctx;
  enum kiln_verdict v;
  if (verdict && kiln_verdict_parse(verdict, &v) && (unsigned)v < 16)
    c->n[v] += n;
  return 0;
}

void serve_get_metrics(struct serve_request *rq) {
  char err[512];
  struct kiln_store_totals t;
  struct verdict_counts vc = {{0}};
  struct kiln_store_run *live = NULL;
  size_t nlive = 0;
  if (kiln_store_totals(rq->store, &t, err, sizeof err) != 0 ||
      kiln_store_verdict_counts(rq->store, count_verdict, &vc, err,
                                sizeof err) != 0 ||
      kiln_store_runs_in_progress(rq->store, &live, &nlive, err, sizeof err) !=
          0) {
    serve_reply_store_failed(rq, err);
    return;
  }
  char *text = NULL;
  size_t len = 0;
  FILE *b = open_memstream(&text, &len);
  if (!b) {
    kiln_store_runs_free(live, nlive);
    serve_reply_store_failed(rq, "out of memory");
    return;
  }
  fprintf(b,
          "# HELP kiln_runs_in_progress Runs whose OCP stream has not "
          "ended.\n# TYPE kiln_runs_in_progress gauge\n"
          "kiln_runs_in_progress %lld\n",
          (long long)t.runs_in_progress);
  fprintf(b, "# HELP kiln_runs_total Runs ended, by verdict.\n"
             "# TYPE kiln_runs_total counter\n");
  for (unsigned v = 0; v < 16; v++) {
    const char *name = kiln_verdict_name((enum kiln_verdict)v);
    if (!name || strcmp(name, "?") == 0)
      break;
    fprintf(b, "kiln_runs_total{verdict=\"%s\"} %lld\n", name,
            (long long)vc.n[v]);
  }
  fprintf(b, "# HELP kiln_upload_lag_seconds Seconds since the server "
             "last heard from each run in progress.\n"
             "# TYPE kiln_upload_lag_seconds gauge\n");
  double now = kiln_now();
  for (size_t i = 0; i < nlive; i++) {
    double seen = serve_parse_time(live[i].last_seen);
    if (isnan(seen))
      continue;
    fputs("kiln_upload_lag_seconds{run=\"", b);
    label_value(b, live[i].id);
    fprintf(b, "\"} %.3f\n", now > seen ? now - seen : 0.0);
  }
  kiln_store_runs_free(live, nlive);
  fprintf(b,
          "# HELP kiln_ocp_lines_received_total OCP lines stored, all "
          "runs.\n# TYPE kiln_ocp_lines_received_total counter\n"
          "kiln_ocp_lines_received_total %lld\n",
          (long long)t.ocp_lines);
  fprintf(b,
          "# HELP kiln_store_schema_version The store's schema version.\n"
          "# TYPE kiln_store_schema_version gauge\n"
          "kiln_store_schema_version %d\n",
          kiln_store_schema_version(rq->store));
  fclose(b);
  serve_reply_owned(rq, 200, "text/plain; version=0.0.4; charset=utf-8", text,
                    len);
}
