/* OCP Test & Validation output spec v2.0: one JSON object per line.
 *
 * Each line is built whole and written with one write() as its event
 * arrives; a write that fails (a full disk) is cut back to the last whole
 * line, so the file never holds half a line. The file is fsynced at the run
 * start, at every step start and end, at the run end, and at least once a
 * minute in between (the tick), so a power cut loses at most a minute and a
 * node that dies leaves a valid prefix of the stream. After a failed write
 * the stream drops events until the run end, where it closes its record if
 * it can (an error artifact says what was lost, the open steps end, then
 * testRunEnd) and still reports the failure. Mapping:
 *   step PASS/FAIL   -> testStepEnd COMPLETE (the diagnoses carry the result)
 *   step SKIP        -> a log with the reason, testStepEnd SKIP
 *   step ERROR       -> an error artifact (symptom step-error), testStepEnd
 *                       ERROR; ABORTED likewise (symptom step-aborted), and
 *                       a FAIL with a reason (it failed, then crashed or was
 *                       stopped) likewise (symptom step-ended-early)
 *   step still open at the run end -> closed the same way (step-unfinished)
 *   out-of-limit measurement -> also a FAIL diagnosis naming it
 *   run-level log    -> a testRunArtifact log; an abort reason -> an error
 *   run              -> testRunEnd status COMPLETE/SKIP/ERROR and result
 *                       PASS/FAIL/NOT_APPLICABLE (see run_outcome()). */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kiln/reports.h"
#include "kiln/textutil.h"
#include "report_util.h"

enum ocp_step_state { OCP_STEP_NEW, OCP_STEP_OPEN, OCP_STEP_CLOSED };

/* Unsynced lines wait at most this long for their fsync. */
#define OCP_SYNC_INTERVAL 60.0

struct ocp_state {
  int fd;
  char *path;
  off_t size; /* bytes of whole lines written */
  uint64_t sequence;
  bool run_started, run_ended, failed;
  bool dirty;        /* lines written since the last fsync */
  double last_sync;  /* monotonic */
  double lost_since; /* wall clock of the first event lost, once failed */
  int lost_errno;
  unsigned char *step_states; /* enum ocp_step_state, by step index */
  size_t n_step_states;
};

/* ---- JSON values ---- */

/* Every string goes through here: json_string() refuses invalid UTF-8, and
 * run-level strings (serial, hostname) come unchecked from the system. */
static json_t *json_text(const char *s) {
  char *valid = kiln_utf8_sanitize(s);
  json_t *j = json_string(valid);
  free(valid);
  return j;
}

/* JSON has no NaN or infinity; the schema allows a string value instead. */
static json_t *json_number(double v) {
  if (isfinite(v))
    return json_real(v);
  return json_string(isnan(v) ? "NaN" : v > 0 ? "Infinity" : "-Infinity");
}

static json_t *subcomponent(const char *hwid) {
  return json_pack("{s:o}", "name", json_text(hwid));
}

static json_t *step_id(const struct kiln_step_result *s) {
  char id[32];
  snprintf(id, sizeof id, "%zu", s->index);
  return json_string(id);
}

/* ---- writing lines ---- */

static int fail_io(struct kiln_sink *sink, int error) {
  struct ocp_state *st = sink->state;
  if (!st->failed) {
    st->failed = true;
    st->lost_since = kiln_now();
    st->lost_errno = error ? error : EIO;
  }
  snprintf(sink->err, sizeof sink->err, "%s: %s", st->path,
           strerror(error ? error : EIO));
  return -1;
}

/* Writes all of buf at the end of the whole lines, or nothing (see
 * kiln_append_whole). Returns 0 or an errno. */
static int append_whole(struct ocp_state *st, const char *buf, size_t len) {
  int error = kiln_append_whole(st->fd, &st->size, buf, len);
  if (!error)
    st->dirty = true;
  return error;
}

/* Wraps payload (stolen) as `key` in an artifact with the next sequence
 * number, and writes it as one line. */
