/* kiln merge's report.html: one self-contained page (inline CSS, no
 * scripts) with the merged verdict, the node x module matrix coloured as
 * the single-run report.html colours verdicts (its stylesheet), each cell
 * linking to the node's own report.html at that step (#step-N), then every
 * FAIL and ERROR by node, and the problems found in the directories.
 * Written with libxml2's xmlTextWriter as report.html is (report_xml.c). */
#include <stdlib.h>
#include <string.h>

#include "kiln/textutil.h"
#include "merge_model.h"
#include "report_util.h"
#include "report_xml.h"

/* A newline after each block element, which HTML ignores. */
static bool is_block(const char *element) {
  static const char *const blocks[] = {
      "html", "head", "title", "style", "meta", "body", "div",
      "p",    "h2",   "table", "tr",    "ul",   "li"};
  for (size_t i = 0; i < sizeof blocks / sizeof *blocks; i++)
    if (strcmp(element, blocks[i]) == 0)
      return true;
  return false;
}

/* Matrix cells, on top of report.html's stylesheet. */
static const char merge_css[] =
    "td.cell{text-align:center}td.cell a{text-decoration:none}"
    "td.none{color:#8c959f;text-align:center}";

/* A path as a URL path: bytes outside the unreserved set and '/' as %XX. */
static char *url_path(const char *s) {
  static const char hex[] = "0123456789ABCDEF";
  char *out = kiln_xcalloc(3 * strlen(s) + 1, 1), *o = out;
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
        (*p >= '0' && *p <= '9') || strchr("-._~/", *p)) {
      *o++ = (char)*p;
    } else {
      *o++ = '%';
      *o++ = hex[*p >> 4];
      *o++ = hex[*p & 15];
    }
  }
  return out;
}

static void badge(struct xml_writer *x, const char *label) {
  xml_start(x, "span");
  xml_attrf(x, "class", "badge v-%s", label);
  xml_text(x, label);
  xml_end_full(x);
}

static void write_banner(struct xml_writer *x, const struct merge_model *m) {
  const char *label = kiln_verdict_name(m->verdict);
  xml_start(x, "div");
  xml_attrf(x, "class", "banner b-%s", label);
  xml_attr_raw(x, "id", "verdict");
  xml_attr_raw(x, "data-verdict", label);
  xml_start(x, "div");
  xml_attr_raw(x, "class", "big");
  xml_textf(x, "%s \xe2\x80\x94 exit code %d", label,
            kiln_verdict_exit_code(m->verdict));
  xml_end_full(x);
  xml_start(x, "div");
  xml_textf(x, "%zu node%s merged \xc2\xb7 profile ", m->n_nodes,
            m->n_nodes == 1 ? "" : "s");
  xml_element(x, "b", NULL, m->profile ? m->profile : "(no readable record)");
  xml_end_full(x);
  xml_end_full(x);
}

/* One cell: the module's worst step on the node, linked to it. */
static void write_cell(struct xml_writer *x, const struct merge_record *r,
                       const char *module) {
  const struct kiln_step_result *s = merge_cell(r, module);
  if (!s) {
    xml_element(x, "td", "none", "-");
    return;
  }
  xml_start(x, "td");
  xml_attr_raw(x, "class", "cell");
  xml_attr(x, "data-step", s->id);
  if (r->report_href) {
    char *href = url_path(r->report_href);
    xml_start(x, "a");
    xml_attrf(x, "href", "%s#step-%zu", href, s->index + 1);
    free(href);
    badge(x, merge_cell_label(s));
    xml_end_full(x);
  } else {
    badge(x, merge_cell_label(s));
  }
  xml_end_full(x);
}

