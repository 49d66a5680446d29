/* report.html: one self-contained page for people (no scripts, no network,
 * inline CSS and SVG), rewritten atomically from the model at the run
 * start, at every step start and end, and at the run end, like the other
 * whole-file reports.
 *
 * The page, top to bottom:
 *   verdict banner  the run's verdict and exit code (or "NOT FINISHED" while
 *                   the run goes on, or when the node died), the counts, the
 *                   DUT's serial and host
 *   failures        every FAIL diagnosis and out-of-limit measurement, named
 *                   by step, then the ERROR, ABORTED and unfinished steps
 *   steps           one row per step: verdict, duration, key figure
 *   timeline        one inline SVG: each step a bar by phase (rows; the
 *                   monitors' "whole run" first) and time, coloured by
 *                   verdict (html_svg.c), drawn whatever telemetry there is
 *   DUT             identity (DMI, BIOS, profile) and the inventory table
 *   step details    per step its measurements against limits, diagnoses and
 *                   (bounded) logs
 *   telemetry       one inline SVG plot per time series, grouped by unit,
 *                   with the series' limits drawn as dashed lines
 *   run log         run-level log lines (bounded)
 *
 * The markup is written with libxml2's xmlTextWriter (report_xml.c) as
 * well-formed XHTML that HTML5 parsers read the same way: void elements
 * (<meta>) self-close, every other HTML element gets an explicit end tag,
 * SVG shapes (foreign content in HTML5) self-close. Every string from the
 * run goes through xml_safe_text(): valid UTF-8 with control bytes shown
 * as Unicode Control Pictures, so a hostile serial can neither break the
 * markup nor the XML. The telemetry section and the series it keeps are
 * html_svg.c's. */
#include <libxml/parser.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "html_svg.h"
#include "kiln/reports.h"
#include "kiln/textutil.h"
#include "report_util.h"
#include "report_xml.h"

/* Run-level log lines kept, a step's first and last log lines shown. */
#define RUN_NOTES_KEPT 200
#define STEP_LOGS_HEAD 50
#define STEP_LOGS_TAIL 50

/* Durations: "42.0 s", "3m 05s", "2h 07m 12s"; "-" for nonsense. */
#define ELAPSED_STYLE (KILN_ELAPSED_SPACED | KILN_ELAPSED_HMS)

/* ---- text ---- */

static const char *str(const char *s) { return s ? s : ""; }

static void fmt_time(double t, char *buf, size_t n) {
  if (isfinite(t) && t > 0 && t < 1e11)
    kiln_format_time(t, buf, n);
  else
    snprintf(buf, n, "-");
}

/* ---- the sink's state ---- */

struct run_note {
  enum kiln_severity severity;
  char *message;
  double time;
};

struct html_state {
  char *path;
  struct html_plots plots;
  struct run_note *notes;
  size_t n_notes, notes_dropped;
};

/* ---- markup ---- */

/* Written without the writer's indentation, which would put whitespace
 * inside text ("step :"): a newline follows the end of each block-level
 * element instead, which HTML ignores. */
static bool is_block(const char *element) {
  static const char *const blocks[] = {
      "html", "head", "title", "style", "meta", "body", "div",
      "p",    "h2",   "h3",    "table", "tr",   "ul",   "li",
      "svg",  "rect", "line",  "path",  "text"};
  for (size_t i = 0; i < sizeof blocks / sizeof *blocks; i++)
    if (strcmp(element, blocks[i]) == 0)
      return true;
  return false;
}

static void verdict_badge(struct xml_writer *x, const char *label) {
  xml_start(x, "span");
  xml_attrf(x, "class", "badge v-%s", label);
  xml_text(x, label);
  xml_end_full(x);
}

/* ---- head ---- */

/* No '<', '>' or '&': a <style> element's text is raw in HTML. kiln
 * merge's report.html colours its matrix with it too. */
