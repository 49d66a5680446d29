/* kiln merge's junit.xml (junit-10.xsd): one <testsuite> per node and
 * module, named "n2/cpu.compute", holding that module's steps as junit.c
 * writes them (classname "n2/cpu.compute"); each suite's <properties> name
 * the node, its serial, host, directory and profile. A node that is an
 * ERROR row gets a suite "n2/record" with one <error> testcase saying
 * why; a node without a readable record has only that suite. */
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

/* The steps of r whose module is module (NULL: r's problem alone). */
static void write_suite(struct xml_writer *x, const struct merge_record *r,
                        const char *module, int suite_id) {
  struct report_counts c = {0};
  double time = 0;
  const char *label = module ? module : "record";
  if (module) {
    for (size_t i = 0; i < r->run.n_steps; i++)
      if (strcmp(r->run.steps[i].module, module) == 0) {
        report_count_step(&c, &r->run.steps[i]);
        time += report_step_duration(&r->run.steps[i]);
      }
  } else {
    report_count_step(&c, &r->problem_step);
  }
  char *name = kiln_strdup_printf("%s/%s", r->name, label);
  char stamp[40];
  kiln_format_time(r->have_run && r->run.start > 0 ? r->run.start : kiln_now(),
                   stamp, sizeof stamp);
  xml_start(x, "testsuite");
  xml_attr(x, "name", name);
  xml_attrf(x, "tests", "%zu", c.total);
  xml_attrf(x, "failures", "%zu", c.fail);
  xml_attrf(x, "errors", "%zu", c.error + c.aborted + c.unfinished);
  xml_attrf(x, "skipped", "%zu", c.skip);
  xml_attrf(x, "time", "%.3f", time);
  xml_attr(x, "timestamp", stamp);
  xml_attr(x, "hostname", r->have_run ? r->run.dut.hostname : r->name);
  xml_attrf(x, "id", "%d", suite_id);
  xml_attr(x, "package", "kiln");
  node_properties(x, r);
  if (module) {
    for (size_t i = 0; i < r->run.n_steps; i++)
      if (strcmp(r->run.steps[i].module, module) == 0)
        junit_testcase(x, &r->run.steps[i], name);
  } else {
    junit_testcase(x, &r->problem_step, name);
  }
  xml_end(x);
  free(name);
}

static bool module_seen_before(const struct kiln_run *run, size_t index) {
  for (size_t i = 0; i < index; i++)
    if (strcmp(run->steps[i].module, run->steps[index].module) == 0)
      return true;
  return false;
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
      if (!module_seen_before(&r->run, k))
        write_suite(x, r, r->run.steps[k].module, suite_id++);
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
