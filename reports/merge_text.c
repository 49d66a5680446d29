/* kiln merge's text reports.
 *
 * summary.txt: a header (nodes, profile, verdict and exit code), the node x
 * module verdict matrix (rows nodes, columns modules; "-" where a node has
 * no such step or no readable record), then every FAIL and ERROR with its
 * node (the failure text, or the reason), then the problems found in the
 * directories. Strings show their control bytes as \xNN.
 *
 * results.tap: one TAP 13 stream, a point per node x step ("n2
 * cpu.compute", as tap.c writes a step) and, for a node that is an ERROR
 * row, a "n2 record" point with the reason. */
#include <stdlib.h>
#include <string.h>

#include "kiln/reports.h"
#include "kiln/textutil.h"
#include "merge_model.h"
#include "report_util.h"

static void put_escaped(FILE *f, const char *s) {
  char *shown = kiln_escape_controls(s);
  fputs(shown, f);
  free(shown);
}

/* s escaped, then padded to width columns. */
static void put_cell(FILE *f, const char *s, size_t width) {
  char *shown = kiln_escape_controls(s);
  fputs(shown, f);
  for (size_t w = kiln_text_columns(shown); w < width; w++)
    fputc(' ', f);
  free(shown);
}

static size_t columns_escaped(const char *s) {
  char *shown = kiln_escape_controls(s);
  size_t w = kiln_text_columns(shown);
  free(shown);
  return w;
}

static void count_nodes(const struct merge_model *m, char *buf, size_t n) {
  struct report_counts c = {0};
  for (size_t i = 0; i < m->n_nodes; i++) {
    struct kiln_step_result as_step = {.state = KILN_STEP_DONE,
                                       .verdict = m->nodes[i].verdict};
    report_count_step(&c, &as_step);
  }
  report_counts_text(&c, buf, n);
}

static void put_matrix(FILE *f, const struct merge_model *m) {
  size_t name_w = strlen("NODE"), serial_w = strlen("SERIAL");
  for (size_t i = 0; i < m->n_nodes; i++) {
    const struct merge_record *r = &m->nodes[i];
    size_t w = columns_escaped(r->name);
    name_w = w > name_w ? w : name_w;
    w = r->have_run ? columns_escaped(r->run.dut.serial) : 1;
    serial_w = w > serial_w ? w : serial_w;
  }
  size_t *col_w = kiln_xcalloc(m->n_modules + 1, sizeof *col_w);
  for (size_t k = 0; k < m->n_modules; k++) {
    col_w[k] = columns_escaped(m->modules[k]);
    col_w[k] = col_w[k] < 8 ? 8 : col_w[k];
  }
  fputc('\n', f);
  put_cell(f, "NODE", name_w + 2);
  put_cell(f, "SERIAL", serial_w + 2);
  fprintf(f, "%-9s", "VERDICT");
  for (size_t k = 0; k < m->n_modules; k++) {
    fputs("  ", f);
    put_cell(f, m->modules[k], k + 1 < m->n_modules ? col_w[k] : 0);
  }
  fputc('\n', f);
  for (size_t i = 0; i < m->n_nodes; i++) {
    const struct merge_record *r = &m->nodes[i];
    put_cell(f, r->name, name_w + 2);
    put_cell(f, r->have_run ? r->run.dut.serial : "-", serial_w + 2);
    fprintf(f, "%-9s", kiln_verdict_name(r->verdict));
    for (size_t k = 0; k < m->n_modules; k++) {
      fputs("  ", f);
      put_cell(f, merge_cell_label(merge_cell(r, m->modules[k])),
               k + 1 < m->n_modules ? col_w[k] : 0);
    }
    fputc('\n', f);
  }
  free(col_w);
}

static void put_node_step(FILE *f, const struct merge_record *r,
                          const struct kiln_step_result *s, const char *label,
                          const char *text) {
  fputs("  ", f);
  put_escaped(f, r->name);
  fputc(' ', f);
  put_escaped(f, s->id);
  fprintf(f, " %s: ", label);
  put_escaped(f, text);
  fputc('\n', f);
}