const char report_html_css[] =
    "body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;"
    "margin:0;color:#1f2328;background:#fff;font-size:14px}"
    ".main{padding:0 24px 24px}"
    "h2{border-bottom:1px solid #d0d7de;padding-bottom:4px;margin-top:28px}"
    "h3{margin:18px 0 6px}"
    "table{border-collapse:collapse;margin:6px 0}"
    "th,td{border:1px solid #d0d7de;padding:3px 8px;text-align:left;"
    "vertical-align:top}"
    "th{background:#f6f8fa}"
    "td.num{text-align:right;font-variant-numeric:tabular-nums}"
    "code,.mono{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;"
    "font-size:13px;white-space:pre-wrap;word-break:break-all}"
    ".banner{padding:18px 24px;color:#fff}"
    ".banner .big{font-size:40px;font-weight:700;letter-spacing:1px}"
    ".banner div{margin:3px 0}"
    ".b-PASS{background:#1a7f37}.b-FAIL{background:#cf222e}"
    ".b-ERROR{background:#bc4c00}.b-ABORTED{background:#8250df}"
    ".b-SKIP{background:#6e7781}.b-RUNNING{background:#0969da}"
    ".badge{display:inline-block;padding:1px 7px;border-radius:10px;"
    "color:#fff;font-weight:600;font-size:12px}"
    ".v-PASS{background:#1a7f37}.v-FAIL{background:#cf222e}"
    ".v-ERROR{background:#bc4c00}.v-ABORTED{background:#8250df}"
    ".v-SKIP{background:#6e7781}.v-PENDING{background:#8c959f}"
    ".v-RUNNING{background:#0969da}"
    ".ok{color:#1a7f37;font-weight:600}.bad{color:#cf222e;font-weight:600}"
    ".nav{padding:8px 24px;background:#f6f8fa;border-bottom:1px solid #d0d7de}"
    ".nav a{margin-right:14px}"
    ".failure{border-left:4px solid #cf222e;background:#fff5f5;"
    "padding:6px 10px;margin:6px 0}"
    ".problem{border-left:4px solid #bc4c00;background:#fff8f0;"
    "padding:6px 10px;margin:6px 0}"
    ".plot{display:inline-block;vertical-align:top;margin:6px 10px 14px 0;"
    "width:602px;max-width:100%}"
    ".plot svg{width:100%;height:auto;border:1px solid #d0d7de;"
    "background:#fff}"
    ".plot p{margin:2px 0;font-size:12px;color:#57606a}"
    ".timeline svg{max-width:100%;height:auto;border:1px solid #d0d7de;"
    "background:#fff}"
    ".muted{color:#57606a}"
    ".footer{padding:12px 24px;color:#57606a;border-top:1px solid #d0d7de}";

void report_html_begin(struct xml_writer *x, const char *title,
                       const char *extra_css) {
  xml_check(x, xmlTextWriterWriteDTD(x->w, BAD_CAST "html", NULL, NULL, NULL));
  xml_check(x, xmlTextWriterWriteRaw(x->w, BAD_CAST "\n"));
  xml_start(x, "html");
  xml_attr_raw(x, "xmlns", "http://www.w3.org/1999/xhtml");
  xml_attr_raw(x, "lang", "en");
  xml_start(x, "head");
  xml_start(x, "meta");
  xml_attr_raw(x, "charset", "utf-8");
  xml_end(x);
  xml_start(x, "meta");
  xml_attr_raw(x, "name", "viewport");
  xml_attr_raw(x, "content", "width=device-width, initial-scale=1");
  xml_end(x);
  xml_element(x, "title", NULL, title);
  xml_start(x, "style");
  xml_text(x, report_html_css);
  if (extra_css)
    xml_text(x, extra_css);
  xml_end_full(x);
  xml_end_full(x);
  xml_start(x, "body");
}

void report_html_end(struct xml_writer *x, const char *footer) {
  xml_start(x, "div");
  xml_attr_raw(x, "class", "footer");
  xml_text(x, footer);
  xml_end_full(x);
  xml_end_full(x); /* body */
  xml_end_full(x); /* html */
  if (!x->failed)
    xml_check(x, xmlTextWriterEndDocument(x->w));
}

/* ---- verdict banner ---- */

