/* kiln_ocp_read() and the follower: a run's ocp.jsonl (reports/ocp.c) read
 * back into the run model, for `kiln merge` (the whole file at once) and
 * `kiln fleet`'s live view (each node's stream followed as it grows, only
 * the bytes appended read). One jansson parse per line; telemetry series
 * lines are checked to be whole JSON lines but their values are not kept:
 * the model has no place for them.
 *
 * ocp.c's mapping, undone:
 *   testRunStart   -> the DUT, its inventory, the profile, the SKU, and the
 *                     plan (parameters.plannedSteps: every step, PENDING)
 *   testStepStart  -> the step (its testStepId is its plan index) RUNNING
 *   measurement    -> a measurement with its validators as limits; the FAIL
 *                     diagnosis ocp.c adds for an out-of-limit one is dropped
 *                     (the model derives it from the measurement)
 *   diagnosis, log -> the step's, as they were; "skipped: why" before a
 *                     SKIP end is the step's reason instead
 *   error          -> the reason of the end that follows it
 *   testStepEnd    -> kiln_step_finish() with what the end and its error
 *                     say; an end for a step still open at the run end
 *                     (step-unfinished) leaves it RUNNING, as it was
 *   testRunArtifact error -> the run's abort_reason
 *   testRunEnd     -> finished, the end time and the verdict
 * The stream's lines are numbered by sequenceNumber from 0: a gap means
 * lines were lost, and the record is refused.
 *
 * One line reader serves both: kiln_ocp_read() feeds it the whole file
 * and then its last, unterminated line; the follower (kiln_ocp_follow_*)
 * feeds it what was appended since its last update and keeps an
 * unfinished line's bytes for the next. */
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "kiln/merge.h"
#include "kiln/textutil.h"

/* Larger is no record kiln wrote (a burn-in's stream is tens of MB). */
#define OCP_READ_MAX ((size_t)1 << 30)

struct reader {
  const char *path;
  struct kiln_run *run;
  size_t line_no;
  json_int_t next_sequence;
  bool started;
  /* The error artifact seen since the step's last end, by step index:
   * its symptom and message (ocp.c writes it just before testStepEnd). */
  char **end_symptom, **end_message;
  /* The bytes of a line whose newline has not been read yet. */
  char *partial;
  size_t partial_len, partial_cap;
  char *err;
  size_t n;
};

