/* kiln_ocp_read over real streams (tests/fixtures/merge/: quick runs that
 * passed, found an injected cpu.sdc, had a step crash (step.crash), a
 * standard run, and the cpu.sdc run cut mid-line as a killed writer leaves
 * it), over streams bent by hand, and kiln_merge over directories of them:
 * verdicts, ERROR rows, duplicate serials, mixed profiles, and outputs
 * that xmllint and prove accept. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "fsutil.h"
#include "kiln/merge.h"
#include "kiln/textutil.h"
#include "report_fixture.h"

#define FIXTURES "tests/fixtures/merge/"

static void assert_contains(const char *text, const char *needle) {
  if (!text || !strstr(text, needle))
    fail_msg("lacks \"%s\" in:\n%s", needle, text ? text : "(null)");
}

static const struct kiln_step_result *step(const struct kiln_run *run,
                                           const char *id) {
  for (size_t i = 0; i < run->n_steps; i++)
    if (strcmp(run->steps[i].id, id) == 0)
      return &run->steps[i];
  fail_msg("no step %s", id);
  return NULL;
}

static void read_ok(const char *path, struct kiln_run *run) {
  char err[512] = "";
  kiln_run_init(run);
  if (kiln_ocp_read(path, run, err, sizeof err) != 0)
    fail_msg("kiln_ocp_read(%s): %s", path, err);
}

/* ---- kiln_ocp_read over real streams ---- */

static void test_read_pass(void **state) {
  struct kiln_run run;
  read_ok(FIXTURES "pass.ocp.jsonl", &run);
  assert_true(run.finished);
  assert_int_equal(run.verdict, KILN_PASS);
  assert_string_equal(run.dut.serial, "node-a");
  assert_string_equal(run.profile, "quick");
  assert_int_equal(run.n_steps, 15);
  assert_int_equal(run.n_hardware, 2);
  assert_true(run.start > 1.7e9 && run.end > run.start);
  const struct kiln_step_result *cpu = step(&run, "cpu.compute");
  assert_int_equal(cpu->state, KILN_STEP_DONE);
  assert_int_equal(cpu->verdict, KILN_PASS);
  assert_string_equal(cpu->measurements[0].name, "gflops");
  assert_true(cpu->end > cpu->start && cpu->start > 0);
  /* The "skipped: why" log is the SKIP's reason again, not a log. */
  const struct kiln_step_result *gpu = step(&run, "gpu.query");
  assert_int_equal(gpu->verdict, KILN_SKIP);
  assert_string_equal(gpu->reason, "no NVIDIA GPU found on the PCI bus");
  assert_int_equal(gpu->n_logs, 0);
  /* A measurement with a limit keeps it. */
  const struct kiln_step_result *dram = step(&run, "dram.patterns");
  bool limited = false;
  for (size_t i = 0; i < dram->n_measurements; i++)
    limited |= dram->measurements[i].limit.has_hi;
  assert_true(limited);
  kiln_run_free(&run);
}

static void test_read_fail(void **state) {
  struct kiln_run run;
  read_ok(FIXTURES "fail.ocp.jsonl", &run);
  assert_true(run.finished);
  assert_int_equal(run.verdict, KILN_FAIL);
  const struct kiln_step_result *cpu = step(&run, "cpu.compute");
  assert_int_equal(cpu->verdict, KILN_FAIL);
  char text[1024];
  kiln_step_failure_text(cpu, text, sizeof text);
  assert_contains(text, "cpu1 computed a wrong FMA result");
  assert_string_equal(cpu->diagnoses[0].symptom, "cpu-sdc");
  assert_string_equal(cpu->diagnoses[0].hwid, "cpu1");
  kiln_run_free(&run);
}

static void test_read_crash(void **state) {
  struct kiln_run run;
  read_ok(FIXTURES "crash.ocp.jsonl", &run);
  assert_int_equal(run.verdict, KILN_ERROR);
  const struct kiln_step_result *s = step(&run, "inventory.check");
  assert_int_equal(s->verdict, KILN_ERROR);
  assert_contains(s->reason, "crashed: killed by signal 11");
  kiln_run_free(&run);
}