static void write_banner(struct xml_writer *x, const struct kiln_run *run) {
  enum kiln_verdict v = report_run_verdict(run);
  const char *label = run->finished ? kiln_verdict_name(v) : "RUNNING";
  struct report_counts c = report_count_run(run);
  char parts[224], counts[256], stamp[40], span[48];
  report_counts_text(&c, parts, sizeof parts);
  snprintf(counts, sizeof counts, "%zu step%s: %s", c.total,
           c.total == 1 ? "" : "s", parts);
  xml_start(x, "div");
  xml_attrf(x, "class", "banner b-%s", label);
  xml_attr_raw(x, "id", "verdict");
  xml_attr_raw(x, "data-verdict", run->finished ? kiln_verdict_name(v) : "");
  xml_start(x, "div");
  xml_attr_raw(x, "class", "big");
  if (run->finished)
    xml_textf(x, "%s \xe2\x80\x94 exit code %d", kiln_verdict_name(v),
              kiln_verdict_exit_code(v));
  else
    xml_text(x, "NOT FINISHED");
  xml_end_full(x);
  if (!run->finished) {
    fmt_time(kiln_now(), stamp, sizeof stamp);
    xml_start(x, "div");
    xml_textf(x,
              "The run has not ended: this page was last written at %s. If "
              "the run is no longer going, the node stopped here.",
              stamp);
    xml_end_full(x);
  }
  xml_element(x, "div", NULL, counts);
  xml_start(x, "div");
  xml_text(x, "DUT serial ");
  xml_element(x, "b", NULL, str(run->dut.serial));
  xml_text(x, " \xc2\xb7 host ");
  xml_element(x, "b", NULL, str(run->dut.hostname));
  xml_text(x, " \xc2\xb7 profile ");
  xml_element(x, "b", NULL, str(run->profile));
  xml_end_full(x);
  fmt_time(run->start, stamp, sizeof stamp);
  kiln_elapsed_text(run->end - run->start, ELAPSED_STYLE, span, sizeof span);
  xml_start(x, "div");
  xml_textf(x, "started %s", stamp);
  if (run->finished && run->end > 0)
    xml_textf(x, ", ran %s", span);
  xml_end_full(x);
  if (run->abort_reason) {
    xml_start(x, "div");
    xml_text(x, "aborted: ");
    xml_text(x, run->abort_reason);
    xml_end_full(x);
  }
  xml_end_full(x);
}

static void write_nav(struct xml_writer *x) {
  static const char *const links[][2] = {
      {"#failures", "Failures"},    {"#steps", "Steps"},
      {"#timeline", "Timeline"},    {"#dut", "DUT"},
      {"#details", "Step details"}, {"#telemetry", "Telemetry"},
      {"#runlog", "Run log"}};
  xml_start(x, "div");
  xml_attr_raw(x, "class", "nav");
  for (size_t i = 0; i < sizeof links / sizeof *links; i++) {
    xml_start(x, "a");
    xml_attr_raw(x, "href", links[i][0]);
    xml_text(x, links[i][1]);
    xml_end_full(x);
  }
  xml_end_full(x);
}

/* ---- failures ---- */

static void step_link(struct xml_writer *x, const struct kiln_step_result *s) {
  xml_start(x, "a");
  xml_attrf(x, "href", "#step-%zu", s->index + 1);
  xml_element(x, "b", NULL, s->id);
  xml_end_full(x);
}

static void write_failures(struct xml_writer *x, const struct kiln_run *run) {
  char line[1024], stamp[40];
  size_t n_fail = 0, n_problem = 0;
  xml_element_id(x, "h2", "failures", "Failures");
  for (size_t i = 0; i < run->n_steps; i++) {
    const struct kiln_step_result *s = &run->steps[i];
    for (size_t k = 0; k < s->n_diagnoses; k++) {
      const struct kiln_diagnosis *d = &s->diagnoses[k];
      if (d->type != KILN_DIAG_FAIL)
        continue;
      n_fail++;
      xml_start(x, "div");
      xml_attr_raw(x, "class", "failure");
      xml_attr_raw(x, "data-kind", "diagnosis");
      step_link(x, s);
      xml_text(x, ": ");
      xml_element(x, "b", NULL, str(d->symptom));
      if (str(d->hwid)[0]) {
        xml_text(x, " on ");
        xml_element(x, "code", NULL, d->hwid);
      }
      fmt_time(d->time, stamp, sizeof stamp);
      xml_start(x, "div");
      xml_text(x, str(d->message));
      xml_end_full(x);
      xml_element(x, "div", "muted", stamp);
      xml_end_full(x);
    }
    for (size_t k = 0; k < s->n_measurements; k++) {
      if (s->measurements[k].pass)
        continue;
      n_fail++;
      report_describe_measurement(&s->measurements[k], line, sizeof line);
      xml_start(x, "div");
      xml_attr_raw(x, "class", "failure");
      xml_attr_raw(x, "data-kind", "measurement");
      step_link(x, s);
      xml_text(x, ": ");
      xml_element(x, "b", NULL, "measurement out of limits");
      xml_start(x, "div");
      xml_text(x, line);
      xml_end_full(x);
      xml_end_full(x);
    }
  }
  if (!n_fail)
    xml_element(x, "p", "ok",
                "No failures: no FAIL diagnosis and no measurement "
                "out of its limits.");
  for (size_t i = 0; i < run->n_steps; i++) {
    const struct kiln_step_result *s = &run->steps[i];
    const char *why = report_unfinished_reason(s);
    if (!why && s->verdict != KILN_ERROR && s->verdict != KILN_ABORTED)
      continue;
    if (!why)
      why = s->reason ? s->reason : "no reason given";
    if (!n_problem++)
      xml_element(x, "h3", NULL,
                  "Steps that did not complete (no verdict on the hardware: "
                  "retest)");
    xml_start(x, "div");
    xml_attr_raw(x, "class", "problem");
    step_link(x, s);
    xml_text(x, " ");
    verdict_badge(x, report_step_label(s));
    xml_text(x, " ");
    xml_text(x, why);
    xml_end_full(x);
  }
}