static int emit(struct kiln_sink *sink, double time, const char *key,
                json_t *payload) {
  struct ocp_state *st = sink->state;
  char stamp[40];
  kiln_format_time(time > 0 ? time : kiln_now(), stamp, sizeof stamp);
  json_t *root = json_pack("{s:o, s:I, s:s}", key, payload, "sequenceNumber",
                           (json_int_t)st->sequence, "timestamp", stamp);
  if (!root)
    return fail_io(sink, ENOMEM);
  size_t len = json_dumpb(root, NULL, 0, JSON_COMPACT);
  char *line = kiln_xcalloc(len + 1, 1);
  json_dumpb(root, line, len, JSON_COMPACT);
  json_decref(root);
  line[len] = '\n';
  int error = append_whole(st, line, len + 1);
  free(line);
  if (error)
    return fail_io(sink, error);
  st->sequence++;
  return 0;
}

static int emit_run(struct kiln_sink *sink, double time, const char *key,
                    json_t *payload) {
  return emit(sink, time, "testRunArtifact", json_pack("{s:o}", key, payload));
}

static int emit_step(struct kiln_sink *sink, const struct kiln_step_result *s,
                     double time, const char *key, json_t *payload) {
  return emit(sink, time, "testStepArtifact",
              json_pack("{s:o, s:o}", "testStepId", step_id(s), key, payload));
}

/* Pipes and character devices cannot be synced; that is no write error. */
static int sync_file(struct kiln_sink *sink) {
  struct ocp_state *st = sink->state;
  if (!st->dirty)
    return 0;
  if (fsync(st->fd) != 0 && errno != EINVAL && errno != EROFS &&
      errno != ENOTSUP)
    return fail_io(sink, errno);
  st->dirty = false;
  st->last_sync = kiln_monotonic_now();
  return 0;
}

/* ---- run start ---- */

/* Every callback starts here: a failed sink stays failed, and nothing may
 * follow testRunEnd. Returns 1 to go on, 0 to drop the event, -1. */
static int accepting(struct kiln_sink *sink) {
  struct ocp_state *st = sink->state;
  if (st->failed)
    return -1;
  return !st->run_ended;
}

/* One platformInfo, "<vendor> <product>", when DMI named either; else
 * NULL, and the key is left out. */
static json_t *platform_infos(const struct kiln_dut *dut) {
  const char *vendor = dut->vendor ? dut->vendor : "";
  const char *product = dut->product ? dut->product : "";
  if (!vendor[0] && !product[0])
    return NULL;
  char *info = kiln_strdup_printf("%s%s%s", vendor,
                                  vendor[0] && product[0] ? " " : "", product);
  json_t *list = json_pack("[{s:o}]", "info", json_text(info));
  free(info);
  return list;
}

static void set_text(json_t *obj, const char *key, const char *value) {
  if (value && value[0])
    json_object_set_new(obj, key, json_text(value));
}

/* One hardwareInfo per inventoried part; NULL (key left out) when none. */
static json_t *hardware_infos(const struct kiln_run *run) {
  if (run->n_hardware == 0)
    return NULL;
  json_t *list = json_array();
  for (size_t i = 0; i < run->n_hardware; i++) {
    const struct kiln_hw_info *h = &run->hardware[i];
    json_t *j = json_pack("{s:o, s:o}", "hardwareInfoId", json_text(h->id),
                          "name", json_text(h->name[0] ? h->name : h->id));
    set_text(j, "partType", h->kind);
    set_text(j, "location", h->location);
    set_text(j, "serialNumber", h->serial);
    set_text(j, "partNumber", h->part_number);
    set_text(j, "manufacturer", h->manufacturer);
    set_text(j, "version", h->version);
    json_array_append_new(list, j);
  }
  return list;
}

