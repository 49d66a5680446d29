/* TAP, version 13 by default (Debian 12's prove 3.44 rejects "TAP version
 * 14"), 14 on request. One test point per step, in plan order:
 *   PASS                           -> ok N - <step id>
 *   SKIP                           -> ok N - <step id> # SKIP <reason>
 *   FAIL, ERROR, ABORTED, and a step not finished (PENDING or RUNNING: the
 *   file is rewritten mid-run, or the node died) -> not ok N - <step id>
 * each followed by a YAML diagnostics block. Descriptions escape '\' and
 * '#' as TAP 14 says, and show control bytes as \xNN (a literal backslash
 * is always "\\", so this stays unambiguous). YAML scalars are
 * double-quoted with escapes that both YAML 1.1 (python3-yaml) and
 * TAP::Parser's YAMLish reader understand. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kiln/reports.h"
#include "kiln/textutil.h"
#include "report_util.h"

/* ---- descriptions ---- */

static void put_description(FILE *f, const char *s) {
  char *valid = kiln_utf8_sanitize(s);
  for (const unsigned char *p = (const unsigned char *)valid; *p; p++) {
    if (*p == '\\' || *p == '#')
      fprintf(f, "\\%c", *p);
    else if (*p < 0x20 || *p == 0x7f)
      fprintf(f, "\\x%02x", *p);
    else
      fputc(*p, f);
  }
  free(valid);
}

/* ---- YAML scalars ---- */

/* Characters YAML may not carry raw in a double-quoted scalar: C1
 * controls (and NEL, a line break to YAML), the line and paragraph
 * separators, and the non-characters U+FFFE/U+FFFF. */
static bool yaml_needs_escape(uint32_t cp) {
  return (cp >= 0x80 && cp <= 0x9f) || cp == 0x2028 || cp == 0x2029 ||
         cp == 0xfffe || cp == 0xffff;
}

static void put_ascii_escaped(FILE *f, unsigned char c) {
  switch (c) {
  case '"': fputs("\\\"", f); return;
  case '\\': fputs("\\\\", f); return;
  case '\t': fputs("\\t", f); return;
  case '\n': fputs("\\n", f); return;
  case '\r': fputs("\\r", f); return;
  }
  if (c < 0x20 || c == 0x7f)
    fprintf(f, "\\x%02x", c);
  else
    fputc(c, f);
}

static void put_yaml_string(FILE *f, const char *s) {
  char *valid = kiln_utf8_sanitize(s);
  const unsigned char *p = (const unsigned char *)valid;
  fputc('"', f);
  while (*p) {
    if (*p < 0x80) {
      put_ascii_escaped(f, *p++);
      continue;
    }
    uint32_t cp;
    size_t len = kiln_utf8_decode((const char *)p, &cp);
    if (cp <= 0xff && yaml_needs_escape(cp))
      fprintf(f, "\\x%02x", (unsigned)cp);
    else if (yaml_needs_escape(cp))
      fprintf(f, "\\u%04x", (unsigned)cp);
    else
      fwrite(p, 1, len, f);
    p += len;
  }
  fputc('"', f);
  free(valid);
}

/* A YAML 1.1 float needs a '.' before its exponent ("1.0e+20"), or
 * python3-yaml reads it as a string. */
static void put_yaml_number(FILE *f, double v) {
  if (isnan(v)) {
    fputs(".nan", f);
    return;
  }
  if (isinf(v)) {
    fputs(v > 0 ? ".inf" : "-.inf", f);
    return;
  }
  char buf[40];
  snprintf(buf, sizeof buf, "%.15g", v);
  char *e = strchr(buf, 'e');
  if (e && !strchr(buf, '.'))
    fprintf(f, "%.*s.0%s", (int)(e - buf), buf, e);
  else
    fputs(buf, f);
}

/* A measured figure or a limit, as people read it everywhere else
 * (kiln_figure_text), still a YAML number. */
static void put_yaml_figure(FILE *f, double v) {
  if (!isfinite(v)) {
    put_yaml_number(f, v);
    return;
  }
  char buf[48];
  kiln_figure_text(v, buf, sizeof buf);
  char *e = strchr(buf, 'e');
  if (e && !strchr(buf, '.'))
    fprintf(f, "%.*s.0%s", (int)(e - buf), buf, e);
  else
    fputs(buf, f);
}

static void put_key_string(FILE *f, const char *indent, const char *key,
                           const char *value) {
  fprintf(f, "%s%s: ", indent, key);
  put_yaml_string(f, value);
  fputc('\n', f);
}

static void put_key_number(FILE *f, const char *indent, const char *key,
                           double value) {
  fprintf(f, "%s%s: ", indent, key);
  put_yaml_number(f, value);
  fputc('\n', f);
}

static void put_key_figure(FILE *f, const char *indent, const char *key,
                           double value) {
  fprintf(f, "%s%s: ", indent, key);
  put_yaml_figure(f, value);
  fputc('\n', f);
}