/* Every FAIL, then every ERROR, ABORTED and unfinished step, by node. */
static void put_failures(FILE *f, const struct merge_model *m) {
  bool any = false;
  for (size_t i = 0; i < m->n_nodes; i++) {
    const struct merge_record *r = &m->nodes[i];
    if (r->problem) {
      if (!any)
        fputs("\nFailures and errors\n", f);
      any = true;
      put_node_step(f, r, &r->problem_step, "ERROR", r->problem);
    }
    for (size_t k = 0; r->have_run && k < r->run.n_steps; k++) {
      const struct kiln_step_result *s = &r->run.steps[k];
      const char *reason = report_unfinished_reason(s);
      char text[1024];
      if (!reason && s->verdict == KILN_FAIL) {
        kiln_step_failure_text(s, text, sizeof text);
        reason = text;
      } else if (!reason &&
                 (s->verdict == KILN_ERROR || s->verdict == KILN_ABORTED)) {
        reason = s->reason ? s->reason : "no reason given";
      }
      /* A finished run leaves no step unfinished; an unfinished one says
       * so in its record's line above. */
      if (!reason || (!r->run.finished && s->state == KILN_STEP_PENDING))
        continue;
      if (!any)
        fputs("\nFailures and errors\n", f);
      any = true;
      put_node_step(f, r, s, report_step_label(s), reason);
    }
  }
}

static void put_problems(FILE *f, const struct merge_model *m) {
  if (!m->n_problems)
    return;
  fputs("\nProblems with the directories\n", f);
  for (size_t i = 0; i < m->n_problems; i++) {
    fputs("  ", f);
    put_escaped(f, m->problems[i]);
    fputc('\n', f);
  }
}

static int emit_summary(FILE *f, const void *ctx) {
  const struct merge_model *m = ctx;
  char counts[256], stamp[40];
  count_nodes(m, counts, sizeof counts);
  kiln_format_time(kiln_now(), stamp, sizeof stamp);
  fprintf(f, "kiln merge of %zu node%s\n", m->n_nodes,
          m->n_nodes == 1 ? "" : "s");
  fprintf(f, "  %-9s", "profile");
  put_escaped(f, m->profile ? m->profile : "(no readable record)");
  fprintf(f, "\n  %-9s%s (exit %d): %s\n", "verdict",
          kiln_verdict_name(m->verdict), kiln_verdict_exit_code(m->verdict),
          counts);
  fprintf(f, "  %-9s%s\n", "merged", stamp);
  put_matrix(f, m);
  put_failures(f, m);
  put_problems(f, m);
  return 0;
}

int merge_write_summary(const struct merge_model *m, const char *path,
                        char *err, size_t n) {
  return report_write_atomic(path, emit_summary, m, err, n);
}

/* ---- results.tap ---- */

/* s as a point named "node step". */
static void tap_point(FILE *f, size_t number, const struct merge_record *r,
                      const struct kiln_step_result *s) {
  struct kiln_step_result named = *s;
  named.id = kiln_strdup_printf("%s %s", r->name, s->id);
  kiln_tap_point(f, number, &named);
  free(named.id);
}

static int emit_tap(FILE *f, const void *ctx) {
  const struct merge_model *m = ctx;
  size_t points = 0;
  for (size_t i = 0; i < m->n_nodes; i++) {
    const struct merge_record *r = &m->nodes[i];
    points += (r->have_run ? r->run.n_steps : 0) + (r->problem ? 1 : 0);
  }
  kiln_tap_plan(f, 13, points);
  size_t number = 0;
  for (size_t i = 0; i < m->n_nodes; i++) {
    const struct merge_record *r = &m->nodes[i];
    fputs("# node ", f);
    char *name = kiln_escape_controls(r->name);
    char *dir = kiln_escape_controls(r->dir);
    fprintf(f, "%s dir %s", name, dir);
    free(name);
    free(dir);
    if (r->have_run) {
      char *serial = kiln_escape_controls(r->run.dut.serial);
      char *host = kiln_escape_controls(r->run.dut.hostname);
      fprintf(f, " serial %s host %s", serial, host);
      free(serial);
      free(host);
    }
    fprintf(f, " verdict %s\n", kiln_verdict_name(r->verdict));
    if (r->problem)
      tap_point(f, ++number, r, &r->problem_step);
    for (size_t k = 0; r->have_run && k < r->run.n_steps; k++)
      tap_point(f, ++number, r, &r->run.steps[k]);
  }
  fprintf(f, "# merged verdict: %s (exit %d)\n", kiln_verdict_name(m->verdict),
          kiln_verdict_exit_code(m->verdict));
  return 0;
}

int merge_write_tap(const struct merge_model *m, const char *path, char *err,
                    size_t n) {
  return report_write_atomic(path, emit_tap, m, err, n);
}