/* BIOS as a FIRMWARE softwareInfo, when DMI named it. */
static json_t *software_infos(const struct kiln_dut *dut) {
  if (!dut->bios_version || !dut->bios_version[0])
    return NULL;
  json_t *bios = json_pack(
      "{s:s, s:s, s:o, s:s}", "softwareInfoId", "bios", "name", "BIOS",
      "version", json_text(dut->bios_version), "softwareType", "FIRMWARE");
  set_text(bios, "revision", dut->bios_date);
  return json_pack("[o]", bios);
}

static json_t *dut_info(const struct kiln_run *run) {
  const struct kiln_dut *dut = &run->dut;
  const char *id = dut->serial && dut->serial[0] ? dut->serial : dut->hostname;
  json_t *info = json_pack(
      "{s:o, s:o, s:o*, s:o*, s:o*, s:{s:o, s:o, s:o, s:o}}", "dutInfoId",
      json_text(id), "name", json_text(dut->hostname), "platformInfos",
      platform_infos(dut), "softwareInfos", software_infos(dut),
      "hardwareInfos", hardware_infos(run), "metadata", "serial",
      json_text(dut->serial), "boardSerial", json_text(dut->board_serial),
      "vendor", json_text(dut->vendor), "product", json_text(dut->product));
  return info;
}

/* The plan goes into the parameters, so a reader of a stream that stops
 * early knows which steps never started, and how long the run should take
 * (plannedSeconds: the line page's remaining time). */
static json_t *run_parameters(const struct kiln_run *run) {
  json_t *planned = json_array();
  for (size_t i = 0; i < run->n_steps; i++)
    json_array_append_new(planned, json_text(run->steps[i].id));
  json_t *params =
      json_pack("{s:o, s:o, s:o, s:o, s:f}", "profile", json_text(run->profile),
                "profileSource", json_text(run->profile_source), "reportDir",
                json_text(run->report_dir), "plannedSteps", planned,
                "plannedSeconds", run->planned_seconds);
  /* The line server groups its outliers by SKU: only one kiln knows. */
  set_text(params, "sku", run->sku);
  return params;
}

static int ensure_run_started(struct kiln_sink *sink,
                              const struct kiln_run *run) {
  struct ocp_state *st = sink->state;
  if (st->run_started)
    return 0;
  st->run_started = true;
  double t = run->start;
  if (emit(sink, t, "schemaVersion",
           json_pack("{s:i, s:i}", "major", 2, "minor", 0)) != 0)
    return -1;
  json_t *start = json_pack(
      "{s:s, s:o, s:o, s:o, s:o}", "name", "kiln", "version",
      json_text(run->kiln_version), "commandLine", json_text(run->command_line),
      "parameters", run_parameters(run), "dutInfo", dut_info(run));
  return emit_run(sink, t, "testRunStart", start);
}

/* The header is synced at once: a disk that cannot take it is found
 * before any step runs. */
static int ocp_run_start(struct kiln_sink *sink, const struct kiln_run *run) {
  int go = accepting(sink);
  if (go <= 0)
    return go;
  if (ensure_run_started(sink, run) != 0)
    return -1;
  return sync_file(sink);
}

/* ---- steps ---- */

static unsigned char *step_state(struct ocp_state *st, size_t index) {
  if (index >= st->n_step_states) {
    size_t n = index + 16;
    st->step_states = kiln_xrealloc(st->step_states, n);
    memset(st->step_states + st->n_step_states, OCP_STEP_NEW,
           n - st->n_step_states);
    st->n_step_states = n;
  }
  return &st->step_states[index];
}

/* The stream must start a step before using it, so an event for a step
 * that was never started starts it. Returns 1 when the step is open, 0
 * when it already ended (the late event is dropped), -1 on a write error. */
static int ensure_step_open(struct kiln_sink *sink, const struct kiln_run *run,
                            const struct kiln_step_result *s) {
  struct ocp_state *st = sink->state;
  if (ensure_run_started(sink, run) != 0)
    return -1;
  unsigned char *state = step_state(st, s->index);
  if (*state != OCP_STEP_NEW)
    return *state == OCP_STEP_OPEN;
  if (emit_step(sink, s, s->start, "testStepStart",
                json_pack("{s:o}", "name", json_text(s->id))) != 0)
    return -1;
  *state = OCP_STEP_OPEN;
  return 1;
}