/* A writer killed mid-line: the half line is ignored, the run is
 * unfinished, the step it was in stays RUNNING, what it found stays. */
static void test_read_cut_short(void **state) {
  struct kiln_run run;
  read_ok(FIXTURES "cut.ocp.jsonl", &run);
  assert_false(run.finished);
  assert_int_equal(step(&run, "cpu.compute")->verdict, KILN_FAIL);
  assert_int_equal(step(&run, "dram.bandwidth")->state, KILN_STEP_RUNNING);
  assert_int_equal(step(&run, "dram.patterns")->state, KILN_STEP_PENDING);
  kiln_run_free(&run);
}

/* ---- streams bent by hand ---- */

static const char header[] =
    "{\"schemaVersion\":{\"major\":2,\"minor\":0},\"sequenceNumber\":0,"
    "\"timestamp\":\"2027-01-15T08:00:00.000Z\"}\n"
    "{\"testRunArtifact\":{\"testRunStart\":{\"name\":\"kiln\",\"version\":"
    "\"0.1.0\",\"commandLine\":\"kiln run\",\"parameters\":{\"profile\":"
    "\"quick\",\"profileSource\":\"built-in:quick\",\"reportDir\":\"d\","
    "\"plannedSteps\":[\"gpu.membw[0]\",\"fans\"],\"plannedSeconds\":4.0},"
    "\"dutInfo\":{\"dutInfoId\":\"SN1\",\"name\":\"h1\",\"metadata\":{"
    "\"serial\":\"SN1\"}}}},\"sequenceNumber\":1,\"timestamp\":"
    "\"2027-01-15T08:00:00.000Z\"}\n";

#define STEP_LINE(seq, body)                                                   \
  "{\"testStepArtifact\":{\"testStepId\":\"0\"," body                          \
  "},\"sequenceNumber\":" #seq                                                 \
  ",\"timestamp\":\"2027-01-15T08:00:01.500Z\"}\n"

/* Reads header + body from a file; returns kiln_ocp_read's result. */
static int read_text(const char *body, struct kiln_run *run, char *err,
                     size_t n) {
  char *dir = fixture_tmpdir();
  char *path = fixture_path(dir, "ocp.jsonl");
  char *text = kiln_strdup_printf("%s%s", header, body);
  fs_write_file(path, text);
  kiln_run_init(run);
  int rc = kiln_ocp_read(path, run, err, n);
  free(text);
  free(path);
  fixture_rmdir(dir);
  return rc;
}

/* The FAIL diagnosis ocp.c adds for an out-of-limit measurement is the
 * measurement's: read back it is not a second failure. */
static void test_read_out_of_limits(void **state) {
  struct kiln_run run;
  char err[512] = "";
  int rc = read_text(
      STEP_LINE(2, "\"testStepStart\":{\"name\":\"gpu.membw[0]\"}")
          STEP_LINE(3, "\"measurement\":{\"name\":\"bw\",\"value\":1.0,"
                       "\"unit\":\"GB/s\",\"validators\":[{\"name\":\"lo\","
                       "\"type\":\"GREATER_THAN_OR_EQUAL\",\"value\":2.0}],"
                       "\"subcomponent\":{\"name\":\"gpu0\"}}")
              STEP_LINE(4, "\"diagnosis\":{\"verdict\":\"measurement-out-of-"
                           "limits\",\"type\":\"FAIL\",\"message\":\"out of "
                           "limits: bw\"}")
                  STEP_LINE(5, "\"testStepEnd\":{\"status\":\"COMPLETE\"}"),
      &run, err, sizeof err);
  assert_int_equal(rc, 0);
  const struct kiln_step_result *s = &run.steps[0];
  assert_string_equal(s->module, "gpu.membw");
  assert_string_equal(s->target, "0");
  assert_int_equal(s->verdict, KILN_FAIL);
  assert_int_equal(s->n_diagnoses, 0);
  assert_false(s->measurements[0].pass);
  assert_true(s->measurements[0].limit.has_lo);
  assert_string_equal(s->measurements[0].hwid, "gpu0");
  assert_int_equal(run.steps[1].state, KILN_STEP_PENDING);
  assert_false(run.finished);
  kiln_run_free(&run);
}