static void write_matrix(struct xml_writer *x, const struct merge_model *m) {
  xml_element_id(x, "h2", "matrix", "Nodes and modules");
  xml_start(x, "table");
  xml_attr_raw(x, "class", "matrix");
  xml_start(x, "tr");
  xml_element(x, "th", NULL, "Node");
  xml_element(x, "th", NULL, "Serial");
  xml_element(x, "th", NULL, "Verdict");
  for (size_t k = 0; k < m->n_modules; k++)
    xml_element(x, "th", NULL, m->modules[k]);
  xml_end_full(x);
  for (size_t i = 0; i < m->n_nodes; i++) {
    const struct merge_record *r = &m->nodes[i];
    xml_start(x, "tr");
    xml_attr(x, "data-node", r->name);
    xml_start(x, "td");
    if (r->report_href) {
      char *href = url_path(r->report_href);
      xml_start(x, "a");
      xml_attr(x, "href", href);
      free(href);
      xml_element(x, "b", NULL, r->name);
      xml_end_full(x);
    } else {
      xml_element(x, "b", NULL, r->name);
    }
    xml_end_full(x);
    xml_element(x, "td", "mono", r->have_run ? r->run.dut.serial : "-");
    xml_start(x, "td");
    badge(x, kiln_verdict_name(r->verdict));
    xml_end_full(x);
    for (size_t k = 0; k < m->n_modules; k++)
      write_cell(x, r, m->modules[k]);
    xml_end_full(x);
  }
  xml_end_full(x);
}

static void problem_line(struct xml_writer *x, const char *cls,
                         const struct merge_record *r,
                         const struct kiln_step_result *s, const char *label,
                         const char *text) {
  xml_start(x, "div");
  xml_attr_raw(x, "class", cls);
  xml_element(x, "b", NULL, r->name);
  xml_text(x, " ");
  xml_element(x, "code", NULL, s->id);
  xml_text(x, " ");
  badge(x, label);
  xml_text(x, " ");
  xml_text(x, text);
  xml_end_full(x);
}

static void write_failures(struct xml_writer *x, const struct merge_model *m) {
  xml_element_id(x, "h2", "failures", "Failures and errors");
  size_t shown = 0;
  for (size_t i = 0; i < m->n_nodes; i++) {
    const struct merge_record *r = &m->nodes[i];
    if (r->problem) {
      problem_line(x, "problem", r, &r->problem_step, "ERROR", r->problem);
      shown++;
    }
    for (size_t k = 0; r->have_run && k < r->run.n_steps; k++) {
      const struct kiln_step_result *s = &r->run.steps[k];
      if (s->state != KILN_STEP_DONE || s->verdict == KILN_PASS ||
          s->verdict == KILN_SKIP)
        continue;
      char text[1024];
      kiln_step_failure_text(s, text, sizeof text);
      problem_line(x, s->verdict == KILN_FAIL ? "failure" : "problem", r, s,
                   kiln_verdict_name(s->verdict),
                   text[0] ? text : "no reason given");
      shown++;
    }
  }
  if (!shown)
    xml_element(x, "p", "muted",
                "None: every step of every node passed or "
                "was skipped.");
}

static void write_problems(struct xml_writer *x, const struct merge_model *m) {
  if (!m->n_problems)
    return;
  xml_element_id(x, "h2", "problems", "Problems with the directories");
  xml_start(x, "ul");
  for (size_t i = 0; i < m->n_problems; i++)
    xml_element(x, "li", NULL, m->problems[i]);
  xml_end_full(x);
}

static void write_document(struct xml_writer *x, const void *ctx) {
  const struct merge_model *m = ctx;
  char *title = kiln_strdup_printf("kiln merge %s: %zu nodes",
                                   kiln_verdict_name(m->verdict), m->n_nodes);
  report_html_begin(x, title, merge_css);
  free(title);
  write_banner(x, m);
  xml_start(x, "div");
  xml_attr_raw(x, "class", "main");
  write_matrix(x, m);
  write_failures(x, m);
  write_problems(x, m);
  xml_end_full(x);
  char stamp[40];
  kiln_format_time(kiln_now(), stamp, sizeof stamp);
  char *footer = kiln_strdup_printf("kiln merge \xc2\xb7 written %s \xc2\xb7 "
                                    "each cell links to the node's own "
                                    "report.html",
                                    stamp);
  report_html_end(x, footer);
  free(footer);
}

int merge_write_html(const struct merge_model *m, const char *path, char *err,
                     size_t n) {
  static const struct xml_style style = {.line_after = is_block};
  return xml_write_file(path, &style, write_document, m, err, n);
}