/* accepting(), then ensure_step_open(): 1 to go on with an event of step
 * s, 0 to drop it, -1. */
static int accepting_in_step(struct kiln_sink *sink, const struct kiln_run *run,
                             const struct kiln_step_result *s) {
  int go = accepting(sink);
  return go <= 0 ? go : ensure_step_open(sink, run, s);
}

static int ocp_step_start(struct kiln_sink *sink, const struct kiln_run *run,
                          const struct kiln_step_result *s) {
  int go = accepting(sink);
  if (go <= 0)
    return go;
  if (ensure_step_open(sink, run, s) < 0)
    return -1;
  return sync_file(sink);
}

static json_t *diagnosis(const char *verdict, const char *type,
                         const char *message, const char *hwid) {
  json_t *d = json_pack("{s:o, s:s, s:o}", "verdict", json_text(verdict),
                        "type", type, "message", json_text(message));
  if (hwid && hwid[0])
    json_object_set_new(d, "subcomponent", subcomponent(hwid));
  return d;
}

static json_t *validators(const struct kiln_limit *l) {
  json_t *list = json_array();
  if (l->has_lo)
    json_array_append_new(list, json_pack("{s:s, s:s, s:o}", "name", "lo",
                                          "type", "GREATER_THAN_OR_EQUAL",
                                          "value", json_number(l->lo)));
  if (l->has_hi)
    json_array_append_new(list, json_pack("{s:s, s:s, s:o}", "name", "hi",
                                          "type", "LESS_THAN_OR_EQUAL", "value",
                                          json_number(l->hi)));
  return list;
}

/* The unit, validators and subcomponent a measurement or a series has. */
static void set_unit_limits_hwid(json_t *j, const char *unit,
                                 const struct kiln_limit *limit,
                                 const char *hwid) {
  if (unit && unit[0])
    json_object_set_new(j, "unit", json_text(unit));
  if (kiln_limit_is_set(limit))
    json_object_set_new(j, "validators", validators(limit));
  if (hwid && hwid[0])
    json_object_set_new(j, "subcomponent", subcomponent(hwid));
}

static int ocp_measurement(struct kiln_sink *sink, const struct kiln_run *run,
                           const struct kiln_step_result *s,
                           const struct kiln_measurement *m) {
  int go = accepting_in_step(sink, run, s);
  if (go <= 0)
    return go;
  json_t *j = json_pack("{s:o, s:o}", "name", json_text(m->name), "value",
                        json_number(m->value));
  set_unit_limits_hwid(j, m->unit, &m->limit, m->hwid);
  if (emit_step(sink, s, m->time, "measurement", j) != 0)
    return -1;
  if (m->pass)
    return 0;
  /* Consumers that read only diagnoses must still see the failure. */
  /* Not rounded by the figure rule: ocp.jsonl is for machines (15
   * digits, every digit a decimal reading or limit was written with). */
  const struct kiln_limit *l = &m->limit;
  char limit[96] = "";
  if (l->has_lo && l->has_hi)
    snprintf(limit, sizeof limit, " (limit %.15g <= x <= %.15g)", l->lo, l->hi);
  else if (l->has_lo || l->has_hi)
    snprintf(limit, sizeof limit, " (limit x %s %.15g)",
             l->has_lo ? ">=" : "<=", l->has_lo ? l->lo : l->hi);
  char *message = kiln_strdup_printf(
      "out of limits: %s%s%s = %.15g%s%s%s", m->name, m->hwid[0] ? " on " : "",
      m->hwid, m->value, m->unit[0] ? " " : "", m->unit, limit);
  int rc = emit_step(
      sink, s, m->time, "diagnosis",
      diagnosis("measurement-out-of-limits", "FAIL", message, m->hwid));
  free(message);
  return rc;
}