/* ---- steps ---- */

/* <table class=cls> and its row of column heads, up to a NULL; the caller
 * adds the rows and ends the table. */
static void start_table(struct xml_writer *x, const char *cls,
                        const char *const *heads) {
  xml_start(x, "table");
  xml_attr_raw(x, "class", cls);
  xml_start(x, "tr");
  for (const char *const *h = heads; *h; h++)
    xml_element(x, "th", NULL, *h);
  xml_end_full(x);
}

static void key_figure(const struct kiln_step_result *s, char *buf, size_t n) {
  const struct kiln_measurement *m = kiln_step_key_measurement(s);
  buf[0] = 0;
  if (m)
    report_describe_measurement(m, buf, n);
}

static void step_note(const struct kiln_step_result *s, char *buf, size_t n) {
  const char *unfinished = report_unfinished_reason(s);
  buf[0] = 0;
  if (unfinished)
    snprintf(buf, n, "%s", unfinished);
  else if (s->verdict == KILN_FAIL)
    kiln_step_failure_text(s, buf, n);
  else if (s->reason)
    snprintf(buf, n, "%s", s->reason);
}

static void write_step_table(struct xml_writer *x, const struct kiln_run *run) {
  static const char *const heads[] = {"#",       "Step",     "Target",
                                      "Verdict", "Duration", "Key figure",
                                      "Notes",   NULL};
  char buf[1024], span[48];
  xml_element_id(x, "h2", "steps", "Steps");
  if (!run->n_steps) {
    xml_element(x, "p", "muted", "No steps planned.");
    return;
  }
  start_table(x, "steps", heads);
  for (size_t i = 0; i < run->n_steps; i++) {
    const struct kiln_step_result *s = &run->steps[i];
    xml_start(x, "tr");
    xml_attr(x, "data-step", s->id);
    xml_start(x, "td");
    xml_attr_raw(x, "class", "num");
    xml_textf(x, "%zu", i + 1);
    xml_end_full(x);
    xml_start(x, "td");
    step_link(x, s);
    xml_end_full(x);
    xml_element(x, "td", "mono", str(s->target));
    xml_start(x, "td");
    verdict_badge(x, report_step_label(s));
    xml_end_full(x);
    kiln_elapsed_text(report_step_duration(s), ELAPSED_STYLE, span,
                      sizeof span);
    xml_element(x, "td", "num", s->start > 0 ? span : "-");
    key_figure(s, buf, sizeof buf);
    xml_element(x, "td", NULL, buf);
    step_note(s, buf, sizeof buf);
    xml_element(x, "td", NULL, buf);
    xml_end_full(x);
  }
  xml_end_full(x);
}

/* ---- DUT and inventory ---- */

static void field_row(struct xml_writer *x, const char *field,
                      const char *label, const char *value) {
  xml_start(x, "tr");
  xml_element(x, "th", NULL, label);
  xml_start(x, "td");
  xml_attr_raw(x, "data-field", field);
  xml_text(x, str(value));
  xml_end_full(x);
  xml_end_full(x);
}

