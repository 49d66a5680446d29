/* JUnit XML (junit-10.xsd, as Jenkins' xunit plugin validates it), written
 * atomically with libxml2's xmlTextWriter (report_xml.c), every string made
 * safe for XML there.
 *
 * One <testsuite> per module (in plan order), one <testcase> per step:
 *   PASS    -> no child but <system-out>
 *   FAIL    -> <failure type=symptom message=first failure>, every failing
 *              diagnosis and measurement in its text
 *   ERROR   -> <error type="ERROR" message=reason>
 *   ABORTED -> <error type="ABORTED" message=reason>
 *   SKIP    -> <skipped message=reason>
 *   a step not finished (PENDING or RUNNING, when the file is rewritten
 *   mid-run or the node died) -> <error type="PENDING"|"RUNNING">: until
 *   it ends it has proved nothing, and a run that stops there must not
 *   read as green. Measurements, diagnoses and logs go to <system-out>. */
#include <stdlib.h>
#include <string.h>

#include "junit_parts.h"
#include "kiln/reports.h"
#include "kiln/textutil.h"
#include "report_util.h"
#include "report_xml.h"

/* An element holding only text, e.g. <system-out>. */
static void text_element(struct xml_writer *x, const char *element,
                         const char *s) {
  xml_start(x, element);
  xml_text(x, s);
  xml_end(x);
}

void junit_property(struct xml_writer *x, const char *name, const char *value) {
  xml_start(x, "property");
  xml_attr(x, "name", name);
  xml_attr(x, "value", value);
  xml_end(x);
}

/* ---- one testcase ---- */

/* Text built with open_memstream: NULL only when out of memory. */
typedef void (*text_builder)(FILE *f, const struct kiln_step_result *s);

static char *build_text(text_builder build, const struct kiln_step_result *s) {
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  if (!f)
    return NULL;
  build(f, s);
  if (fclose(f) != 0) {
    free(buf);
    return NULL;
  }
  return buf;
}

/* "symptom on hwid: message" */
static void put_diagnosis(FILE *f, const struct kiln_diagnosis *d) {
  fprintf(f, "%s%s%s: %s\n", d->symptom, d->hwid[0] ? " on " : "", d->hwid,
          d->message);
}

static void failure_details(FILE *f, const struct kiln_step_result *s) {
  char line[1024];
  for (size_t i = 0; i < s->n_diagnoses; i++) {
    const struct kiln_diagnosis *d = &s->diagnoses[i];
    if (d->type == KILN_DIAG_FAIL)
      put_diagnosis(f, d);
  }
  for (size_t i = 0; i < s->n_measurements; i++)
    if (!s->measurements[i].pass) {
      report_describe_measurement(&s->measurements[i], line, sizeof line);
      fprintf(f, "out of limits: %s\n", line);
    }
  if (s->reason)
    fprintf(f, "the step then ended early: %s\n", s->reason);
}

static void step_output(FILE *f, const struct kiln_step_result *s) {
  char line[1024], stamp[40];
  fprintf(f, "target: %s\nverdict: %s\n", s->target, report_step_label(s));
  for (size_t i = 0; i < s->n_measurements; i++) {
    const struct kiln_measurement *m = &s->measurements[i];
    report_describe_measurement(m, line, sizeof line);
    fprintf(f, "measurement %s: %s\n", line, m->pass ? "PASS" : "FAIL");
  }
  for (size_t i = 0; i < s->n_diagnoses; i++) {
    const struct kiln_diagnosis *d = &s->diagnoses[i];
    fprintf(f, "diagnosis %s ", report_diag_type_name(d->type));
    put_diagnosis(f, d);
  }
  for (size_t i = 0; i < s->n_logs; i++) {
    kiln_format_time(s->logs[i].time, stamp, sizeof stamp);
    fprintf(f, "log %s %s: %s\n", stamp,
            kiln_severity_name(s->logs[i].severity), s->logs[i].message);
  }
}

/* <failure>, <error> or <skipped>, or nothing for a PASS. */
static void write_outcome(struct xml_writer *x,
                          const struct kiln_step_result *s) {
  const char *unfinished = report_unfinished_reason(s);
  if (unfinished) {
    xml_start(x, "error");
    xml_attr(x, "type", report_step_label(s));
    xml_attr(x, "message", unfinished);
    xml_end(x);
    return;
  }
  const char *reason = s->reason ? s->reason : "no reason given";
  switch (s->verdict) {
  case KILN_PASS: return;
  case KILN_SKIP:
    xml_start(x, "skipped");
    xml_attr(x, "message", reason);
    xml_end(x);
    return;
  case KILN_ERROR:
  case KILN_ABORTED:
    xml_start(x, "error");
    xml_attr(x, "type", kiln_verdict_name(s->verdict));
    xml_attr(x, "message", reason);
    xml_text(x, reason);
    xml_end(x);
    return;
  case KILN_FAIL: break;
  }
  char summary[1024];
  kiln_step_failure_text(s, summary, sizeof summary);
  const char *type = "measurement-out-of-limits";
  for (size_t i = 0; i < s->n_diagnoses; i++)
    if (s->diagnoses[i].type == KILN_DIAG_FAIL && s->diagnoses[i].symptom[0]) {
      type = s->diagnoses[i].symptom;
      break;
    }
  char *details = build_text(failure_details, s);
  x->failed |= !details;
  xml_start(x, "failure");
  xml_attr(x, "type", type);
  xml_attr(x, "message", summary);
  xml_text(x, details ? details : "");
  xml_end(x);
  free(details);
}

