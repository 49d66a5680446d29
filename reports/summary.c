/* The human summary: a header naming the DUT and the run, one row per step
 * (id, verdict, duration, key figure), then each failure's one-line
 * diagnosis, then the reasons for SKIP, ERROR, ABORTED and unfinished
 * steps. Every string is shown with its control bytes as \xNN, so a
 * hostile serial or message cannot break the layout or the terminal. */
#include <stdlib.h>
#include <string.h>

#include "kiln/reports.h"
#include "kiln/textutil.h"
#include "report_util.h"

static void put_escaped(FILE *f, const char *s) {
  char *shown = kiln_escape_controls(s);
  fputs(shown, f);
  free(shown);
}

/* Columns are counted in characters, not bytes. */
static void put_padded(FILE *f, const char *s, size_t width) {
  fputs(s, f);
  for (size_t w = kiln_text_columns(s); w < width; w++)
    fputc(' ', f);
}

/* "42.0s", "3m 05s", "2h 07m": seconds alone unspaced, as summary.txt has
 * always shown them; "-" for nonsense (a negative or unknown length). */
static void format_duration(double seconds, char *buf, size_t n) {
  kiln_elapsed_text(seconds, seconds < 60 ? 0 : KILN_ELAPSED_SPACED, buf, n);
}

/* ---- header ---- */

static void put_field(FILE *f, const char *label, const char *value) {
  fprintf(f, "  %-9s", label);
  put_escaped(f, value);
  fputc('\n', f);
}

/* "vendor product (board serial X)", each part only when DMI had it. */
static void put_system(FILE *f, const struct kiln_dut *dut) {
  const char *vendor = dut->vendor ? dut->vendor : "";
  const char *product = dut->product ? dut->product : "";
  const char *board = dut->board_serial ? dut->board_serial : "";
  char *system = kiln_strdup_printf(
      "%s%s%s%s%s%s", vendor, vendor[0] && product[0] ? " " : "", product,
      board[0] ? " (board serial " : "", board, board[0] ? ")" : "");
  put_field(f, "system", system[0] ? system : "unknown (no DMI data)");
  free(system);
}

static void put_header(FILE *f, const struct kiln_run *run) {
  char stamp[40], span[32];
  fputs("kiln ", f);
  put_escaped(f, run->kiln_version);
  fputs(" run summary\n", f);
  put_field(f, "serial", run->dut.serial);
  put_field(f, "host", run->dut.hostname);
  put_system(f, &run->dut);
  const struct kiln_dut *dut = &run->dut;
  if (dut->bios_version && dut->bios_version[0]) {
    char *bios = kiln_strdup_printf(
        "%s %s (%s)", dut->bios_vendor ? dut->bios_vendor : "",
        dut->bios_version, dut->bios_date ? dut->bios_date : "");
    put_field(f, "bios", bios);
    free(bios);
  }
  fprintf(f, "  %-9s", "profile");
  put_escaped(f, run->profile);
  fputs(" (", f);
  put_escaped(f, run->profile_source);
  fputs(")\n", f);
  kiln_format_time(run->start, stamp, sizeof stamp);
  fprintf(f, "  %-9s%s\n", "start", run->start > 0 ? stamp : "-");
  kiln_format_time(run->end, stamp, sizeof stamp);
  format_duration(run->end - run->start, span, sizeof span);
  if (run->finished && run->end > 0)
    fprintf(f, "  %-9s%s (%s)\n", "end", stamp, span);
  else
    fprintf(f, "  %-9s%s\n", "end", "not finished");
  struct report_counts c = report_count_run(run);
  enum kiln_verdict v = report_run_verdict(run);
  if (run->finished)
    fprintf(f, "  %-9s%s (exit %d): ", "verdict", kiln_verdict_name(v),
            kiln_verdict_exit_code(v));
  else
    fprintf(f, "  %-9s%s: ", "verdict", "not finished yet");
  char counts[256];
  report_counts_text(&c, counts, sizeof counts);
  fprintf(f, "%s\n", counts[0] ? counts : "no steps");
  if (run->abort_reason) {
    put_field(f, "aborted", run->abort_reason);
  }
}

/* ---- the table ---- */

static char *key_figure(const struct kiln_step_result *s) {
  const struct kiln_measurement *m = kiln_step_key_measurement(s);
  if (!m)
    return kiln_xstrdup("");
  char value[48];
  kiln_figure_text(m->value, value, sizeof value);
  char *raw =
      kiln_strdup_printf("%s %s%s%s%s", m->name, value, m->unit[0] ? " " : "",
                         m->unit, m->pass ? "" : " (out of limits)");
  char *shown = kiln_escape_controls(raw);
  free(raw);
  return shown;
}