static void write_dut(struct xml_writer *x, const struct kiln_run *run) {
  const struct kiln_dut *d = &run->dut;
  char stamp[40];
  xml_element_id(x, "h2", "dut", "Device under test");
  xml_start(x, "table");
  xml_attr_raw(x, "class", "dut");
  field_row(x, "serial", "Serial", d->serial);
  field_row(x, "hostname", "Host", d->hostname);
  char *system = kiln_strdup_printf(
      "%s%s%s", str(d->vendor), str(d->vendor)[0] ? " " : "", str(d->product));
  field_row(x, "system", "System", system);
  free(system);
  field_row(x, "board_serial", "Board serial", d->board_serial);
  char *bios = kiln_strdup_printf(
      "%s%s%s%s%s%s", str(d->bios_vendor), str(d->bios_vendor)[0] ? " " : "",
      str(d->bios_version), str(d->bios_date)[0] ? " (" : "", str(d->bios_date),
      str(d->bios_date)[0] ? ")" : "");
  field_row(x, "bios", "BIOS", bios);
  free(bios);
  char *profile = kiln_strdup_printf("%s (%s)", str(run->profile),
                                     str(run->profile_source));
  field_row(x, "profile", "Profile", profile);
  free(profile);
  field_row(x, "kiln_version", "kiln", run->kiln_version);
  field_row(x, "command_line", "Command", run->command_line);
  field_row(x, "report_dir", "Reports", run->report_dir);
  fmt_time(run->start, stamp, sizeof stamp);
  field_row(x, "start", "Started", stamp);
  fmt_time(run->end, stamp, sizeof stamp);
  field_row(x, "end", "Ended",
            run->finished && run->end > 0 ? stamp : "not finished");
  xml_end_full(x);

  xml_element(x, "h3", NULL, "Inventory");
  if (!run->n_hardware) {
    xml_element(x, "p", "muted", "No inventory was taken.");
    return;
  }
  static const char *const heads[] = {"Kind",    "Location",    "Name",
                                      "Serial",  "Part number", "Manufacturer",
                                      "Version", NULL};
  start_table(x, "inventory", heads);
  for (size_t i = 0; i < run->n_hardware; i++) {
    const struct kiln_hw_info *h = &run->hardware[i];
    xml_start(x, "tr");
    xml_attr(x, "data-hw", str(h->id));
    xml_element(x, "td", NULL, str(h->kind));
    xml_element(x, "td", "mono", str(h->location));
    xml_element(x, "td", NULL, str(h->name));
    xml_element(x, "td", "mono", str(h->serial));
    xml_element(x, "td", "mono", str(h->part_number));
    xml_element(x, "td", NULL, str(h->manufacturer));
    xml_element(x, "td", NULL, str(h->version));
    xml_end_full(x);
  }
  xml_end_full(x);
}

/* ---- step details ---- */

static void write_measurements(struct xml_writer *x,
                               const struct kiln_step_result *s) {
  static const char *const heads[] = {
      "Measurement", "Hardware", "Value", "Unit", "Limit", "Result", NULL};
  char value[48], limit[96];
  start_table(x, "measurements", heads);
  for (size_t i = 0; i < s->n_measurements; i++) {
    const struct kiln_measurement *m = &s->measurements[i];
    xml_start(x, "tr");
    xml_attr_raw(x, "data-pass", m->pass ? "true" : "false");
    xml_element(x, "td", NULL, str(m->name));
    xml_element(x, "td", "mono", str(m->hwid));
    xml_start(x, "td");
    xml_attr_raw(x, "class", "num");
    kiln_measurement_figures(m, value, sizeof value, limit, sizeof limit);
    xml_text(x, value);
    xml_end_full(x);
    xml_element(x, "td", NULL, html_unit(m->unit));
    xml_element(x, "td", "mono", limit[0] ? limit : "none");
    xml_element(x, "td", m->pass ? "ok" : "bad",
                m->pass ? "\xe2\x9c\x93 PASS" : "\xe2\x9c\x97 FAIL");
    xml_end_full(x);
  }
  xml_end_full(x);
}

static void write_diagnoses(struct xml_writer *x,
                            const struct kiln_step_result *s) {
  xml_start(x, "ul");
  xml_attr_raw(x, "class", "diagnoses");
  for (size_t i = 0; i < s->n_diagnoses; i++) {
    const struct kiln_diagnosis *d = &s->diagnoses[i];
    xml_start(x, "li");
    const char *type = report_diag_type_name(d->type);
    xml_element(x, "span",
                d->type == KILN_DIAG_FAIL   ? "bad"
                : d->type == KILN_DIAG_PASS ? "ok"
                                            : "muted",
                type);
    xml_text(x, " ");
    xml_element(x, "b", NULL, str(d->symptom));
    if (str(d->hwid)[0]) {
      xml_text(x, " on ");
      xml_element(x, "code", NULL, d->hwid);
    }
    xml_text(x, ": ");
    xml_text(x, str(d->message));
    xml_end_full(x);
  }
  xml_end_full(x);
}

