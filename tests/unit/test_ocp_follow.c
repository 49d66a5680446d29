/* The ocp.jsonl follower (kiln_ocp_follow_*, reports/ocp_read.c) over real
 * streams (tests/fixtures/merge/) written to a file piece by piece, cut
 * mid-line and completed, several lines at once: after every update its
 * model is kiln_ocp_read()'s of the same bytes; it reads only what was
 * appended; a replaced or shrunk file starts over; a broken line stays
 * broken. Then the step `kiln fleet` shows for a node (kiln_fleet_look over
 * a fixture fleet directory): the running step that started last, a
 * monitor only when nothing else runs. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "fleet/fleet.h"
#include "fsutil.h"
#include "kiln/merge.h"
#include "kiln/textutil.h"
#include "report_fixture.h"

#define FIXTURES "tests/fixtures/merge/"

static void assert_contains(const char *text, const char *needle) {
  if (!text || !strstr(text, needle))
    fail_msg("lacks \"%s\" in:\n%s", needle, text ? text : "(null)");
}

/* ---- two models compared field by field ---- */

static void same_text(const char *what, const char *a, const char *b) {
  if ((a == NULL) != (b == NULL) || (a && strcmp(a, b) != 0))
    fail_msg("%s: \"%s\" where kiln_ocp_read has \"%s\"", what,
             a ? a : "(null)", b ? b : "(null)");
}

static void same_number(const char *what, double a, double b) {
  if (!(a == b || (isnan(a) && isnan(b))))
    fail_msg("%s: %.17g where kiln_ocp_read has %.17g", what, a, b);
}

static void same_int(const char *what, long long a, long long b) {
  if (a != b)
    fail_msg("%s: %lld where kiln_ocp_read has %lld", what, a, b);
}

static void same_step(const struct kiln_step_result *a,
                      const struct kiln_step_result *b) {
  same_text("step id", a->id, b->id);
  same_text("module", a->module, b->module);
  same_text("target", a->target, b->target);
  same_int("state", a->state, b->state);
  if (a->state == KILN_STEP_DONE) {
    same_int("step verdict", a->verdict, b->verdict);
    same_text("reason", a->reason, b->reason);
  }
  same_number("step start", a->start, b->start);
  same_number("step end", a->end, b->end);
  same_int("measurements", (long long)a->n_measurements,
           (long long)b->n_measurements);
  for (size_t i = 0; i < a->n_measurements; i++) {
    const struct kiln_measurement *x = &a->measurements[i],
                                  *y = &b->measurements[i];
    same_text("measurement", x->name, y->name);
    same_number("value", x->value, y->value);
    same_text("unit", x->unit, y->unit);
    same_text("hwid", x->hwid, y->hwid);
    same_int("pass", x->pass, y->pass);
    same_int("has_lo", x->limit.has_lo, y->limit.has_lo);
    same_int("has_hi", x->limit.has_hi, y->limit.has_hi);
  }
  same_int("diagnoses", (long long)a->n_diagnoses, (long long)b->n_diagnoses);
  for (size_t i = 0; i < a->n_diagnoses; i++) {
    same_int("diagnosis type", a->diagnoses[i].type, b->diagnoses[i].type);
    same_text("symptom", a->diagnoses[i].symptom, b->diagnoses[i].symptom);
    same_text("message", a->diagnoses[i].message, b->diagnoses[i].message);
  }
  same_int("logs", (long long)a->n_logs, (long long)b->n_logs);
  for (size_t i = 0; i < a->n_logs; i++)
    same_text("log", a->logs[i].message, b->logs[i].message);
}