static void put_table(FILE *f, const struct kiln_run *run) {
  size_t id_width = strlen("STEP");
  char **ids = kiln_xcalloc(run->n_steps, sizeof *ids);
  for (size_t i = 0; i < run->n_steps; i++) {
    ids[i] = kiln_escape_controls(run->steps[i].id);
    size_t w = kiln_text_columns(ids[i]);
    if (w > id_width)
      id_width = w;
  }
  fputc('\n', f);
  put_padded(f, "STEP", id_width + 2);
  fprintf(f, "%-9s%9s  %s\n", "VERDICT", "DURATION", "KEY FIGURE");
  for (size_t i = 0; i < run->n_steps; i++) {
    const struct kiln_step_result *s = &run->steps[i];
    char duration[32] = "-";
    if (s->start > 0)
      format_duration(report_step_duration(s), duration, sizeof duration);
    char *figure = key_figure(s);
    put_padded(f, ids[i], id_width + 2);
    fprintf(f, "%-9s%9s%s%s\n", report_step_label(s), duration,
            figure[0] ? "  " : "", figure);
    free(figure);
    free(ids[i]);
  }
  free(ids);
}

/* ---- failures and reasons ---- */

static void put_step_line(FILE *f, const struct kiln_step_result *s,
                          const char *label, const char *text) {
  fputs("  ", f);
  put_escaped(f, s->id);
  fprintf(f, "%s%s: ", label[0] ? " " : "", label);
  put_escaped(f, text);
  fputc('\n', f);
}

static void put_failures(FILE *f, const struct kiln_run *run) {
  bool any = false;
  for (size_t i = 0; i < run->n_steps; i++) {
    const struct kiln_step_result *s = &run->steps[i];
    if (s->state != KILN_STEP_DONE || s->verdict != KILN_FAIL)
      continue;
    if (!any)
      fputs("\nFailures\n", f);
    any = true;
    char text[1024];
    kiln_step_failure_text(s, text, sizeof text);
    put_step_line(f, s, "", text);
  }
}

static void put_reasons(FILE *f, const struct kiln_run *run) {
  bool any = false;
  for (size_t i = 0; i < run->n_steps; i++) {
    const struct kiln_step_result *s = &run->steps[i];
    const char *reason = report_unfinished_reason(s);
    if (!reason) {
      if (s->verdict == KILN_PASS || s->verdict == KILN_FAIL)
        continue;
      reason = s->reason ? s->reason : "no reason given";
    }
    if (!any)
      fputs("\nSkipped, errors and unfinished steps\n", f);
    any = true;
    put_step_line(f, s, report_step_label(s), reason);
  }
}

/* The inventoried parts, one line each. */
static void put_inventory(FILE *f, const struct kiln_run *run) {
  if (run->n_hardware == 0)
    return;
  fputs("\nhardware at run start:\n", f);
  for (size_t i = 0; i < run->n_hardware; i++) {
    const struct kiln_hw_info *h = &run->hardware[i];
    fprintf(f, "  %-5s ", h->kind);
    put_escaped(f, h->location);
    fputs("  ", f);
    put_escaped(f, h->name);
    if (h->serial[0]) {
      fputs("  serial ", f);
      put_escaped(f, h->serial);
    }
    if (h->part_number[0]) {
      fputs("  part ", f);
      put_escaped(f, h->part_number);
    }
    fputc('\n', f);
  }
}

static void put_warnings(FILE *f, const char *const *warnings, size_t n) {
  if (n == 0)
    return;
  fputs("\nWarnings about the run\n", f);
  for (size_t i = 0; i < n; i++) {
    fputs("  ", f);
    put_escaped(f, warnings[i]);
    fputc('\n', f);
  }
}

static void print_summary(FILE *f, const struct kiln_run *run,
                          const char *const *warnings, size_t n_warnings) {
  put_header(f, run);
  put_warnings(f, warnings, n_warnings);
  put_table(f, run);
  put_failures(f, run);
  put_reasons(f, run);
  put_inventory(f, run);
}

void kiln_summary_print(FILE *f, const struct kiln_run *run) {
  print_summary(f, run, NULL, 0);
}

struct summary_doc {
  const struct kiln_run *run;
  const char *const *warnings;
  size_t n_warnings;
};

static int emit_summary(FILE *f, const void *ctx) {
  const struct summary_doc *doc = ctx;
  print_summary(f, doc->run, doc->warnings, doc->n_warnings);
  return 0;
}

int kiln_summary_write_warnings(const struct kiln_run *run,
                                const char *const *warnings, size_t n_warnings,
                                const char *path, char *err, size_t n) {
  struct summary_doc doc = {run, warnings, n_warnings};
  return report_write_atomic(path, emit_summary, &doc, err, n);
}

int kiln_summary_write(const struct kiln_run *run, const char *path, char *err,
                       size_t n) {
  return kiln_summary_write_warnings(run, NULL, 0, path, err, n);
}