static int ocp_series_start(struct kiln_sink *sink, const struct kiln_run *run,
                            const struct kiln_step_result *s,
                            const struct kiln_series *se) {
  int go = accepting_in_step(sink, run, s);
  if (go <= 0)
    return go;
  json_t *j = json_pack("{s:o, s:o}", "measurementSeriesId", json_text(se->id),
                        "name", json_text(se->name));
  set_unit_limits_hwid(j, se->unit, &se->limit, se->hwid);
  return emit_step(sink, s, 0, "measurementSeriesStart", j);
}

static int ocp_series_element(struct kiln_sink *sink,
                              const struct kiln_run *run,
                              const struct kiln_step_result *s,
                              const struct kiln_series *se, double value,
                              double time) {
  int go = accepting_in_step(sink, run, s);
  if (go <= 0)
    return go;
  char stamp[40];
  kiln_format_time(time, stamp, sizeof stamp);
  return emit_step(sink, s, time, "measurementSeriesElement",
                   json_pack("{s:I, s:o, s:s, s:o}", "index",
                             (json_int_t)se->count, "value", json_number(value),
                             "timestamp", stamp, "measurementSeriesId",
                             json_text(se->id)));
}

static int ocp_series_end(struct kiln_sink *sink, const struct kiln_run *run,
                          const struct kiln_step_result *s,
                          const struct kiln_series *se) {
  int go = accepting_in_step(sink, run, s);
  if (go <= 0)
    return go;
  return emit_step(sink, s, 0, "measurementSeriesEnd",
                   json_pack("{s:o, s:I}", "measurementSeriesId",
                             json_text(se->id), "totalCount",
                             (json_int_t)se->count));
}

static int ocp_diagnosis(struct kiln_sink *sink, const struct kiln_run *run,
                         const struct kiln_step_result *s,
                         const struct kiln_diagnosis *d) {
  int go = accepting_in_step(sink, run, s);
  if (go <= 0)
    return go;
  const char *type = report_diag_type_name(d->type);
  /* The OCP verdict is a short machine word, like kiln's symptom. */
  const char *verdict = d->symptom && d->symptom[0] ? d->symptom : type;
  return emit_step(sink, s, d->time, "diagnosis",
                   diagnosis(verdict, type, d->message, d->hwid));
}

static const char *log_severity(enum kiln_severity sev) {
  switch (sev) {
  case KILN_SEV_DEBUG: return "DEBUG";
  case KILN_SEV_INFO: return "INFO";
  case KILN_SEV_WARNING: return "WARNING";
  case KILN_SEV_ERROR: return "ERROR";
  case KILN_SEV_FATAL: return "FATAL";
  }
  return "INFO";
}

static json_t *log_json(const char *severity, const char *message) {
  return json_pack("{s:s, s:o}", "severity", severity, "message",
                   json_text(message));
}

static int ocp_log(struct kiln_sink *sink, const struct kiln_run *run,
                   const struct kiln_step_result *s, const struct kiln_log *l) {
  int go = accepting(sink);
  if (go <= 0)
    return go;
  json_t *j = log_json(log_severity(l->severity), l->message);
  if (!s) {
    if (ensure_run_started(sink, run) != 0) {
      json_decref(j);
      return -1;
    }
    return emit_run(sink, l->time, "log", j);
  }
  if ((go = ensure_step_open(sink, run, s)) <= 0) {
    json_decref(j);
    return go;
  }
  return emit_step(sink, s, l->time, "log", j);
}

static json_t *error_json(const char *symptom, const char *message) {
  return json_pack("{s:s, s:o}", "symptom", symptom, "message",
                   json_text(message ? message : "no reason given"));
}

