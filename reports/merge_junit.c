/* kiln merge's junit.xml (junit-10.xsd): one <testsuite> per node and
 * step, named "n2/gpu.query[0]", holding that step's testcase as junit.c
 * writes it (classname "n2/gpu.query"), its <system-out> opening with the
 * node, serial and host (a testcase read alone still says whose it is);
 * each suite's <properties> name the node, its serial, host, directory and
 * profile. A node that is an ERROR row gets a suite "n2/record" with one
 * <error> testcase saying why; a node without a readable record has only
 * that suite. */
#include <stdlib.h>
#include <string.h>

#include "junit_parts.h"
#include "kiln/textutil.h"
#include "merge_model.h"
#include "report_util.h"
#include "report_xml.h"

static void node_properties(struct xml_writer *x,
                            const struct merge_record *r) {
  xml_start(x, "properties");
  junit_property(x, "node", r->name);
  junit_property(x, "dir", r->dir);
  if (r->have_run) {
    junit_property(x, "serial", r->run.dut.serial);
    junit_property(x, "hostname", r->run.dut.hostname);
    junit_property(x, "profile", r->run.profile);
    junit_property(x, "kiln.version", r->run.kiln_version);
  }
  junit_property(x, "node.verdict", kiln_verdict_name(r->verdict));
  xml_end(x);
}

/* r's step (NULL: r's problem alone) in a suite of its own. */
static void write_suite(struct xml_writer *x, const struct merge_record *r,
                        const struct kiln_step_result *step, int suite_id) {
  const struct kiln_step_result *s = step ? step : &r->problem_step;
  struct report_counts c = {0};
  report_count_step(&c, s);
  char *name = kiln_strdup_printf("%s/%s", r->name, step ? s->id : "record");
  char *classname =
      kiln_strdup_printf("%s/%s", r->name, step ? s->module : "record");
  char *preamble =
      r->have_run
          ? kiln_strdup_printf("node: %s\nserial: %s\nhost: %s\n", r->name,
                               r->run.dut.serial, r->run.dut.hostname)
          : kiln_strdup_printf("node: %s\n", r->name);
  char stamp[40];
  kiln_format_time(r->have_run && r->run.start > 0 ? r->run.start : kiln_now(),
                   stamp, sizeof stamp);
  xml_start(x, "testsuite");
  xml_attr(x, "name", name);
  xml_attrf(x, "tests", "%zu", c.total);
  xml_attrf(x, "failures", "%zu", c.fail);
  xml_attrf(x, "errors", "%zu", c.error + c.aborted + c.unfinished);
  xml_attrf(x, "skipped", "%zu", c.skip);
  xml_attrf(x, "time", "%.3f", step ? report_step_duration(s) : 0.0);
  xml_attr(x, "timestamp", stamp);
  xml_attr(x, "hostname", r->have_run ? r->run.dut.hostname : r->name);
  xml_attrf(x, "id", "%d", suite_id);
  xml_attr(x, "package", "kiln");
  node_properties(x, r);
  junit_testcase(x, s, classname, preamble);
  xml_end(x);
  free(preamble);
  free(classname);
  free(name);
}

static void write_document(struct xml_writer *x, const void *ctx) {
  const struct merge_model *m = ctx;
  struct report_counts c = {0};
  for (size_t i = 0; i < m->n_nodes; i++) {
    const struct merge_record *r = &m->nodes[i];
    for (size_t k = 0; r->have_run && k < r->run.n_steps; k++)
      report_count_step(&c, &r->run.steps[k]);
    if (r->problem)
      report_count_step(&c, &r->problem_step);
  }
  xml_check(x, xmlTextWriterStartDocument(x->w, NULL, "UTF-8", NULL));
  xml_start(x, "testsuites");
  xml_attr(x, "name", "kiln merge");
  xml_attrf(x, "tests", "%zu", c.total);
  xml_attrf(x, "failures", "%zu", c.fail);
  xml_attrf(x, "errors", "%zu", c.error + c.aborted + c.unfinished);
  int suite_id = 0;
  for (size_t i = 0; i < m->n_nodes; i++) {
    const struct merge_record *r = &m->nodes[i];
    if (r->problem)
      write_suite(x, r, NULL, suite_id++);
    for (size_t k = 0; r->have_run && k < r->run.n_steps; k++)
      write_suite(x, r, &r->run.steps[k], suite_id++);
  }
  xml_end(x);
  if (!x->failed)
    xml_check(x, xmlTextWriterEndDocument(x->w));
}

int merge_write_junit(const struct merge_model *m, const char *path, char *err,
                      size_t n) {
  static const struct xml_style style = {.indent = "  "};
  return xml_write_file(path, &style, write_document, m, err, n);
}