static void same_run(const struct kiln_run *a, const struct kiln_run *b) {
  same_text("serial", a->dut.serial, b->dut.serial);
  same_text("hostname", a->dut.hostname, b->dut.hostname);
  same_text("profile", a->profile, b->profile);
  same_text("command line", a->command_line, b->command_line);
  same_text("abort reason", a->abort_reason, b->abort_reason);
  same_int("hardware", (long long)a->n_hardware, (long long)b->n_hardware);
  same_number("run start", a->start, b->start);
  same_number("run end", a->end, b->end);
  same_int("finished", a->finished, b->finished);
  same_int("run verdict", a->verdict, b->verdict);
  same_int("steps", (long long)a->n_steps, (long long)b->n_steps);
  for (size_t i = 0; i < a->n_steps; i++)
    same_step(&a->steps[i], &b->steps[i]);
}

/* ---- feeding a file ---- */

static void append(const char *path, const char *bytes, size_t len) {
  FILE *out = fopen(path, "ab");
  if (!out || fwrite(bytes, 1, len, out) != len || fclose(out) != 0)
    fail_msg("cannot append to %s", path);
}

/* The follower's model after an update, against kiln_ocp_read() of the
 * file as it is (the caller never leaves a whole line without its
 * newline, which kiln_ocp_read takes and the follower leaves for later). */
static void check_follower(struct kiln_ocp_follow *f, const char *path) {
  char err[512] = "";
  if (kiln_ocp_follow_update(f, err, sizeof err) != 0)
    fail_msg("kiln_ocp_follow_update: %s", err);
  struct kiln_run whole;
  kiln_run_init(&whole);
  char whole_err[512] = "";
  if (kiln_ocp_read(path, &whole, whole_err, sizeof whole_err) == 0) {
    assert_true(kiln_ocp_follow_started(f));
    same_run(kiln_ocp_follow_run(f), &whole);
  } else {
    assert_contains(whole_err, "no testRunStart");
    assert_false(kiln_ocp_follow_started(f));
    assert_int_equal(kiln_ocp_follow_run(f)->n_steps, 0);
  }
  kiln_run_free(&whole);
}

/* Appends text to path in pieces of the given sizes (cycled), the follower
 * updated and checked after each. A piece that would end just before a
 * newline takes the newline too. */
static void feed_in_pieces(struct kiln_ocp_follow *f, const char *path,
                           const char *text, size_t len, const size_t *sizes,
                           size_t n_sizes) {
  for (size_t at = 0, k = 0; at < len; k++) {
    size_t end = at + sizes[k % n_sizes];
    if (end > len)
      end = len;
    if (end < len && text[end] == '\n')
      end++;
    append(path, text + at, end - at);
    at = end;
    check_follower(f, path);
  }
}

static const char *const fixtures[] = {"standard", "pass", "fail", "crash",
                                       "cut"};

/* Every fixture fed in pieces that cut lines anywhere (one byte, a few,
 * a line and a half, many lines at once). */
static void test_follow_pieces(void **state) {
  static const size_t sizes[] = {1, 17, 300, 2, 4096, 129, 9000, 61};
  for (size_t i = 0; i < sizeof fixtures / sizeof *fixtures; i++) {
    char *src = kiln_strdup_printf(FIXTURES "%s.ocp.jsonl", fixtures[i]);
    char *text = fixture_read_file(src);
    assert_non_null(text);
    char *dir = fixture_tmpdir();
    char *path = fixture_path(dir, "ocp.jsonl");
    fs_write_file(path, "");
    struct kiln_ocp_follow *f = kiln_ocp_follow_open(path);
    feed_in_pieces(f, path, text, strlen(text), sizes,
                   sizeof sizes / sizeof *sizes);
    /* Nothing new: the same model. */
    check_follower(f, path);
    kiln_ocp_follow_close(f);
    free(path);
    fixture_rmdir(dir);
    free(text);
    free(src);
  }
}