/* An aborted step, and testRunEnd: the run is finished. */
static void test_read_aborted(void **state) {
  struct kiln_run run;
  char err[512] = "";
  int rc = read_text(
      STEP_LINE(2, "\"testStepStart\":{\"name\":\"gpu.membw[0]\"}") STEP_LINE(
          3, "\"error\":{\"symptom\":\"step-aborted\",\"message\":\"SIGTERM "
             "received\"}")
          STEP_LINE(
              4, "\"testStepEnd\":{\"status\":"
                 "\"ERROR\"}") "{\"testRunArtifact\":{\"testRunEnd\":{"
                               "\"status\":\"ERROR\","
                               "\"result\":\"NOT_APPLICABLE\"}},"
                               "\"sequenceNumber\":5,"
                               "\"timestamp\":\"2027-01-15T08:00:02.000Z\"}\n",
      &run, err, sizeof err);
  assert_int_equal(rc, 0);
  assert_int_equal(run.steps[0].verdict, KILN_ABORTED);
  assert_string_equal(run.steps[0].reason, "SIGTERM received");
  assert_true(run.finished);
  assert_int_equal(kiln_verdict_exit_code(run.verdict), 2);
  assert_true(run.end > run.start);
  kiln_run_free(&run);
}

/* A malformed line that is not the last, a lost line, an empty file: each
 * refused with the file and line named. */
static void test_read_refuses(void **state) {
  struct kiln_run run;
  char err[512] = "";
  assert_int_equal(
      read_text(
          STEP_LINE(2, "\"testStepStart\":{\"name\":\"x\"}") "{oops"
                                                             "\n" STEP_LINE(
                                                                 4, "\"testStep"
                                                                    "End\":{"
                                                                    "\"status\""
                                                                    ":\"COMPLET"
                                                                    "E\"}"),
          &run, err, sizeof err),
      -1);
  assert_contains(err, "ocp.jsonl: line 4: not JSON");
  kiln_run_free(&run);
  assert_int_equal(
      read_text(STEP_LINE(2, "\"testStepStart\":{\"name\":\"x\"}")
                    STEP_LINE(4, "\"testStepEnd\":{\"status\":\"COMPLETE\"}"),
                &run, err, sizeof err),
      -1);
  assert_contains(err, "line 4: sequenceNumber 4 where 3 was due");
  kiln_run_free(&run);

  char *dir = fixture_tmpdir();
  char *path = fixture_path(dir, "ocp.jsonl");
  fs_write_file(path, "");
  kiln_run_init(&run);
  assert_int_equal(kiln_ocp_read(path, &run, err, sizeof err), -1);
  assert_contains(err, "no testRunStart");
  kiln_run_free(&run);
  assert_int_equal(kiln_ocp_read(dir, &run, err, sizeof err), -1);
  assert_contains(err, "not a regular file");
  kiln_run_free(&run);
  free(path);
  fixture_rmdir(dir);
}

/* ---- kiln_merge ---- */

struct said {
  char lines[16][512];
  size_t n;
};

static void say(void *ctx, const char *line) {
  struct said *s = ctx;
  if (s->n < 16)
    snprintf(s->lines[s->n], sizeof s->lines[0], "%s", line);
  s->n++;
}

static bool said_has(const struct said *s, const char *needle) {
  for (size_t i = 0; i < s->n && i < 16; i++)
    if (strstr(s->lines[i], needle))
      return true;
  return false;
}

/* dir/name/ocp.jsonl from a fixture; returns dir/name (malloc'd). */
static char *node_dir(const char *dir, const char *name, const char *fixture) {
  char *node = fixture_path(dir, name);
  mkdir(node, 0755);
  if (fixture) {
    char *text = fixture_read_file(fixture);
    assert_non_null(text);
    char *path = fixture_path(node, "ocp.jsonl");
    fs_write_file(path, text);
    free(path);
    free(text);
  }
  return node;
}