/* Writes what a step's end says (an error or a log) and testStepEnd. */
static int close_step(struct kiln_sink *sink, const struct kiln_step_result *s,
                      double time) {
  struct ocp_state *st = sink->state;
  const char *status = "ERROR", *symptom = NULL, *message = s->reason;
  int rc = 0;
  if (s->state != KILN_STEP_DONE) {
    symptom = "step-unfinished";
    message = "the run ended before this step finished";
  } else if (s->verdict == KILN_SKIP) {
    status = "SKIP";
    char *text = kiln_strdup_printf("skipped: %s",
                                    s->reason ? s->reason : "no reason given");
    rc = emit_step(sink, s, time, "log", log_json("INFO", text));
    free(text);
  } else if (s->verdict == KILN_ERROR) {
    symptom = "step-error";
  } else if (s->verdict == KILN_ABORTED) {
    symptom = "step-aborted";
  } else if (s->verdict == KILN_FAIL && s->reason) {
    /* kiln_step_finish() keeps FAIL over an ERROR/ABORTED end: the step
     * found a failure, then did not complete. */
    symptom = "step-ended-early";
  } else {
    status = "COMPLETE";
  }
  if (rc == 0 && symptom)
    rc = emit_step(sink, s, time, "error", error_json(symptom, message));
  if (rc == 0)
    rc = emit_step(sink, s, time, "testStepEnd",
                   json_pack("{s:s}", "status", status));
  *step_state(st, s->index) = OCP_STEP_CLOSED;
  return rc;
}

static int ocp_step_end(struct kiln_sink *sink, const struct kiln_run *run,
                        const struct kiln_step_result *s) {
  int go = accepting_in_step(sink, run, s);
  if (go <= 0)
    return go;
  if (close_step(sink, s, s->end) != 0)
    return -1;
  return sync_file(sink);
}

/* ---- run end ---- */

/* status says whether the run went through, result what it found: a run
 * that found a failure is FAIL even when aborted; one that errored or was
 * cut short without a failure proves nothing (NOT_APPLICABLE), and so does
 * a run whose steps were all skipped. */
static void run_outcome(const struct kiln_run *run, const char **status,
                        const char **result) {
  struct report_counts c = report_count_run(run);
  enum kiln_verdict v = report_run_verdict(run);
  bool incomplete = c.error || c.aborted || c.unfinished || run->abort_reason ||
                    v == KILN_ERROR || v == KILN_ABORTED;
  bool failed = c.fail || v == KILN_FAIL;
  *status = incomplete ? "ERROR" : (c.pass || c.fail) ? "COMPLETE" : "SKIP";
  *result = failed ? "FAIL" : incomplete || !c.pass ? "NOT_APPLICABLE" : "PASS";
}

/* The end of a stream that lost events: a step still open in it ends as
 * ERROR, its verdict told in words (its own evidence may be lost). */
static int close_lost_step(struct kiln_sink *sink,
                           const struct kiln_step_result *s, double time) {
  struct ocp_state *st = sink->state;
  char since[40];
  kiln_format_time(st->lost_since, since, sizeof since);
  char *message = kiln_strdup_printf(
      "this step's events from %s on were lost (%s); it ended %s%s%s", since,
      strerror(st->lost_errno), report_step_label(s), s->reason ? ": " : "",
      s->reason ? s->reason : "");
  int rc = emit_step(sink, s, time, "error",
                     error_json("step-record-incomplete", message));
  free(message);
  if (rc == 0)
    rc = emit_step(sink, s, time, "testStepEnd",
                   json_pack("{s:s}", "status", "ERROR"));
  *step_state(st, s->index) = OCP_STEP_CLOSED;
  return rc;
}

/* What the stream lost, and every step's verdict, which the stream may
 * no longer show. */
static char *lost_message(const struct ocp_state *st,
                          const struct kiln_run *run) {
  char since[40];
  kiln_format_time(st->lost_since, since, sizeof since);
  char *text = kiln_strdup_printf(
      "this stream lost every event from %s on (%s); the steps ended:", since,
      strerror(st->lost_errno));
  for (size_t i = 0; i < run->n_steps; i++) {
    char *more =
        kiln_strdup_printf("%s%s %s %s", text, i ? "," : "", run->steps[i].id,
                           report_step_label(&run->steps[i]));
    free(text);
    text = more;
  }
  return text;
}