/* Whole lines only, one at a time: the model moves line by line. */
static void test_follow_lines(void **state) {
  char *text = fixture_read_file(FIXTURES "fail.ocp.jsonl");
  assert_non_null(text);
  char *dir = fixture_tmpdir();
  char *path = fixture_path(dir, "ocp.jsonl");
  fs_write_file(path, "");
  struct kiln_ocp_follow *f = kiln_ocp_follow_open(path);
  for (char *at = text; *at;) {
    char *nl = strchr(at, '\n');
    size_t len = nl ? (size_t)(nl - at) + 1 : strlen(at);
    append(path, at, len);
    at += len;
    check_follower(f, path);
  }
  assert_true(kiln_ocp_follow_run(f)->finished);
  assert_int_equal(kiln_ocp_follow_run(f)->verdict, KILN_FAIL);
  kiln_ocp_follow_close(f);
  free(path);
  fixture_rmdir(dir);
  free(text);
}

/* What was read is not read again: bytes before the follower's place,
 * overwritten in place (same file, same size), change nothing, and what
 * is appended after them is read. */
static void test_follow_reads_only_appended(void **state) {
  char *text = fixture_read_file(FIXTURES "pass.ocp.jsonl");
  assert_non_null(text);
  size_t len = strlen(text);
  char *half_end = strchr(text + len / 2, '\n') + 1;
  size_t half = (size_t)(half_end - text);
  char *dir = fixture_tmpdir();
  char *path = fixture_path(dir, "ocp.jsonl");
  fs_write_file(path, "");
  append(path, text, half);
  struct kiln_ocp_follow *f = kiln_ocp_follow_open(path);
  check_follower(f, path);
  size_t steps_done = 0;
  const struct kiln_run *run = kiln_ocp_follow_run(f);
  for (size_t i = 0; i < run->n_steps; i++)
    steps_done += run->steps[i].state == KILN_STEP_DONE;
  assert_true(steps_done > 0);

  FILE *out = fopen(path, "r+b");
  assert_non_null(out);
  for (size_t i = 0; i < half - 1; i++)
    fputc(text[i] == '\n' ? '\n' : 'x', out);
  assert_int_equal(fclose(out), 0);
  append(path, half_end, len - half);
  char err[512] = "";
  if (kiln_ocp_follow_update(f, err, sizeof err) != 0)
    fail_msg("kiln_ocp_follow_update: %s", err);
  struct kiln_run whole;
  kiln_run_init(&whole);
  assert_int_equal(
      kiln_ocp_read(FIXTURES "pass.ocp.jsonl", &whole, err, sizeof err), 0);
  same_run(kiln_ocp_follow_run(f), &whole);
  assert_true(kiln_ocp_follow_run(f)->finished);
  kiln_run_free(&whole);
  kiln_ocp_follow_close(f);
  free(path);
  fixture_rmdir(dir);
  free(text);
}

/* A file replaced (another inode, here larger than what was read) and a
 * file that shrank (truncated and rewritten shorter) are each read again
 * from the start into a fresh model. */
static void test_follow_starts_over(void **state) {
  char *pass_text = fixture_read_file(FIXTURES "pass.ocp.jsonl");
  char *fail_text = fixture_read_file(FIXTURES "fail.ocp.jsonl");
  char *crash_text = fixture_read_file(FIXTURES "crash.ocp.jsonl");
  assert_non_null(pass_text);
  assert_non_null(fail_text);
  assert_non_null(crash_text);
  char *dir = fixture_tmpdir();
  char *path = fixture_path(dir, "ocp.jsonl");
  char *next = fixture_path(dir, "next.jsonl");
  fs_write_file(path, pass_text);
  struct kiln_ocp_follow *f = kiln_ocp_follow_open(path);
  check_follower(f, path);
  assert_int_equal(kiln_ocp_follow_run(f)->verdict, KILN_PASS);
  struct stat first;
  assert_int_equal(stat(path, &first), 0);

  /* Replaced by a rename with another, longer record: read from its
   * start, not on from where the first one ended. */
  fs_write_file(next, fail_text);
  assert_int_equal(rename(next, path), 0);
  struct stat second;
  assert_int_equal(stat(path, &second), 0);
  assert_true(second.st_ino != first.st_ino);
  assert_true(second.st_size > first.st_size);
  check_follower(f, path);
  assert_int_equal(kiln_ocp_follow_run(f)->verdict, KILN_FAIL);

  /* Shrunk in place (the same inode): crash's first third. */
  size_t part = strlen(crash_text) / 3;
  while (crash_text[part - 1] != '\n')
    part--;
  crash_text[part] = '\0';
  fs_write_file(path, crash_text);
  struct stat third;
  assert_int_equal(stat(path, &third), 0);
  assert_true(third.st_ino == second.st_ino);
  check_follower(f, path);
  assert_false(kiln_ocp_follow_run(f)->finished);

  kiln_ocp_follow_close(f);
  free(next);
  free(path);
  fixture_rmdir(dir);
  free(pass_text);
  free(fail_text);
  free(crash_text);
}

