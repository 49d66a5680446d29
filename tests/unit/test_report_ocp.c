/* The OCP JSON-lines sink: content, the real validator, hostile strings,
 * and a full disk. */
#include <math.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "kiln/reports.h"
#include "kiln/textutil.h"
#include "report_fixture.h"

/* Streams run through a fresh OCP sink into dir/ocp.jsonl; returns the
 * path (malloc'd). */
static char *stream_run(const char *dir, const struct kiln_run *run) {
  char err[256] = "";
  char *path = fixture_path(dir, "ocp.jsonl");
  struct kiln_sink *sink = kiln_ocp_sink_open(path, err, sizeof err);
  assert_non_null(sink);
  assert_int_equal(fixture_replay(sink, run), 0);
  sink->close(sink);
  return path;
}

/* A fresh OCP sink on dir/ocp.jsonl (its path to *path, malloc'd) with run
 * and its step st started: a stream as it stands mid-step. */
static struct kiln_sink *open_mid_step(const char *dir,
                                       const struct kiln_run *run,
                                       const struct kiln_step_result *st,
                                       char **path) {
  char err[256] = "";
  *path = fixture_path(dir, "ocp.jsonl");
  struct kiln_sink *sink = kiln_ocp_sink_open(*path, err, sizeof err);
  assert_non_null(sink);
  assert_int_equal(sink->run_start(sink, run), 0);
  assert_int_equal(sink->step_start(sink, run, st), 0);
  return sink;
}

/* ../shared's ocp-validate on path: its exit status, its report in
 * *output when asked. Ask fixture_shared_here("tools/ocp-validate") first. */
static int ocp_validate(const char *path, char **output) {
  return fixture_command(output, "%s/tools/ocp-validate %s",
                         fixture_shared_dir(), path);
}

/* ocp-validate accepts path; where ../shared has none the check is left
 * out (fixture_skip_left_out ends the test SKIP). */
static void assert_ocp_valid(const char *path) {
  if (fixture_shared_here("tools/ocp-validate"))
    assert_int_equal(ocp_validate(path, NULL), 0);
}

/* The last line of a file (the testRunEnd of a finished stream). */
static char *last_line(const char *path) {
  char *text = fixture_read_file(path);
  assert_non_null(text);
  size_t len = strlen(text);
  assert_true(len > 1 && text[len - 1] == '\n');
  text[len - 1] = 0;
  char *start = strrchr(text, '\n');
  char *line = kiln_xstrdup(start ? start + 1 : text);
  free(text);
  return line;
}