static int close_run(struct kiln_sink *sink, const struct kiln_run *run,
                     bool lost) {
  struct ocp_state *st = sink->state;
  if (ensure_run_started(sink, run) != 0)
    return -1;
  double t = run->end > 0 ? run->end : kiln_now();
  /* testRunEnd must not leave steps open. */
  for (size_t i = 0; i < run->n_steps && i < st->n_step_states; i++)
    if (st->step_states[i] == OCP_STEP_OPEN &&
        (lost ? close_lost_step(sink, &run->steps[i], t)
              : close_step(sink, &run->steps[i], t)) != 0)
      return -1;
  if (lost) {
    char *message = lost_message(st, run);
    int rc =
        emit_run(sink, t, "error", error_json("report-incomplete", message));
    free(message);
    if (rc != 0)
      return -1;
  }
  if (run->abort_reason &&
      emit_run(sink, t, "error", error_json("run-aborted", run->abort_reason)))
    return -1;
  const char *status, *result;
  run_outcome(run, &status, &result);
  if (lost) {
    status = "ERROR";
    if (strcmp(result, "PASS") == 0)
      result = "NOT_APPLICABLE";
  }
  if (emit_run(sink, t, "testRunEnd",
               json_pack("{s:s, s:s}", "status", status, "result", result)))
    return -1;
  st->run_ended = true;
  return sync_file(sink);
}

/* A stream that failed gets one more try here (kiln frees its reserve of
 * disk space first): it closes its record, and still reports the loss. */
static int ocp_run_end(struct kiln_sink *sink, const struct kiln_run *run) {
  struct ocp_state *st = sink->state;
  if (st->run_ended)
    return 0;
  bool lost = st->failed;
  if (!lost)
    return close_run(sink, run, false);
  st->failed = false;
  if (st->sequence < 2) {
    /* The header itself was lost: start the stream again. */
    st->sequence = 0;
    st->size = 0;
    st->run_started = false;
    if (ftruncate(st->fd, 0) != 0) {
      /* Not a file: the lines go on after what is there. */
    }
  }
  int rc = close_run(sink, run, true);
  st->failed = true;
  if (rc != 0)
    return -1;
  char since[40];
  kiln_format_time(st->lost_since, since, sizeof since);
  snprintf(sink->err, sizeof sink->err,
           "%s: the events from %s on were lost (%s)", st->path, since,
           strerror(st->lost_errno));
  return -1;
}

/* At least once a minute, lines still unsynced are synced. */
static int ocp_tick(struct kiln_sink *sink, const struct kiln_run *run) {
  struct ocp_state *st = sink->state;
  if (st->failed || !st->dirty ||
      kiln_monotonic_now() - st->last_sync < OCP_SYNC_INTERVAL)
    return 0;
  return sync_file(sink);
}

/* ---- the sink ---- */

static void ocp_close(struct kiln_sink *sink) {
  struct ocp_state *st = sink->state;
  close(st->fd);
  free(st->path);
  free(st->step_states);
  free(st);
  free(sink);
}

struct kiln_sink *kiln_ocp_sink_open(const char *path, char *err, size_t n) {
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    snprintf(err, n, "%s: %s", path, strerror(errno));
    return NULL;
  }
  struct ocp_state *st = kiln_xcalloc(1, sizeof *st);
  st->fd = fd;
  st->path = kiln_xstrdup(path);
  st->last_sync = kiln_monotonic_now();
  struct kiln_sink *sink = kiln_xcalloc(1, sizeof *sink);
  sink->name = "ocp.jsonl";
  sink->state = st;
  sink->run_start = ocp_run_start;
  sink->step_start = ocp_step_start;
  sink->measurement = ocp_measurement;
  sink->diagnosis = ocp_diagnosis;
  sink->log = ocp_log;
  sink->series_start = ocp_series_start;
  sink->series_element = ocp_series_element;
  sink->series_end = ocp_series_end;
  sink->step_end = ocp_step_end;
  sink->run_end = ocp_run_end;
  sink->tick = ocp_tick;
  sink->close = ocp_close;
  return sink;
}