/* ---- the diagnostics block ---- */

static void put_measurements(FILE *f, const struct kiln_step_result *s) {
  if (!s->n_measurements)
    return;
  fputs("  measurements:\n", f);
  for (size_t i = 0; i < s->n_measurements; i++) {
    const struct kiln_measurement *m = &s->measurements[i];
    put_key_string(f, "    - ", "name", m->name);
    put_key_figure(f, "      ", "value", m->value);
    if (m->unit[0])
      put_key_string(f, "      ", "unit", m->unit);
    if (m->limit.has_lo)
      put_key_figure(f, "      ", "lo", m->limit.lo);
    if (m->limit.has_hi)
      put_key_figure(f, "      ", "hi", m->limit.hi);
    if (m->hwid[0])
      put_key_string(f, "      ", "hwid", m->hwid);
    fprintf(f, "      pass: %s\n", m->pass ? "true" : "false");
  }
}

static void put_failures(FILE *f, const struct kiln_step_result *s) {
  bool any = false;
  for (size_t i = 0; i < s->n_diagnoses; i++) {
    const struct kiln_diagnosis *d = &s->diagnoses[i];
    if (d->type != KILN_DIAG_FAIL)
      continue;
    if (!any)
      fputs("  failures:\n", f);
    any = true;
    put_key_string(f, "    - ", "symptom", d->symptom);
    put_key_string(f, "      ", "message", d->message);
    if (d->hwid[0])
      put_key_string(f, "      ", "hwid", d->hwid);
  }
}

static void put_diagnostics(FILE *f, const struct kiln_step_result *s) {
  fputs("  ---\n", f);
  put_key_string(f, "  ", "verdict", report_step_label(s));
  put_key_string(f, "  ", "module", s->module);
  put_key_string(f, "  ", "target", s->target);
  /* Milliseconds are all a duration means here. */
  put_key_number(f, "  ", "duration_s",
                 round(report_step_duration(s) * 1000) / 1000);
  const char *reason = report_unfinished_reason(s);
  if (!reason)
    reason = s->reason;
  if (reason)
    put_key_string(f, "  ", "reason", reason);
  if (s->state == KILN_STEP_DONE && s->verdict == KILN_FAIL) {
    char message[1024];
    kiln_step_failure_text(s, message, sizeof message);
    put_key_string(f, "  ", "message", message);
  }
  put_measurements(f, s);
  put_failures(f, s);
  fputs("  ...\n", f);
}

/* ---- public API ---- */

void kiln_tap_plan(FILE *f, int version, size_t n_steps) {
  fprintf(f, "TAP version %d\n", version == 14 ? 14 : 13);
  if (n_steps)
    fprintf(f, "1..%zu\n", n_steps);
  else
    fputs("1..0 # SKIP no steps planned\n", f);
}

void kiln_tap_point(FILE *f, size_t number, const struct kiln_step_result *s) {
  bool done = s->state == KILN_STEP_DONE;
  bool ok = done && (s->verdict == KILN_PASS || s->verdict == KILN_SKIP);
  fprintf(f, "%s %zu - ", ok ? "ok" : "not ok", number);
  put_description(f, s->id);
  if (done && s->verdict == KILN_SKIP) {
    fputs(" # SKIP ", f);
    put_description(f, s->reason ? s->reason : "no reason given");
  }
  fputc('\n', f);
  put_diagnostics(f, s);
}

/* A comment line of "label value" pairs, control bytes shown as \xNN. */
static void put_comment_field(FILE *f, const char *label, const char *value) {
  char *shown = kiln_escape_controls(value);
  fprintf(f, " %s %s", label, shown);
  free(shown);
}

struct tap_doc {
  const struct kiln_run *run;
  int version;
};

static int emit_tap(FILE *f, const void *ctx) {
  const struct tap_doc *doc = ctx;
  const struct kiln_run *run = doc->run;
  kiln_tap_plan(f, doc->version, run->n_steps);
  fputs("#", f);
  put_comment_field(f, "kiln", run->kiln_version);
  put_comment_field(f, "serial", run->dut.serial);
  put_comment_field(f, "host", run->dut.hostname);
  put_comment_field(f, "profile", run->profile);
  fputc('\n', f);
  for (size_t i = 0; i < run->n_steps; i++)
    kiln_tap_point(f, i + 1, &run->steps[i]);
  if (run->finished)
    fprintf(f, "# run verdict: %s\n",
            kiln_verdict_name(report_run_verdict(run)));
  else
    fprintf(f, "# run not finished: %zu of %zu steps done\n",
            run->n_steps - report_count_run(run).unfinished, run->n_steps);
  return 0;
}

int kiln_tap_write(const struct kiln_run *run, int version, const char *path,
                   char *err, size_t n) {
  struct tap_doc doc = {run, version};
  return report_write_atomic(path, emit_tap, &doc, err, n);
}