static const char check_mixed_stream[] =
    "import json, re, sys\n"
    "lines = [json.loads(l) for l in open(sys.argv[1], encoding='utf-8')]\n"
    "assert [o['sequenceNumber'] for o in lines] == list(range(len(lines)))\n"
    "stamp = "
    "re.compile(r'^\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}Z$')\n"
    "assert all(stamp.match(o['timestamp']) for o in lines)\n"
    "assert lines[0]['schemaVersion'] == {'major': 2, 'minor': 0}\n"
    "start = lines[1]['testRunArtifact']['testRunStart']\n"
    "assert start['name'] == 'kiln' and start['version'] == '0.1.0', start\n"
    "assert start['commandLine'] == 'kiln run --profile quick'\n"
    "p = start['parameters']\n"
    "assert p['profile'] == 'quick' and p['profileSource'] == 'built-in', p\n"
    "assert p['reportDir'] == 'kiln-reports/test', p\n"
    "assert p['plannedSteps'][6] == 'pcie.link', p\n"
    "assert p['plannedSeconds'] == 125 and p['sku'] == 'h100-sxm5-80gb', p\n"
    "dut = start['dutInfo']\n"
    "assert dut['dutInfoId'] == SERIAL and dut['name'] == 'node17', dut\n"
    "assert dut['platformInfos'] == [{'info': 'Supermicro SYS-821GE-TNHR'}]\n"
    "assert dut['metadata']['serial'] == SERIAL, dut\n"
    "assert dut['metadata']['boardSerial'] == 'BRD-0042', dut\n"
    "assert dut['softwareInfos'] == [{'softwareInfoId': 'bios', 'name': "
    "'BIOS',\n"
    "    'version': '2.1a', 'softwareType': 'FIRMWARE', 'revision': "
    "'05/14/2025'}]\n"
    "hw = dut['hardwareInfos']\n"
    "assert hw[0] == {'hardwareInfoId': 'gpu:0000:1b:00.0', 'name':\n"
    "    'NVIDIA H100 80GB HBM3', 'partType': 'GPU', 'location': "
    "'0000:1b:00.0',\n"
    "    'serialNumber': SERIAL, 'manufacturer': 'NVIDIA'}, hw[0]\n"
    "assert hw[1]['partNumber'] == 'M321R8GA0BB0-CQKZJ', hw[1]\n"
    "assert hw[1]['serialNumber'] == '80CE01234567' and len(hw) == 2, hw\n"
    "steps, ids = {}, {}\n"
    "for o in lines:\n"
    "    a = o.get('testStepArtifact')\n"
    "    if a and 'testStepStart' in a:\n"
    "        ids[a['testStepStart']['name']] = a['testStepId']\n"
    "        steps[a['testStepId']] = []\n"
    "    if a: steps[a['testStepId']].append(a)\n"
    "def get(name, kind): return [a[kind] for a in steps[ids[name]] if kind in "
    "a]\n"
    "assert ids['cpu.compute'] == '0' and ids['fans'] == '4', ids\n"
    "assert 'pcie.link' not in ids, ids\n"
    "m = get('cpu.compute', 'measurement')\n"
    "assert m[0] == {'name': 'gflops', 'value': 123.5, 'unit': 'GFLOP/s',\n"
    "    'validators': [{'name': 'lo', 'type': 'GREATER_THAN_OR_EQUAL',\n"
    "    'value': 100.0}], 'subcomponent': {'name': 'cpu'}}, m[0]\n"
    "assert m[1]['name'] == LABEL, m[1]\n"
    "assert m[1]['subcomponent'] == {'name': SERIAL}, m[1]\n"
    "assert [v['type'] for v in m[1]['validators']] == "
    "['GREATER_THAN_OR_EQUAL', 'LESS_THAN_OR_EQUAL']\n"
    "assert get('cpu.compute', 'diagnosis')[0]['type'] == 'PASS'\n"
    "assert get('cpu.compute', 'log') == [{'severity': 'INFO',\n"
    "    'message': '32 cores tested'}]\n"
    "assert get('cpu.compute', 'testStepEnd') == [{'status': 'COMPLETE'}]\n"
    "d = get('dram.pattern', 'diagnosis')\n"
    "assert d == [{'verdict': 'dram-bitflip', 'type': 'FAIL', 'message':\n"
    "    'bit 3 flipped at 0x7f001234 on DIMM A1',\n"
    "    'subcomponent': {'name': 'DIMM_A1'}}], d\n"
    "assert get('dram.pattern', 'log')[0]['severity'] == 'ERROR'\n"
    "assert get('dram.pattern', 'testStepEnd') == [{'status': 'COMPLETE'}]\n"
    "d = get('gpu.membw[0]', 'diagnosis')\n"
    "assert [x['verdict'] for x in d] == ['measurement-out-of-limits'] * 2\n"
    "assert d[0]['type'] == 'FAIL' and 'bandwidth on gpu0 = 1200 GB/s' in "
    "d[0]['message'], d\n"
    "assert d[0]['subcomponent'] == {'name': 'gpu0'}, d\n"
    "assert get('gpu.membw[0]', 'measurement')[1]['value'] == 'NaN'\n"
    "assert get('gpu.membw[0]', 'testStepEnd') == [{'status': 'COMPLETE'}]\n"
    "assert 'no NVIDIA driver' in get('gpu.query[0]', 'log')[0]['message']\n"
    "assert get('gpu.query[0]', 'testStepEnd') == [{'status': 'SKIP'}]\n"
    "assert get('fans', 'error') == [{'symptom': 'step-error',\n"
    "    'message': 'child crashed: SIGSEGV'}]\n"
    "assert get('fans', 'log')[0]['severity'] == 'WARNING'\n"
    "assert get('fans', 'testStepEnd') == [{'status': 'ERROR'}]\n"
    "assert get('dram.bandwidth', 'error') == [{'symptom': 'step-aborted',\n"
    "    'message': 'SIGTERM received'}]\n"
    "assert get('dram.bandwidth', 'testStepEnd') == [{'status': 'ERROR'}]\n"
    "run = [o['testRunArtifact'] for o in lines if 'testRunArtifact' in o]\n"
    "assert run[1] == {'log': {'severity': 'WARNING',\n"
    "    'message': 'run-level note: ' + SERIAL}}, run[1]\n"
    "assert run[2] == {'error': {'symptom': 'run-aborted',\n"
    "    'message': 'SIGTERM received'}}, run[2]\n"
    "assert run[3] == {'testRunEnd': {'status': 'ERROR', 'result': 'FAIL'}}\n"
    "assert 'testRunEnd' in lines[-1]['testRunArtifact']\n";