void junit_testcase(struct xml_writer *x, const struct kiln_step_result *s,
                    const char *classname, const char *preamble) {
  xml_start(x, "testcase");
  xml_attr(x, "name", s->id);
  xml_attr(x, "classname", classname);
  xml_attrf(x, "time", "%.3f", report_step_duration(s));
  write_outcome(x, s);
  char *output = build_text(step_output, s);
  x->failed |= !output;
  char *text = kiln_strdup_printf("%s%s", preamble ? preamble : "",
                                  output ? output : "");
  text_element(x, "system-out", text);
  free(text);
  free(output);
  xml_end(x);
}

/* ---- suites ---- */

static void write_properties(struct xml_writer *x, const struct kiln_run *run) {
  xml_start(x, "properties");
  junit_property(x, "serial", run->dut.serial);
  junit_property(x, "hostname", run->dut.hostname);
  junit_property(x, "kiln.version", run->kiln_version);
  junit_property(x, "profile", run->profile);
  junit_property(x, "profile.source", run->profile_source);
  junit_property(x, "dmi.vendor", run->dut.vendor);
  junit_property(x, "dmi.product", run->dut.product);
  junit_property(x, "dmi.board_serial", run->dut.board_serial);
  junit_property(x, "bios.vendor",
                 run->dut.bios_vendor ? run->dut.bios_vendor : "");
  junit_property(x, "bios.version",
                 run->dut.bios_version ? run->dut.bios_version : "");
  junit_property(x, "bios.date", run->dut.bios_date ? run->dut.bios_date : "");
  /* One property per inventoried part: "GPU 0000:1b:00.0", its model and
   * serial, so QA can trace a result to a serial number. */
  for (size_t i = 0; i < run->n_hardware; i++) {
    const struct kiln_hw_info *h = &run->hardware[i];
    char *name = kiln_strdup_printf("hardware.%s", h->id);
    char *value = kiln_strdup_printf("%s%s%s", h->name,
                                     h->serial[0] ? " serial " : "", h->serial);
    junit_property(x, name, value);
    free(name);
    free(value);
  }
  xml_end(x);
}

static bool same_module(const struct kiln_step_result *a,
                        const struct kiln_step_result *b) {
  return strcmp(a->module, b->module) == 0;
}

/* The suite of the module of step `first`, its first step in the plan. */
static void write_suite(struct xml_writer *x, const struct kiln_run *run,
                        size_t first, int suite_id) {
  const struct kiln_step_result *head = &run->steps[first];
  struct report_counts c = {0};
  double time = 0, started = 0;
  for (size_t i = first; i < run->n_steps; i++) {
    const struct kiln_step_result *s = &run->steps[i];
    if (!same_module(s, head))
      continue;
    report_count_step(&c, s);
    time += report_step_duration(s);
    if (s->start > 0 && (started == 0 || s->start < started))
      started = s->start;
  }
  char stamp[40];
  kiln_format_time(started > 0 ? started : run->start, stamp, sizeof stamp);
  xml_start(x, "testsuite");
  xml_attr(x, "name", head->module);
  xml_attrf(x, "tests", "%zu", c.total);
  xml_attrf(x, "failures", "%zu", c.fail);
  xml_attrf(x, "errors", "%zu", c.error + c.aborted + c.unfinished);
  xml_attrf(x, "skipped", "%zu", c.skip);
  xml_attrf(x, "time", "%.3f", time);
  xml_attr(x, "timestamp", stamp);
  xml_attr(x, "hostname", run->dut.hostname);
  xml_attrf(x, "id", "%d", suite_id);
  xml_attr(x, "package", "kiln");
  write_properties(x, run);
  for (size_t i = first; i < run->n_steps; i++)
    if (same_module(&run->steps[i], head))
      junit_testcase(x, &run->steps[i], run->steps[i].module, NULL);
  xml_end(x);
}

static bool module_seen_before(const struct kiln_run *run, size_t index) {
  for (size_t i = 0; i < index; i++)
    if (same_module(&run->steps[i], &run->steps[index]))
      return true;
  return false;
}

static void write_document(struct xml_writer *x, const void *ctx) {
  const struct kiln_run *run = ctx;
  struct report_counts c = report_count_run(run);
  double elapsed = 0;
  for (size_t i = 0; i < run->n_steps; i++)
    elapsed += report_step_duration(&run->steps[i]);
  if (run->end > run->start && run->start > 0)
    elapsed = run->end - run->start;
  xml_check(x, xmlTextWriterStartDocument(x->w, NULL, "UTF-8", NULL));
  xml_start(x, "testsuites");
  xml_attr(x, "name", "kiln");
  xml_attrf(x, "tests", "%zu", c.total);
  xml_attrf(x, "failures", "%zu", c.fail);
  xml_attrf(x, "errors", "%zu", c.error + c.aborted + c.unfinished);
  xml_attrf(x, "time", "%.3f", elapsed);
  int suite_id = 0;
  for (size_t i = 0; i < run->n_steps; i++)
    if (!module_seen_before(run, i))
      write_suite(x, run, i, suite_id++);
  xml_end(x);
  if (!x->failed)
    xml_check(x, xmlTextWriterEndDocument(x->w));
}

int kiln_junit_write(const struct kiln_run *run, const char *path, char *err,
                     size_t n) {
  static const struct xml_style style = {.indent = "  "};
  return xml_write_file(path, &style, write_document, run, err, n);
}