static void log_line(struct xml_writer *x, enum kiln_severity sev,
                     const char *message, double time) {
  char stamp[40];
  fmt_time(time, stamp, sizeof stamp);
  xml_start(x, "tr");
  xml_element(x, "td", "mono", stamp);
  xml_element(x, "td", sev >= KILN_SEV_ERROR ? "bad" : NULL,
              kiln_severity_name(sev));
  xml_element(x, "td", "mono", str(message));
  xml_end_full(x);
}

static void write_logs(struct xml_writer *x, const struct kiln_step_result *s) {
  xml_start(x, "table");
  xml_attr_raw(x, "class", "logs");
  for (size_t i = 0; i < s->n_logs; i++) {
    if (s->n_logs > STEP_LOGS_HEAD + STEP_LOGS_TAIL && i == STEP_LOGS_HEAD) {
      xml_start(x, "tr");
      xml_start(x, "td");
      xml_attr_raw(x, "colspan", "3");
      xml_attr_raw(x, "class", "muted");
      xml_textf(x, "\xe2\x80\xa6 %zu more lines in ocp.jsonl \xe2\x80\xa6",
                s->n_logs - STEP_LOGS_HEAD - STEP_LOGS_TAIL);
      xml_end_full(x);
      xml_end_full(x);
      i = s->n_logs - STEP_LOGS_TAIL;
    }
    log_line(x, s->logs[i].severity, s->logs[i].message, s->logs[i].time);
  }
  xml_end_full(x);
}

static void write_step_details(struct xml_writer *x,
                               const struct kiln_run *run) {
  char stamp[40], span[48];
  xml_element_id(x, "h2", "details", "Step details");
  for (size_t i = 0; i < run->n_steps; i++) {
    const struct kiln_step_result *s = &run->steps[i];
    xml_start(x, "div");
    xml_attr_raw(x, "class", "step");
    xml_attrf(x, "id", "step-%zu", s->index + 1);
    xml_start(x, "h3");
    xml_textf(x, "%zu. ", i + 1);
    xml_text(x, s->id);
    xml_text(x, " ");
    verdict_badge(x, report_step_label(s));
    xml_end_full(x);
    xml_start(x, "p");
    xml_attr_raw(x, "class", "muted");
    xml_text(x, "module ");
    xml_element(x, "code", NULL, str(s->module));
    xml_text(x, " on ");
    xml_element(x, "code", NULL, str(s->target));
    fmt_time(s->start, stamp, sizeof stamp);
    kiln_elapsed_text(report_step_duration(s), ELAPSED_STYLE, span,
                      sizeof span);
    char phase[32];
    xml_textf(x, ", %s", html_phase_name(s->phase, phase, sizeof phase));
    if (s->start > 0)
      xml_textf(x, ", started %s, ran %s", stamp, span);
    if (s->reason) {
      xml_text(x, "; reason: ");
      xml_text(x, s->reason);
    }
    xml_end_full(x);
    if (s->n_measurements)
      write_measurements(x, s);
    if (s->n_diagnoses)
      write_diagnoses(x, s);
    if (s->n_logs)
      write_logs(x, s);
    if (!s->n_measurements && !s->n_diagnoses && !s->n_logs)
      xml_element(x, "p", "muted", "Nothing reported.");
    xml_end_full(x);
  }
}

static void write_run_log(struct xml_writer *x, const struct html_state *st) {
  xml_element_id(x, "h2", "runlog", "Run log");
  if (!st->n_notes) {
    xml_element(x, "p", "muted", "No run-level log lines.");
    return;
  }
  if (st->notes_dropped)
    xml_element(x, "p", "muted",
                "Only the first lines; the rest are in "
                "ocp.jsonl.");
  xml_start(x, "table");
  xml_attr_raw(x, "class", "logs");
  for (size_t i = 0; i < st->n_notes; i++)
    log_line(x, st->notes[i].severity, st->notes[i].message, st->notes[i].time);
  xml_end_full(x);
}