/* A malformed line is refused with the file and line, again on every
 * update while more is appended, and forgotten once the file is replaced. */
static void test_follow_broken_line(void **state) {
  char *text = fixture_read_file(FIXTURES "pass.ocp.jsonl");
  assert_non_null(text);
  char *dir = fixture_tmpdir();
  char *path = fixture_path(dir, "ocp.jsonl");
  char *three = kiln_xstrdup(text);
  char *at = three;
  for (int i = 0; i < 3; i++)
    at = strchr(at, '\n') + 1;
  *at = '\0';
  char *broken = kiln_strdup_printf("%s{oops\n", three);
  fs_write_file(path, broken);
  struct kiln_ocp_follow *f = kiln_ocp_follow_open(path);
  char err[512] = "";
  assert_int_equal(kiln_ocp_follow_update(f, err, sizeof err), -1);
  assert_contains(err, "ocp.jsonl: line 4: not JSON");
  append(path, text + strlen(three), strlen(text) - strlen(three));
  err[0] = '\0';
  assert_int_equal(kiln_ocp_follow_update(f, err, sizeof err), -1);
  assert_contains(err, "ocp.jsonl: line 4: not JSON");

  char *next = fixture_path(dir, "next.jsonl");
  fs_write_file(next, text);
  assert_int_equal(rename(next, path), 0);
  check_follower(f, path);
  assert_true(kiln_ocp_follow_run(f)->finished);

  /* A file that is not there: an error naming it, the model kept. */
  assert_int_equal(unlink(path), 0);
  assert_int_equal(kiln_ocp_follow_update(f, err, sizeof err), -1);
  assert_contains(err, "ocp.jsonl: No such file");
  assert_true(kiln_ocp_follow_run(f)->finished);

  kiln_ocp_follow_close(f);
  free(next);
  free(broken);
  free(three);
  free(path);
  fixture_rmdir(dir);
  free(text);
}

/* ---- the step kiln fleet shows ---- */

/* A stream's head: the plan below, run started at 08:00:00. */
static const char fleet_header[] =
    "{\"schemaVersion\":{\"major\":2,\"minor\":0},\"sequenceNumber\":0,"
    "\"timestamp\":\"2027-01-15T08:00:00.000Z\"}\n"
    "{\"testRunArtifact\":{\"testRunStart\":{\"name\":\"kiln\",\"version\":"
    "\"0.1.0\",\"commandLine\":\"kiln run\",\"parameters\":{\"profile\":"
    "\"standard\",\"profileSource\":\"built-in:standard\",\"reportDir\":"
    "\"d\",\"plannedSteps\":[\"cpu.compute\",\"fans\",\"dram.bandwidth\","
    "\"thermal\",\"edac\"],\"plannedSeconds\":4.0},\"dutInfo\":{"
    "\"dutInfoId\":\"SN1\",\"name\":\"h1\",\"metadata\":{\"serial\":"
    "\"SN1\"}}}},\"sequenceNumber\":1,\"timestamp\":"
    "\"2027-01-15T08:00:00.000Z\"}\n";

enum { CPU, FANS, DRAM, THERMAL, EDAC };

struct start {
  int step;          /* index in the plan above */
  const char *clock; /* "00:01.000": minutes and seconds after 08:00 */
  bool ends;         /* ended (COMPLETE) right after starting */
};