static void fail(struct reader *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void fail(struct reader *r, const char *fmt, ...) {
  char what[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(what, sizeof what, fmt, ap);
  va_end(ap);
  if (r->line_no)
    snprintf(r->err, r->n, "%s: line %zu: %s", r->path, r->line_no, what);
  else
    snprintf(r->err, r->n, "%s: %s", r->path, what);
}

static const char *jstr(json_t *o, const char *key) {
  return json_string_value(json_object_get(o, key));
}

/* A number, or the strings ocp.c writes for what JSON cannot carry. */
static double jnum(json_t *v) {
  if (json_is_number(v))
    return json_number_value(v);
  const char *s = json_string_value(v);
  if (s && strcmp(s, "Infinity") == 0)
    return INFINITY;
  if (s && strcmp(s, "-Infinity") == 0)
    return -INFINITY;
  return NAN;
}

/* "2026-11-21T05:31:00.123Z" (kiln_format_time) as epoch seconds; 0 when
 * it is not one. */
static double parse_time(const char *s) {
  if (!s)
    return 0;
  struct tm tm;
  memset(&tm, 0, sizeof tm);
  const char *rest = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
  if (!rest)
    return 0;
  double frac = 0;
  if (*rest == '.') {
    char *end;
    frac = strtod(rest, &end);
    rest = end;
  }
  if (*rest != 'Z')
    return 0;
  return (double)timegm(&tm) + frac;
}

static char *dup_or_empty(const char *s) { return kiln_xstrdup(s ? s : ""); }

/* "gpu.query[0]" -> module "gpu.query", target "0"; "cpu.compute" ->
 * target "host". The stream names steps by id only. */
static void split_step_id(const char *id, char **module, char **target) {
  const char *open = strchr(id, '[');
  size_t len = strlen(id);
  if (open && len > 0 && id[len - 1] == ']') {
    *module = kiln_strdup_printf("%.*s", (int)(open - id), id);
    *target =
        kiln_strdup_printf("%.*s", (int)(id + len - 1 - open - 1), open + 1);
  } else {
    *module = kiln_xstrdup(id);
    *target = kiln_xstrdup("host");
  }
}

static void add_step(struct reader *r, const char *id) {
  char *module, *target;
  split_step_id(id, &module, &target);
  kiln_run_add_step(r->run, id, module, target, 0);
  free(module);
  free(target);
  size_t n = r->run->n_steps;
  r->end_symptom = kiln_xrealloc(r->end_symptom, n * sizeof *r->end_symptom);
  r->end_message = kiln_xrealloc(r->end_message, n * sizeof *r->end_message);
  r->end_symptom[n - 1] = r->end_message[n - 1] = NULL;
}

/* ---- testRunStart ---- */

static void read_dut(struct kiln_run *run, json_t *dut) {
  json_t *meta = json_object_get(dut, "metadata");
  const char *serial = jstr(meta, "serial");
  if (!serial || !serial[0])
    serial = jstr(dut, "dutInfoId");
  run->dut.serial = dup_or_empty(serial);
  run->dut.hostname = dup_or_empty(jstr(dut, "name"));
  run->dut.board_serial = dup_or_empty(jstr(meta, "boardSerial"));
  run->dut.vendor = dup_or_empty(jstr(meta, "vendor"));
  run->dut.product = dup_or_empty(jstr(meta, "product"));
  run->dut.bios_vendor = kiln_xstrdup("");
  run->dut.bios_version = kiln_xstrdup("");
  run->dut.bios_date = kiln_xstrdup("");
  size_t i;
  json_t *sw;
  json_array_foreach(json_object_get(dut, "softwareInfos"), i, sw) {
    const char *id = jstr(sw, "softwareInfoId");
    if (!id || strcmp(id, "bios") != 0)
      continue;
    free(run->dut.bios_version);
    free(run->dut.bios_date);
    run->dut.bios_version = dup_or_empty(jstr(sw, "version"));
    run->dut.bios_date = dup_or_empty(jstr(sw, "revision"));
  }
  json_t *h;
  json_array_foreach(json_object_get(dut, "hardwareInfos"), i, h) {
    struct kiln_hw_info info = {
        .id = (char *)jstr(h, "hardwareInfoId"),
        .kind = (char *)jstr(h, "partType"),
        .name = (char *)jstr(h, "name"),
        .location = (char *)jstr(h, "location"),
        .serial = (char *)jstr(h, "serialNumber"),
        .part_number = (char *)jstr(h, "partNumber"),
        .manufacturer = (char *)jstr(h, "manufacturer"),
        .version = (char *)jstr(h, "version"),
    };
    kiln_run_add_hardware(run, &info);
  }
}

static int read_run_start(struct reader *r, json_t *start, double time) {
  struct kiln_run *run = r->run;
  if (r->started) {
    fail(r, "a second testRunStart");
    return -1;
  }
  json_t *params = json_object_get(start, "parameters");
  json_t *dut = json_object_get(start, "dutInfo");
  json_t *planned = json_object_get(params, "plannedSteps");
  if (!json_is_object(dut) || !json_is_array(planned) ||
      !jstr(params, "profile")) {
    fail(r, "testRunStart has no dutInfo, profile or plannedSteps");
    return -1;
  }
  r->started = true;
  run->kiln_version = dup_or_empty(jstr(start, "version"));
  run->command_line = dup_or_empty(jstr(start, "commandLine"));
  run->profile = dup_or_empty(jstr(params, "profile"));
  run->profile_source = dup_or_empty(jstr(params, "profileSource"));
  run->report_dir = dup_or_empty(jstr(params, "reportDir"));
  const char *sku = jstr(params, "sku");
  run->sku = sku ? kiln_xstrdup(sku) : NULL;
  run->planned_seconds = jnum(json_object_get(params, "plannedSeconds"));
  if (!isfinite(run->planned_seconds))
    run->planned_seconds = 0;
  run->start = time;
  read_dut(run, dut);
  size_t i;
  json_t *id;
  json_array_foreach(planned, i, id) {
    if (!json_is_string(id)) {
      fail(r, "plannedSteps[%zu] is not a step id", i);
      return -1;
    }
    add_step(r, json_string_value(id));
  }
  return 0;
}

/* ---- run artifacts ---- */

static void add_abort_reason(struct kiln_run *run, const char *why) {
  if (!why)
    why = "no reason given";
  char *text = run->abort_reason
                   ? kiln_strdup_printf("%s; %s", run->abort_reason, why)
                   : kiln_xstrdup(why);
  free(run->abort_reason);
  run->abort_reason = text;
}

/* testRunEnd's status and result (ocp.c's run_outcome()), over what the
 * steps say: a FAIL found stays FAIL, a run that did not go through is
 * at least an ERROR. */
static void read_run_end(struct kiln_run *run, json_t *end, double time) {
  const char *status = jstr(end, "status"), *result = jstr(end, "result");
  enum kiln_verdict v = kiln_run_verdict(run);
  if (result && strcmp(result, "FAIL") == 0)
    v = kiln_verdict_worse(v, KILN_FAIL);
  if (status && strcmp(status, "ERROR") == 0 && v == KILN_PASS)
    v = KILN_ERROR;
  run->verdict = v;
  run->end = time;
  run->finished = true;
}

static int read_run_artifact(struct reader *r, json_t *art, double time) {
  json_t *x;
  if ((x = json_object_get(art, "testRunStart")))
    return read_run_start(r, x, time);
  if (!r->started) {
    fail(r, "a run artifact before testRunStart");
    return -1;
  }
  if (r->run->finished) {
    fail(r, "a run artifact after testRunEnd");
    return -1;
  }
  if ((x = json_object_get(art, "testRunEnd")))
    read_run_end(r->run, x, time);
  else if ((x = json_object_get(art, "error")))
    add_abort_reason(r->run, jstr(x, "message"));
  return 0;
}

/* ---- step artifacts ---- */

static struct kiln_limit read_limit(json_t *validators) {
  struct kiln_limit l = {0};
  size_t i;
  json_t *v;
  json_array_foreach(validators, i, v) {
    const char *type = jstr(v, "type");
    double value = jnum(json_object_get(v, "value"));
    if (type && strcmp(type, "GREATER_THAN_OR_EQUAL") == 0) {
      l.has_lo = true;
      l.lo = value;
    } else if (type && strcmp(type, "LESS_THAN_OR_EQUAL") == 0) {
      l.has_hi = true;
      l.hi = value;
    }
  }
  return l;
}

static const char *subcomponent(json_t *o) {
  const char *s = jstr(json_object_get(o, "subcomponent"), "name");
  return s ? s : "";
}

static void read_measurement(struct kiln_step_result *s, json_t *m,
                             double time) {
  struct kiln_limit l = read_limit(json_object_get(m, "validators"));
  const char *unit = jstr(m, "unit");
  kiln_step_add_measurement(s, jstr(m, "name") ? jstr(m, "name") : "",
                            jnum(json_object_get(m, "value")), unit ? unit : "",
                            &l, subcomponent(m), time);
}

/* The FAIL diagnosis ocp.c writes after an out-of-limit measurement. */
static bool echoes_measurement(const struct kiln_step_result *s, json_t *d) {
  const char *verdict = jstr(d, "verdict"), *message = jstr(d, "message");
  if (!verdict || strcmp(verdict, "measurement-out-of-limits") != 0 ||
      !message || strncmp(message, "out of limits: ", 15) != 0)
    return false;
  for (size_t i = 0; i < s->n_measurements; i++)
    if (!s->measurements[i].pass)
      return true;
  return false;
}

static void read_diagnosis(struct kiln_step_result *s, json_t *d, double time) {
  if (echoes_measurement(s, d))
    return;
  const char *type = jstr(d, "type");
  enum kiln_diag_type t = KILN_DIAG_UNKNOWN;
  if (type && strcmp(type, "PASS") == 0)
    t = KILN_DIAG_PASS;
  else if (type && strcmp(type, "FAIL") == 0)
    t = KILN_DIAG_FAIL;
  const char *verdict = jstr(d, "verdict"), *message = jstr(d, "message");
  kiln_step_add_diagnosis(s, t, verdict ? verdict : "", message ? message : "",
                          subcomponent(d), time);
}

static void read_log(struct kiln_step_result *s, json_t *l, double time) {
  enum kiln_severity sev = KILN_SEV_INFO;
  const char *name = jstr(l, "severity");
  if (name)
    kiln_severity_parse(name, &sev);
  const char *message = jstr(l, "message");
  kiln_step_add_log(s, sev, message ? message : "", time);
}

static void set_text(char **slot, const char *s) {
  free(*slot);
  *slot = s ? kiln_xstrdup(s) : NULL;
}

/* testStepEnd, with the error artifact or "skipped:" log before it. */
static void read_step_end(struct reader *r, struct kiln_step_result *s,
                          json_t *end, double time) {
  const char *status = jstr(end, "status");
  const char *symptom = r->end_symptom[s->index];
  const char *message = r->end_message[s->index];
  if (status && strcmp(status, "SKIP") == 0) {
    const char *reason = NULL;
    struct kiln_log *last = s->n_logs ? &s->logs[s->n_logs - 1] : NULL;
    if (last && strncmp(last->message, "skipped: ", 9) == 0) {
      reason = last->message + 9;
      kiln_step_finish(s, KILN_SKIP, reason, time);
      free(last->message);
      s->n_logs--;
    } else {
      kiln_step_finish(s, KILN_SKIP, "no reason given", time);
    }
  } else if (status && strcmp(status, "COMPLETE") == 0) {
    kiln_step_finish(s, KILN_PASS, NULL, time);
  } else if (symptom && strcmp(symptom, "step-unfinished") == 0) {
    /* Still open when the run ended: it stays as the run left it. */
    s->state = KILN_STEP_RUNNING;
  } else {
    enum kiln_verdict v = symptom && strcmp(symptom, "step-aborted") == 0
                              ? KILN_ABORTED
                              : KILN_ERROR;
    kiln_step_finish(s, v, message ? message : "no reason given", time);
  }
  set_text(&r->end_symptom[s->index], NULL);
  set_text(&r->end_message[s->index], NULL);
}

static int read_step_artifact(struct reader *r, json_t *art, double time) {
  if (!r->started) {
    fail(r, "a step artifact before testRunStart");
    return -1;
  }
  const char *id = jstr(art, "testStepId");
  char *end = NULL;
  unsigned long index = id ? strtoul(id, &end, 10) : 0;
  if (!id || !id[0] || *end || index >= r->run->n_steps) {
    fail(r, "testStepId %s%s%s is no step of the plan", id ? "\"" : "",
         id ? id : "missing", id ? "\"" : "");
    return -1;
  }
  struct kiln_step_result *s = &r->run->steps[index];
  json_t *x;
  if ((x = json_object_get(art, "testStepStart"))) {
    s->state = KILN_STEP_RUNNING;
    s->start = time;
    return 0;
  }
  if (s->state == KILN_STEP_PENDING) {
    fail(r, "step %s (%s) used before its testStepStart", id, s->id);
    return -1;
  }
  if ((x = json_object_get(art, "testStepEnd")))
    read_step_end(r, s, x, time);
  else if ((x = json_object_get(art, "measurement")))
    read_measurement(s, x, time);
  else if ((x = json_object_get(art, "diagnosis")))
    read_diagnosis(s, x, time);
  else if ((x = json_object_get(art, "log")))
    read_log(s, x, time);
  else if ((x = json_object_get(art, "error"))) {
    set_text(&r->end_symptom[index], jstr(x, "symptom"));
    set_text(&r->end_message[index], jstr(x, "message"));
  }
  return 0;
}

/* ---- lines ---- */

/* Series lines carry telemetry the model does not keep: they need no
 * parse beyond being one whole JSON object, which their closing brace
 * shows for a line kiln wrote with one write(). */
static bool is_series_line(const char *line, size_t len) {
  static const char key[] = "\",\"measurementSeries";
  size_t head = len < 64 ? len : 64;
  return len > 2 && line[len - 1] == '}' && memmem(line, head, key, 20);
}

static int read_line(struct reader *r, const char *line, size_t len,
                     bool last_unterminated) {
  if (is_series_line(line, len)) {
    r->next_sequence++;
    return 0;
  }
  json_error_t jerr;
  json_t *doc = json_loadb(line, len, 0, &jerr);
  if (!doc) {
    if (last_unterminated)
      return 1; /* cut short: the writer died mid-write */
    fail(r, "not JSON: %s", jerr.text);
    return -1;
  }
  json_t *seq = json_object_get(doc, "sequenceNumber");
  int rc = 0;
  if (!json_is_integer(seq)) {
    fail(r, "no sequenceNumber");
    rc = -1;
  } else if (json_integer_value(seq) != r->next_sequence) {
    fail(r, "sequenceNumber %lld where %lld was due (lines lost)",
         (long long)json_integer_value(seq), (long long)r->next_sequence);
    rc = -1;
  }
  r->next_sequence++;
  double time = parse_time(jstr(doc, "timestamp"));
  json_t *art;
  if (rc != 0)
    ;
  else if ((art = json_object_get(doc, "testRunArtifact")))
    rc = read_run_artifact(r, art, time);
  else if ((art = json_object_get(doc, "testStepArtifact")))
    rc = read_step_artifact(r, art, time);
  else if (!json_object_get(doc, "schemaVersion")) {
    fail(r, "neither a run nor a step artifact");
    rc = -1;
  }
  json_decref(doc);
  return rc;
}

/* ---- the line reader, for kiln_ocp_read() and the follower ---- */

/* feed()'s and feed_fd()'s results besides 0: the record is broken (a
 * malformed or lost line, too large), or the file could not be read now. */
enum { READ_BROKEN = -1, READ_IO = -2 };

static void keep_partial(struct reader *r, const char *bytes, size_t len) {
  if (r->partial_len + len > r->partial_cap) {
    size_t cap = r->partial_cap ? r->partial_cap * 2 : 4096;
    while (cap < r->partial_len + len)
      cap *= 2;
    r->partial = kiln_xrealloc(r->partial, cap);
    r->partial_cap = cap;
  }
  memcpy(r->partial + r->partial_len, bytes, len);
  r->partial_len += len;
}

/* Reads every line that bytes end (the first continuing the unfinished
 * one kept from before) and keeps the unfinished rest. */
static int feed(struct reader *r, const char *bytes, size_t len) {
  for (size_t at = 0; at < len;) {
    const char *nl = memchr(bytes + at, '\n', len - at);
    if (!nl) {
      keep_partial(r, bytes + at, len - at);
      break;
    }
    const char *line = bytes + at;
    size_t line_len = (size_t)(nl - line);
    if (r->partial_len) {
      keep_partial(r, line, line_len);
      line = r->partial;
      line_len = r->partial_len;
    }
    r->line_no++;
    int rc = line_len ? read_line(r, line, line_len, false) : 0;
    r->partial_len = 0;
    if (rc != 0)
      return READ_BROKEN;
    at = (size_t)(nl - bytes) + 1;
  }
  return 0;
}

/* At the end of the file (kiln_ocp_read): the last line, without its
 * newline, is read when it is whole JSON and ignored when cut short. */
static int feed_end(struct reader *r) {
  if (!r->partial_len)
    return 0;
  r->line_no++;
  int rc = read_line(r, r->partial, r->partial_len, true);
  r->partial_len = 0;
  return rc < 0 ? READ_BROKEN : 0;
}

static void io_fail(struct reader *r, const char *what) {
  snprintf(r->err, r->n, "%s: %s", r->path, what);
}

/* Feeds what fd holds from its offset to its end, in chunks; *total
 * counts the bytes read, and more than OCP_READ_MAX in all is refused. */
static int feed_fd(struct reader *r, int fd, off_t *total) {
  enum { CHUNK = 1 << 16 };
  char *buf = kiln_xcalloc(CHUNK, 1);
  int rc = 0;
  while (rc == 0) {
    ssize_t got = read(fd, buf, CHUNK);
    if (got < 0 && errno == EINTR)
      continue;
    if (got < 0) {
      io_fail(r, strerror(errno));
      rc = READ_IO;
    } else if (got == 0) {
      break;
    } else if ((size_t)*total + (size_t)got > OCP_READ_MAX) {
      io_fail(r, "over 1 GiB: too large for a kiln record");
      rc = READ_BROKEN;
    } else {
      *total += got;
      rc = feed(r, buf, (size_t)got);
    }
  }
  free(buf);
  return rc;
}

/* Frees what the reader holds besides the model (call before freeing
 * the model: the per-step slots are counted by its steps). */
static void reader_free(struct reader *r) {
  for (size_t i = 0; i < r->run->n_steps && r->end_symptom; i++) {
    free(r->end_symptom[i]);
    free(r->end_message[i]);
  }
  free(r->end_symptom);
  free(r->end_message);
  free(r->partial);
}

int kiln_ocp_read(const char *path, struct kiln_run *run, char *err, size_t n) {
  struct reader r = {.path = path, .run = run, .err = err, .n = n};
  int fd = kiln_open_regular(path, err, n);
  if (fd < 0)
    return -1;
  struct stat st;
  off_t total = 0;
  int rc;
  if (fstat(fd, &st) != 0) {
    io_fail(&r, strerror(errno));
    rc = READ_IO;
  } else if ((size_t)st.st_size > OCP_READ_MAX) {
    fail(&r, "%lld bytes: too large for a kiln record", (long long)st.st_size);
    rc = READ_BROKEN;
  } else {
    rc = feed_fd(&r, fd, &total);
  }
  close(fd);
  if (rc == 0)
    rc = feed_end(&r);
  if (rc == 0 && !r.started) {
    r.line_no = 0;
    fail(&r, "no testRunStart: the run wrote no record%s",
         total ? "" : " (empty)");
    rc = READ_BROKEN;
  }
  if (rc == 0 && !run->finished)
    run->verdict = kiln_run_verdict(run);
  reader_free(&r);
  return rc == 0 ? 0 : -1;
}

/* ---- the follower ---- */

struct kiln_ocp_follow {
  char *path;
  struct kiln_run run;
  struct reader reader;
  dev_t dev; /* the file being followed */
  ino_t ino;
  off_t offset; /* bytes read: whole lines, then the unfinished one kept */
  char *broken; /* why the record was refused, said until it starts over */
};

struct kiln_ocp_follow *kiln_ocp_follow_open(const char *path) {
  struct kiln_ocp_follow *f = kiln_xcalloc(1, sizeof *f);
  f->path = kiln_xstrdup(path);
  kiln_run_init(&f->run);
  f->reader = (struct reader){.path = f->path, .run = &f->run};
  return f;
}

/* A fresh model, read from the file's first byte. */
static void follow_start_over(struct kiln_ocp_follow *f) {
  reader_free(&f->reader);
  kiln_run_free(&f->run);
  kiln_run_init(&f->run);
  f->reader = (struct reader){.path = f->path, .run = &f->run};
  f->offset = 0;
  free(f->broken);
  f->broken = NULL;
}

int kiln_ocp_follow_update(struct kiln_ocp_follow *f, char *err, size_t n) {
  int fd = kiln_open_regular(f->path, err, n);
  if (fd < 0)
    return -1;
  struct stat st;
  if (fstat(fd, &st) != 0) {
    snprintf(err, n, "%s: %s", f->path, strerror(errno));
    close(fd);
    return -1;
  }
  if (st.st_dev != f->dev || st.st_ino != f->ino || st.st_size < f->offset) {
    follow_start_over(f);
    f->dev = st.st_dev;
    f->ino = st.st_ino;
  }
  struct reader *r = &f->reader;
  r->err = err;
  r->n = n;
  int rc = 0;
  if (f->broken) {
    snprintf(err, n, "%s", f->broken);
    rc = READ_BROKEN;
  } else if (st.st_size > f->offset) {
    if (lseek(fd, f->offset, SEEK_SET) < 0) {
      io_fail(r, strerror(errno));
      rc = READ_IO;
    } else {
      rc = feed_fd(r, fd, &f->offset);
    }
    if (rc == READ_BROKEN)
      f->broken = kiln_xstrdup(err);
  }
  close(fd);
  if (!f->run.finished)
    f->run.verdict = kiln_run_verdict(&f->run);
  return rc == 0 ? 0 : -1;
}

const struct kiln_run *kiln_ocp_follow_run(const struct kiln_ocp_follow *f) {
  return &f->run;
}

bool kiln_ocp_follow_started(const struct kiln_ocp_follow *f) {
  return f->reader.started;
}

void kiln_ocp_follow_close(struct kiln_ocp_follow *f) {
  if (!f)
    return;
  reader_free(&f->reader);
  kiln_run_free(&f->run);
  free(f->broken);
  free(f->path);
  free(f);
}