/* What a page is written from. */
struct page {
  const struct kiln_run *run;
  const struct html_state *st;
};

static void write_document(struct xml_writer *x, const void *ctx) {
  const struct kiln_run *run = ((const struct page *)ctx)->run;
  const struct html_state *st = ((const struct page *)ctx)->st;
  char *title = kiln_strdup_printf(
      "kiln %s: %s",
      run->finished ? kiln_verdict_name(report_run_verdict(run))
                    : "NOT FINISHED",
      str(run->dut.serial));
  report_html_begin(x, title, NULL);
  free(title);
  write_banner(x, run);
  write_nav(x);
  xml_start(x, "div");
  xml_attr_raw(x, "class", "main");
  write_failures(x, run);
  write_step_table(x, run);
  html_write_timeline(x, run);
  write_dut(x, run);
  write_step_details(x, run);
  html_write_telemetry(x, run, &st->plots);
  write_run_log(x, st);
  xml_end_full(x);
  char stamp[40];
  fmt_time(kiln_now(), stamp, sizeof stamp);
  char *footer = kiln_strdup_printf(
      "kiln %s \xc2\xb7 written %s \xc2\xb7 every event is in ocp.jsonl, "
      "every telemetry sample in telemetry.csv",
      str(run->kiln_version), stamp);
  report_html_end(x, footer);
  free(footer);
}

/* Writes st->path atomically; on failure the previous page stays. */
static int write_page(struct kiln_sink *sink, const struct kiln_run *run) {
  static const struct xml_style style = {.line_after = is_block};
  struct html_state *st = sink->state;
  struct page page = {run, st};
  return xml_write_file(st->path, &style, write_document, &page, sink->err,
                        sizeof sink->err);
}

/* ---- sink callbacks ---- */

static int html_run_event(struct kiln_sink *sink, const struct kiln_run *run) {
  return write_page(sink, run);
}

static int html_step_event(struct kiln_sink *sink, const struct kiln_run *run,
                           const struct kiln_step_result *s) {
  return write_page(sink, run);
}

static int html_log(struct kiln_sink *sink, const struct kiln_run *run,
                    const struct kiln_step_result *s,
                    const struct kiln_log *l) {
  struct html_state *st = sink->state;
  if (s)
    return 0; /* in the model */
  if (st->n_notes == RUN_NOTES_KEPT) {
    st->notes_dropped++;
    return 0;
  }
  if (!st->notes)
    st->notes = kiln_xcalloc(RUN_NOTES_KEPT, sizeof *st->notes);
  st->notes[st->n_notes++] =
      (struct run_note){.severity = l->severity,
                        .message = kiln_xstrdup(l->message),
                        .time = l->time};
  return 0;
}

static int html_series_start(struct kiln_sink *sink, const struct kiln_run *run,
                             const struct kiln_step_result *s,
                             const struct kiln_series *se) {
  struct html_state *st = sink->state;
  html_plots_start(&st->plots, se, s);
  return 0;
}

static int html_series_element(struct kiln_sink *sink,
                               const struct kiln_run *run,
                               const struct kiln_step_result *s,
                               const struct kiln_series *se, double value,
                               double time) {
  struct html_state *st = sink->state;
  html_plots_add(&st->plots, se, s, value, time);
  return 0;
}

static void html_close(struct kiln_sink *sink) {
  struct html_state *st = sink->state;
  html_plots_free(&st->plots);
  for (size_t i = 0; i < st->n_notes; i++)
    free(st->notes[i].message);
  free(st->notes);
  free(st->path);
  free(st);
  free(sink);
}

struct kiln_sink *kiln_html_sink_open(const char *path, char *err, size_t n) {
  if (!path || !path[0]) {
    snprintf(err, n, "report.html: no path given");
    return NULL;
  }
  xmlInitParser(); /* idempotent; libxml2 wants it before use by threads */
  struct html_state *st = kiln_xcalloc(1, sizeof *st);
  st->path = kiln_xstrdup(path);
  struct kiln_sink *sink = kiln_xcalloc(1, sizeof *sink);
  sink->name = "report.html";
  sink->state = st;
  sink->run_start = html_run_event;
  sink->step_start = html_step_event;
  sink->log = html_log;
  sink->series_start = html_series_start;
  sink->series_element = html_series_element;
  sink->step_end = html_step_event;
  sink->run_end = html_run_event;
  sink->close = html_close;
  return sink;
}