/* DIR/node/ocp.jsonl: the header, then the starts in stream order. */
static void write_node(const char *dir, const char *node,
                       const struct start *starts, size_t n) {
  char *node_dir = fixture_path(dir, node);
  assert_int_equal(mkdir(node_dir, 0755), 0);
  char *path = fixture_path(node_dir, "ocp.jsonl");
  char *text = kiln_xstrdup(fleet_header);
  int seq = 2;
  for (size_t i = 0; i < n; i++) {
    for (int end = 0; end <= (int)starts[i].ends; end++) {
      char *more = kiln_strdup_printf(
          "%s{\"testStepArtifact\":{\"testStepId\":\"%d\",%s},"
          "\"sequenceNumber\":%d,\"timestamp\":\"2027-01-15T08:%sZ\"}\n",
          text, starts[i].step,
          end ? "\"testStepEnd\":{\"status\":\"COMPLETE\"}"
              : "\"testStepStart\":{\"name\":\"x\"}",
          seq++, starts[i].clock);
      free(text);
      text = more;
    }
  }
  fs_write_file(path, text);
  free(text);
  free(path);
  free(node_dir);
}

static void test_fleet_current_step(void **state) {
  char *dir = fixture_tmpdir();
  /* n1: the monitors alone: a monitor, the later in the plan on a tie. */
  const struct start n1[] = {{THERMAL, "00:01.000", false},
                             {EDAC, "00:01.000", false}};
  /* n2: cpu.compute beside the monitors (which start first, as the
   * runner starts them): cpu.compute, never the monitor. */
  const struct start n2[] = {{THERMAL, "00:01.000", false},
                             {EDAC, "00:01.010", false},
                             {CPU, "00:01.020", false}};
  /* n3: dram.bandwidth, then cpu.compute started later: cpu.compute,
   * though dram.bandwidth is later in the plan. */
  const struct start n3[] = {{THERMAL, "00:01.000", false},
                             {EDAC, "00:01.000", false},
                             {DRAM, "00:02.000", false},
                             {CPU, "00:03.000", false}};
  /* n4: cpu.compute and fans started in the same millisecond: fans (the
   * later in the plan); a step started even later but ended is no
   * candidate; a monitor started after them does not win either. */
  const struct start n4[] = {{CPU, "00:02.000", false},
                             {FANS, "00:02.000", false},
                             {DRAM, "00:05.000", true},
                             {EDAC, "00:06.000", false}};
  write_node(dir, "n1", n1, 2);
  write_node(dir, "n2", n2, 3);
  write_node(dir, "n3", n3, 4);
  write_node(dir, "n4", n4, 4);
  char err[512] = "";
  struct kiln_fleet *f = kiln_fleet_look(dir, err, sizeof err);
  if (!f)
    fail_msg("kiln_fleet_look: %s", err);
  assert_int_equal(kiln_fleet_n_nodes(f), 4);
  static const char *const want[] = {"edac", "cpu.compute", "cpu.compute",
                                     "fans"};
  for (size_t i = 0; i < 4; i++) {
    const struct kiln_fleet_node *node = kiln_fleet_node(f, i);
    assert_int_equal(node->state, KILN_FLEET_RUNNING);
    if (!node->step || strcmp(node->step, want[i]) != 0)
      fail_msg("%s shows %s, not %s", node->name,
               node->step ? node->step : "(no step)", want[i]);
  }
  kiln_fleet_free(f);
  fixture_rmdir(dir);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_follow_pieces),
      cmocka_unit_test(test_follow_lines),
      cmocka_unit_test(test_follow_reads_only_appended),
      cmocka_unit_test(test_follow_starts_over),
      cmocka_unit_test(test_follow_broken_line),
      cmocka_unit_test(test_fleet_current_step),
  };
  cmocka_set_message_output(CM_OUTPUT_TAP);
  return cmocka_run_group_tests(tests, NULL, NULL);
}