static char *out_file(const char *out, const char *name) {
  char *path = fixture_path(out, name);
  char *text = fixture_read_file(path);
  free(path);
  assert_non_null(text);
  return text;
}

/* The merged reports pass their consumers; without ../shared's schema the
 * XSD check is left out (the test ends with fixture_skip_left_out). */
static void check_outputs(const char *out) {
  if (fixture_shared_here("schemas/junit-10.xsd")) {
    char *xsd = fixture_shared_path("schemas/junit-10.xsd");
    assert_int_equal(fixture_command(NULL, "xmllint --noout --schema %s %s/%s",
                                     xsd, out, "junit.xml"),
                     0);
    free(xsd);
  }
  assert_int_equal(
      fixture_command(NULL, "xmllint --html --noout %s/report.html", out), 0);
  char *output = NULL;
  fixture_command(&output, "prove -e cat %s/results.tap", out);
  if (strstr(output, "Parse errors"))
    fail_msg("results.tap does not parse:\n%s", output);
  free(output);
}

static void test_merge_fail_and_pass(void **state) {
  char *dir = fixture_tmpdir();
  char *n1 = node_dir(dir, "n1", FIXTURES "pass.ocp.jsonl");
  char *n2 = node_dir(dir, "n2", FIXTURES "fail.ocp.jsonl");
  char *out = fixture_path(dir, "out");
  struct kiln_merge_node nodes[] = {{n1, "n1", NULL}, {n2, "n2", NULL}};
  struct said said = {0};
  char err[512] = "";
  assert_int_equal(kiln_merge(nodes, 2, out, say, &said, NULL, err, sizeof err),
                   1);
  assert_int_equal(said.n, 0);
  char *summary = out_file(out, "summary.txt");
  assert_contains(summary, "verdict  FAIL (exit 1)");
  assert_contains(summary, "n2    node-b  FAIL");
  assert_contains(summary, "n2 cpu.compute FAIL: cpu1 computed a wrong");
  char *tap = out_file(out, "results.tap");
  assert_contains(tap, "not ok 20 - n2 cpu.compute");
  assert_contains(tap, "ok 5 - n1 cpu.compute");
  char *junit = out_file(out, "junit.xml");
  assert_contains(junit, "<testsuite name=\"n2/cpu.compute\"");
  assert_contains(junit, "<property name=\"serial\" value=\"node-b\"/>");
  /* A suite per node and step, as many as TAP has points; each testcase
   * says whose it is. */
  size_t suites = 0, points = 0;
  for (const char *p = junit; (p = strstr(p, "<testsuite ")); p++)
    suites++;
  for (const char *p = tap; (p = strstr(p, "ok ")); p++)
    if (p == tap || p[-1] == '\n' ||
        (p - tap >= 4 && !strncmp(p - 4, "not ", 4)))
      points++;
  assert_int_equal(suites, points);
  assert_contains(junit, "<system-out>node: n2\nserial: node-b\nhost: ");
  check_outputs(out);
  free(summary);
  free(tap);
  free(junit);
  free(n1);
  free(n2);
  free(out);
  fixture_rmdir(dir);
  fixture_skip_left_out();
}

/* Missing, empty, half-written directories and a duplicate serial: ERROR
 * rows, each said once, the outputs still valid. */