static void mixed_run_stream_is_valid_and_says_everything(void **state) {
  struct kiln_run run;
  fixture_mixed_run(&run);
  char *dir = fixture_tmpdir();
  char *path = stream_run(dir, &run);
  assert_ocp_valid(path);
  assert_int_equal(fixture_python(dir, check_mixed_stream, path), 0);

  char *text = fixture_read_file(path);
  assert_non_null(strstr(
      text, "{\"schemaVersion\":{\"major\":2,\"minor\":0},\"sequenceNumber\":0,"
            "\"timestamp\":\"2027-01-15T08:00:00.000Z\"}\n"));
  /* The control byte travels as a JSON escape, never raw. */
  assert_non_null(
      strstr(text, "\"dutInfoId\":\"A<&>\\\"'B\\u0001\xef\xbf\xbd\""));
  assert_null(memchr(text, '\x01', strlen(text)));
  free(text);
  free(path);
  fixture_rmdir(dir);
  kiln_run_free(&run);
  fixture_skip_left_out();
}

static void run_end_states_the_outcome_honestly(void **state) {
  static const struct {
    enum kiln_verdict step_verdict;
    const char *expected;
  } cases[] = {
      {KILN_PASS,
       "\"testRunEnd\":{\"status\":\"COMPLETE\",\"result\":\"PASS\"}"},
      {KILN_SKIP,
       "\"testRunEnd\":{\"status\":\"SKIP\",\"result\":\"NOT_APPLICABLE\"}"},
      {KILN_ERROR,
       "\"testRunEnd\":{\"status\":\"ERROR\",\"result\":\"NOT_APPLICABLE\"}"},
      {KILN_ABORTED,
       "\"testRunEnd\":{\"status\":\"ERROR\",\"result\":\"NOT_APPLICABLE\"}"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    struct kiln_run run;
    fixture_run_header(&run);
    struct kiln_step_result *s = kiln_run_add_step(&run, "x", "x", "host", 1);
    s->start = FIXTURE_T0;
    kiln_step_finish(s, cases[i].step_verdict, "why", FIXTURE_T0 + 1);
    run.finished = true;
    run.verdict = kiln_run_verdict(&run);
    char *dir = fixture_tmpdir();
    char *path = stream_run(dir, &run);
    assert_ocp_valid(path);
    char *line = last_line(path);
    if (!strstr(line, cases[i].expected))
      fail_msg("%s: %s lacks %s", kiln_verdict_name(cases[i].step_verdict),
               line, cases[i].expected);
    free(line);
    free(path);
    fixture_rmdir(dir);
    kiln_run_free(&run);
  }
  fixture_skip_left_out();
}

static const char check_series[] =
    "import json, sys\n"
    "lines = [json.loads(l) for l in open(sys.argv[1], encoding='utf-8')]\n"
    "arts = [o['testStepArtifact'] for o in lines if 'testStepArtifact' in "
    "o]\n"
    "start = [a['measurementSeriesStart'] for a in arts if "
    "'measurementSeriesStart' in a]\n"
    "assert start == [{'measurementSeriesId': 'sensors/nct/fan1', 'name':\n"
    "    LABEL, 'unit': 'RPM', 'validators': [{'name': 'lo', 'type':\n"
    "    'GREATER_THAN_OR_EQUAL', 'value': 400.0}], 'subcomponent':\n"
    "    {'name': SERIAL}}], start\n"
    "el = [a['measurementSeriesElement'] for a in arts if "
    "'measurementSeriesElement' in a]\n"
    "assert [e['index'] for e in el] == [0, 1, 2], el\n"
    "assert [e['value'] for e in el] == [1450.0, 0.0, 'NaN'], el\n"
    "assert el[1]['timestamp'] == '2027-01-15T08:00:01.000Z', el\n"
    "end = [a['measurementSeriesEnd'] for a in arts if "
    "'measurementSeriesEnd' in a]\n"
    "assert end == [{'measurementSeriesId': 'sensors/nct/fan1', "
    "'totalCount': 3}]\n";

/* A telemetry series inside a monitor step: start, elements, end. */
static void series_stream_is_valid(void **state) {
  struct kiln_run run;
  fixture_run_header(&run);
  struct kiln_step_result *st =
      kiln_run_add_step(&run, "thermal", "thermal", "host", 1000);
  st->state = KILN_STEP_RUNNING;
  st->start = FIXTURE_T0;
  char *dir = fixture_tmpdir(), *path;
  struct kiln_sink *sink = open_mid_step(dir, &run, st, &path);
  struct kiln_series se = {.id = "sensors/nct/fan1",
                           .name = FIXTURE_LABEL,
                           .unit = "RPM",
                           .hwid = FIXTURE_SERIAL,
                           .limit = {.has_lo = true, .lo = 400}};
  assert_int_equal(sink->series_start(sink, &run, st, &se), 0);
  const double values[] = {1450, 0, NAN};
  for (size_t i = 0; i < 3; i++, se.count++)
    assert_int_equal(sink->series_element(sink, &run, st, &se, values[i],
                                          FIXTURE_T0 + (double)i),
                     0);
  assert_int_equal(sink->series_end(sink, &run, st, &se), 0);
  kiln_step_finish(st, KILN_PASS, NULL, FIXTURE_T0 + 3);
  assert_int_equal(sink->step_end(sink, &run, st), 0);
  run.end = FIXTURE_T0 + 3;
  run.finished = true;
  assert_int_equal(sink->run_end(sink, &run), 0);
  sink->close(sink);
  assert_ocp_valid(path);
  assert_int_equal(fixture_python(dir, check_series, path), 0);
  free(path);
  fixture_rmdir(dir);
  kiln_run_free(&run);
  fixture_skip_left_out();
}

static void passing_run_ends_complete_pass(void **state) {
  struct kiln_run run;
  fixture_passing_run(&run);
  char *dir = fixture_tmpdir();
  char *path = stream_run(dir, &run);
  assert_ocp_valid(path);
  char *line = last_line(path);
  assert_non_null(strstr(
      line, "\"testRunEnd\":{\"status\":\"COMPLETE\",\"result\":\"PASS\"}"));
  free(line);
  free(path);
  fixture_rmdir(dir);
  kiln_run_free(&run);
  fixture_skip_left_out();
}

/* A step still open when the run ends is closed as an error, so the
 * stream stays valid. */
static void steps_left_open_are_closed_at_run_end(void **state) {
  struct kiln_run run;
  fixture_run_header(&run);
  struct kiln_step_result *s =
      kiln_run_add_step(&run, "gpu.burn[0]", "gpu.burn", "0000:01:00.0", 1);
  s->state = KILN_STEP_RUNNING;
  s->start = FIXTURE_T0;
  char *dir = fixture_tmpdir();
  char *path = stream_run(dir, &run);
  assert_ocp_valid(path);
  char *text = fixture_read_file(path);
  assert_non_null(strstr(text, "\"symptom\":\"step-unfinished\""));
  assert_non_null(strstr(text, "\"testStepEnd\":{\"status\":\"ERROR\"}"));
  free(text);
  free(path);
  fixture_rmdir(dir);
  kiln_run_free(&run);
  fixture_skip_left_out();
}

/* What a node that dies mid-run leaves: every line complete JSON, and the
 * validator's only complaint is the missing testRunEnd. */
static void stream_cut_short_is_a_valid_prefix(void **state) {
  struct kiln_run run;
  fixture_mixed_run(&run);
  char *dir = fixture_tmpdir(), *path;
  struct kiln_sink *sink = open_mid_step(dir, &run, &run.steps[0], &path);
  assert_int_equal(sink->measurement(sink, &run, &run.steps[0],
                                     &run.steps[0].measurements[0]),
                   0);
  /* Read it while the sink is still open: each event is already flushed. */
  if (fixture_shared_here("tools/ocp-validate")) {
    char *output = NULL;
    assert_int_equal(ocp_validate(path, &output), 1);
    assert_non_null(strstr(output, "no testRunEnd"));
    assert_null(strstr(output, "not JSON"));
    size_t problems = 0;
    for (const char *p = output; (p = strstr(p, "ocp.jsonl:")); p++)
      problems++;
    assert_int_equal(problems, 1);
    free(output);
  }
  sink->close(sink);
  free(path);
  fixture_rmdir(dir);
  kiln_run_free(&run);
  fixture_skip_left_out();
}

static void full_disk_fails_cleanly(void **state) {
  struct kiln_run run;
  fixture_mixed_run(&run);
  char err[256] = "";
  struct kiln_sink *sink = kiln_ocp_sink_open("/dev/full", err, sizeof err);
  assert_non_null(sink);
  assert_int_equal(sink->run_start(sink, &run), -1);
  assert_string_equal(sink->err, "/dev/full: No space left on device");
  /* A failed sink stays failed, without crashing. */
  assert_int_equal(sink->step_start(sink, &run, &run.steps[0]), -1);
  assert_int_equal(sink->run_end(sink, &run), -1);
  sink->close(sink);
  kiln_run_free(&run);
}

static long file_size(const char *path) {
  struct stat info;
  assert_int_equal(stat(path, &info), 0);
  return (long)info.st_size;
}

/* A disk that fills in the middle of a line (here a file size limit): the
 * line is cut back off, the stream drops what follows, and at the run end,
 * with room again, it closes its record, says what it lost, and still
 * reports the loss. */
static void write_cut_short_leaves_whole_lines(void **state) {
  struct kiln_run run;
  fixture_mixed_run(&run);
  char *dir = fixture_tmpdir(), *path;
  struct kiln_sink *sink = open_mid_step(dir, &run, &run.steps[0], &path);
  long whole = file_size(path);

  struct rlimit saved, small;
  assert_int_equal(getrlimit(RLIMIT_FSIZE, &saved), 0);
  small = saved;
  small.rlim_cur = (rlim_t)whole + 40; /* ends inside the next line */
  void (*old_handler)(int) = signal(SIGXFSZ, SIG_IGN);
  assert_int_equal(setrlimit(RLIMIT_FSIZE, &small), 0);
  int rc = sink->measurement(sink, &run, &run.steps[0],
                             &run.steps[0].measurements[0]);
  assert_int_equal(setrlimit(RLIMIT_FSIZE, &saved), 0);
  signal(SIGXFSZ, old_handler);
  assert_int_equal(rc, -1);
  assert_non_null(strstr(sink->err, "File too large"));
  assert_int_equal(file_size(path), whole);

  assert_int_equal(sink->run_end(sink, &run), -1);
  assert_non_null(strstr(sink->err, "were lost (File too large)"));
  if (fixture_shared_here("tools/ocp-validate")) {
    char *output = NULL;
    if (ocp_validate(path, &output) != 0)
      fail_msg("%s", output);
    free(output);
  }
  char *text = fixture_read_file(path);
  assert_non_null(strstr(text, "\"symptom\":\"report-incomplete\""));
  assert_non_null(strstr(text, "\"symptom\":\"step-record-incomplete\""));
  free(text);
  char *end = last_line(path);
  assert_non_null(strstr(end, "\"testRunEnd\":{\"status\":\"ERROR\""));
  free(end);
  sink->close(sink);
  free(path);
  fixture_rmdir(dir);
  kiln_run_free(&run);
  fixture_skip_left_out();
}

static void unwritable_path_fails_at_open(void **state) {
  char err[256] = "";
  assert_null(
      kiln_ocp_sink_open("/nonexistent-kiln-dir/ocp.jsonl", err, sizeof err));
  assert_string_equal(err, "/nonexistent-kiln-dir/ocp.jsonl: No such file or "
                           "directory");
}

int main(void) {
  cmocka_set_message_output(CM_OUTPUT_TAP);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(mixed_run_stream_is_valid_and_says_everything),
      cmocka_unit_test(run_end_states_the_outcome_honestly),
      cmocka_unit_test(passing_run_ends_complete_pass),
      cmocka_unit_test(series_stream_is_valid),
      cmocka_unit_test(steps_left_open_are_closed_at_run_end),
      cmocka_unit_test(stream_cut_short_is_a_valid_prefix),
      cmocka_unit_test(full_disk_fails_cleanly),
      cmocka_unit_test(write_cut_short_leaves_whole_lines),
      cmocka_unit_test(unwritable_path_fails_at_open),
  };
  return cmocka_run_group_tests_name("report_ocp", tests, NULL, NULL);
}