static void test_merge_broken(void **state) {
  char *dir = fixture_tmpdir();
  char *ok = node_dir(dir, "ok", FIXTURES "pass.ocp.jsonl");
  char *twin = node_dir(dir, "twin", FIXTURES "pass.ocp.jsonl");
  char *empty = node_dir(dir, "empty", NULL);
  char *cut = node_dir(dir, "cut", FIXTURES "cut.ocp.jsonl");
  char *gone = fixture_path(dir, "gone");
  char *out = fixture_path(dir, "out");
  struct kiln_merge_node nodes[] = {{ok, NULL, NULL},
                                    {twin, NULL, NULL},
                                    {empty, "n3", NULL},
                                    {cut, "n4", "task killed by SIGKILL"},
                                    {gone, "n5", NULL}};
  struct said said = {0};
  char err[512] = "";
  assert_int_equal(kiln_merge(nodes, 5, out, say, &said, NULL, err, sizeof err),
                   1);
  assert_int_equal(said.n, 4);
  assert_true(said_has(&said, "n3: ERROR: no ocp.jsonl in "));
  assert_true(said_has(&said, "n4: ERROR: task killed by SIGKILL (run never "
                              "ended: last step dram.bandwidth started at"));
  assert_true(said_has(&said, "n5: ERROR: no directory "));
  assert_true(said_has(&said, "serial node-a is in both "));
  char *summary = out_file(out, "summary.txt");
  /* Both twins are shown by host and told apart by directory. */
  assert_contains(summary, "vm (");
  assert_contains(summary, "/ok)    node-a  ERROR");
  assert_contains(summary, "n3 record ERROR: no ocp.jsonl in");
  assert_contains(summary, "n4 cpu.compute FAIL");
  check_outputs(out);
  free(summary);
  free(ok);
  free(twin);
  free(empty);
  free(cut);
  free(gone);
  free(out);
  fixture_rmdir(dir);
  fixture_skip_left_out();
}

static void test_merge_mixed_profiles(void **state) {
  char *dir = fixture_tmpdir();
  char *q = node_dir(dir, "q", FIXTURES "pass.ocp.jsonl");
  char *s = node_dir(dir, "s", FIXTURES "standard.ocp.jsonl");
  char *out = fixture_path(dir, "out");
  struct kiln_merge_node nodes[] = {{q, NULL, NULL}, {s, NULL, NULL}};
  char err[512] = "";
  assert_int_equal(kiln_merge(nodes, 2, out, NULL, NULL, NULL, err, sizeof err),
                   64);
  assert_contains(err, "different profiles");
  assert_contains(err, "(quick)");
  assert_contains(err, "(standard)");
  struct stat st;
  assert_int_not_equal(stat(out, &st), 0); /* nothing written */
  assert_int_equal(kiln_merge(nodes, 0, out, NULL, NULL, NULL, err, sizeof err),
                   64);
  free(q);
  free(s);
  free(out);
  fixture_rmdir(dir);
}

/* Each cell links into the node's own report.html at its step. */
static void test_merge_links(void **state) {
  char *dir = fixture_tmpdir();
  char *n1 = node_dir(dir, "n 1", FIXTURES "fail.ocp.jsonl");
  char *page = fixture_path(n1, "report.html");
  fs_write_file(page, "<html></html>");
  char *out = fixture_path(dir, "out");
  struct kiln_merge_node nodes[] = {{n1, NULL, NULL}};
  char err[512] = "";
  assert_int_equal(kiln_merge(nodes, 1, out, NULL, NULL, NULL, err, sizeof err),
                   1);
  char *html = out_file(out, "report.html");
  assert_contains(html, "href=\"../n%201/report.html#step-5\"");
  free(html);
  free(page);
  free(n1);
  free(out);
  fixture_rmdir(dir);
}

int main(void) {
  cmocka_set_message_output(CM_OUTPUT_TAP);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_read_pass),
      cmocka_unit_test(test_read_fail),
      cmocka_unit_test(test_read_crash),
      cmocka_unit_test(test_read_cut_short),
      cmocka_unit_test(test_read_out_of_limits),
      cmocka_unit_test(test_read_aborted),
      cmocka_unit_test(test_read_refuses),
      cmocka_unit_test(test_merge_fail_and_pass),
      cmocka_unit_test(test_merge_broken),
      cmocka_unit_test(test_merge_mixed_profiles),
      cmocka_unit_test(test_merge_links),
  };
  return cmocka_run_group_tests_name("merge", tests, NULL, NULL);
}
