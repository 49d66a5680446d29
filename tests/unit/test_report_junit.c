/* The JUnit XML writer and the files sink: content, xmllint against the
 * XSD, junitparser, hostile strings through xml.etree, write errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "kiln/reports.h"
#include "report_fixture.h"

static char *write_junit(const char *dir, const struct kiln_run *run) {
  char err[256] = "";
  char *path = fixture_path(dir, "junit.xml");
  if (kiln_junit_write(run, path, err, sizeof err) != 0)
    fail_msg("kiln_junit_write: %s", err);
  return path;
}

/* Validates path against ../shared's junit-10.xsd; where that is absent
 * the check is left out (fixture_skip_left_out ends the test SKIP). */
static void assert_schema_valid(const char *path) {
  if (!fixture_shared_here("schemas/junit-10.xsd"))
    return;
  assert_int_equal(
      fixture_command(NULL,
                      "xmllint --noout --schema %s/schemas/junit-10.xsd %s",
                      fixture_shared_dir(), path),
      0);
}

/* Only tab and newline may appear raw; every other control byte must
 * have been mapped to a Control Picture or escaped. */
static void assert_no_control_bytes(const char *text) {
  for (const unsigned char *p = (const unsigned char *)text; *p; p++)
    if (*p < 0x20 && *p != '\n' && *p != '\t')
      fail_msg("raw control byte 0x%02x at offset %td", *p,
               (const char *)p - text);
}

static const char check_counts_with_junitparser[] =
    "import sys\n"
    "from junitparser import JUnitXml\n"
    "xml = JUnitXml.fromfile(sys.argv[1])\n"
    "suites = list(xml)\n"
    "names = [s.name for s in suites]\n"
    "assert names == ['cpu.compute', 'dram.pattern', 'gpu.membw', "
    "'gpu.query', 'fans', 'dram.bandwidth', 'pcie.link'], names\n"
    "assert (xml.tests, xml.failures, xml.errors) == (7, 2, 3), xml\n"
    "assert [(s.tests, s.failures, s.errors, s.skipped) for s in suites] == "
    "[(1, 0, 0, 0), (1, 1, 0, 0), (1, 1, 0, 0), (1, 0, 0, 1), (1, 0, 1, 0), "
    "(1, 0, 1, 0), (1, 0, 1, 0)]\n"
    "cases = {c.name: c for s in suites for c in s}\n"
    "def outcome(name):\n"
    "    r = cases[name].result\n"
    "    return [(type(x).__name__, x.type, x.message) for x in r]\n"
    "assert outcome('cpu.compute') == [], outcome('cpu.compute')\n"
    "assert outcome('dram.pattern') == [('Failure', 'dram-bitflip',\n"
    "    'bit 3 flipped at 0x7f001234 on DIMM A1')]\n"
    "assert outcome('gpu.membw[0]') == [('Failure', "
    "'measurement-out-of-limits',\n"
    "    'bandwidth on gpu0 = 1200 GB/s, limit x >= 2500')]\n"
    "assert 'latency on gpu0 = nan ns' in "
    "cases['gpu.membw[0]'].result[0].text\n"
    "assert outcome('gpu.query[0]') == [('Skipped', None, 'no NVIDIA "
    "driver')]\n"
    "assert outcome('fans') == [('Error', 'ERROR', 'child crashed: "
    "SIGSEGV')]\n"
    "assert outcome('dram.bandwidth') == [('Error', 'ABORTED', 'SIGTERM "
    "received')]\n"
    "assert outcome('pcie.link') == [('Error', 'PENDING', 'not run yet')]\n"
    "assert cases['gpu.membw[0]'].classname == 'gpu.membw'\n"
    "assert cases['gpu.membw[0]'].time == 5.0\n"
    "assert 'measurement bandwidth on gpu0 = 1200 GB/s' in "
    "cases['gpu.membw[0]'].system_out\n"
    "props = {p.name: p.value for p in suites[0].properties()}\n"
    "assert props['hostname'] == 'node17' and props['profile'] == 'quick'\n"
    "assert props['kiln.version'] == '0.1.0', props\n"
    "assert props['dmi.vendor'] == 'Supermicro', props\n"
    "assert props['dmi.product'] == 'SYS-821GE-TNHR', props\n"
    "assert props['dmi.board_serial'] == 'BRD-0042', props\n"
    "assert props['bios.version'] == '2.1a', props\n"
    "assert props['bios.vendor'] == 'American Megatrends', props\n"
    "assert props['bios.date'] == '05/14/2025', props\n"
    "assert props['hardware.gpu:0000:1b:00.0'].startswith("
    "'NVIDIA H100 80GB HBM3 serial A<&>'), props\n"
    "assert props['hardware.dimm:0:CPU0_DIMM_A1'] == "
    "'64 GiB DDR5 4800 MT/s serial 80CE01234567', props\n"
    "assert suites[0].hostname == 'node17' and suites[0].timestamp == "
    "'2027-01-15T08:00:00.000Z'\n";

static void mixed_run_validates_and_counts(void **state) {
  struct kiln_run run;
  fixture_mixed_run(&run);
  char *dir = fixture_tmpdir();
  char *path = write_junit(dir, &run);
  assert_schema_valid(path);
  assert_int_equal(fixture_python(dir, check_counts_with_junitparser, path), 0);

  char *text = fixture_read_file(path);
  assert_non_null(strstr(text,
                         "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                         "<testsuites name=\"kiln\" tests=\"7\" "
                         "failures=\"2\" errors=\"3\" time=\"100.000\">"));
  assert_non_null(strstr(text, "<testcase name=\"gpu.membw[0]\" "
                               "classname=\"gpu.membw\" time=\"5.000\">"));
  assert_non_null(strstr(text, "<skipped message=\"no NVIDIA driver\"/>"));
  assert_non_null(
      strstr(text, "<error type=\"PENDING\" message=\"not run yet\"/>"));
  /* The serial's \x01 became U+2401, its invalid byte U+FFFD. */
  assert_non_null(strstr(text, "<property name=\"serial\" "
                               "value=\"A&lt;&amp;&gt;&quot;'B\xe2\x90\x81"
                               "\xef\xbf\xbd\"/>"));
  assert_no_control_bytes(text);
  free(text);
  free(path);
  fixture_rmdir(dir);
  kiln_run_free(&run);
  fixture_skip_left_out();
}

static const char check_round_trip_with_etree[] =
    "import sys, xml.etree.ElementTree as ET\n"
    "def unpicture(s):\n"
    "    return ''.join(chr(ord(c) - 0x2400) if 0x2400 <= ord(c) <= 0x241f\n"
    "                   else c for c in s)\n"
    "root = ET.parse(sys.argv[1]).getroot()\n"
    "for suite in root.iter('testsuite'):\n"
    "    props = {p.get('name'): unpicture(p.get('value'))\n"
    "             for p in suite.iter('property')}\n"
    "    assert props['serial'] == SERIAL, props\n"
    "case = root.find(\".//testcase[@classname='m<&>']\")\n"
    "assert case.get('name') == LABEL, case.get('name')\n"
    "reason = unpicture(case.find('skipped').get('message'))\n"
    "assert reason == 'tab\\there\\r\\nunit \\x1f <&> \"q\"', repr(reason)\n"
    "out = unpicture(case.find('system-out').text)\n"
    "assert 'measurement ' + LABEL + ' on ' + SERIAL + ' = 1 (limit' in out, "
    "out\n";

/* Hostile strings in every place: attribute values (step id, reason,
 * properties) and text (system-out). */
static void hostile_strings_round_trip(void **state) {
  struct kiln_run run;
  fixture_run_header(&run);
  struct kiln_step_result *s =
      kiln_run_add_step(&run, FIXTURE_LABEL, "m<&>", "host", 1);
  s->start = FIXTURE_T0;
  const struct kiln_limit range = {.has_lo = true, .lo = 0};
  kiln_step_add_measurement(s, FIXTURE_LABEL, 1, "", &range, FIXTURE_SERIAL,
                            FIXTURE_T0);
  kiln_step_finish(s, KILN_SKIP, "tab\there\r\nunit \x1f <&> \"q\"",
                   FIXTURE_T0 + 1);
  run.finished = true;
  char *dir = fixture_tmpdir();
  char *path = write_junit(dir, &run);
  assert_schema_valid(path);
  assert_int_equal(fixture_python(dir, check_round_trip_with_etree, path), 0);
  char *text = fixture_read_file(path);
  assert_no_control_bytes(text);
  free(text);
  free(path);
  fixture_rmdir(dir);
  kiln_run_free(&run);
  fixture_skip_left_out();
}

static void write_error_is_reported(void **state) {
  struct kiln_run run;
  fixture_mixed_run(&run);
  char err[256] = "";
  assert_int_equal(kiln_junit_write(&run, "/nonexistent-kiln-dir/junit.xml",
                                    err, sizeof err),
                   -1);
  assert_non_null(strstr(err, "/nonexistent-kiln-dir/junit.xml"));
  assert_non_null(strstr(err, "No such file or directory"));
  kiln_run_free(&run);
}

/* ---- the files sink ---- */

static void assert_file_contains(const char *dir, const char *name,
                                 const char *needle) {
  char *path = fixture_path(dir, name);
  char *text = fixture_read_file(path);
  if (!text || !strstr(text, needle))
    fail_msg("%s lacks \"%s\":\n%s", name, needle, text ? text : "(missing)");
  free(text);
  free(path);
}

static void assert_only_reports_in(const char *dir) {
  char *listing = NULL;
  assert_int_equal(fixture_command(&listing, "ls %s", dir), 0);
  assert_string_equal(listing, "junit.xml\nresults.tap\nsummary.txt\n");
  free(listing);
}

/* Mid-run the files already validate and show the steps running and not
 * run; the run end brings them up to date. */
static void files_sink_keeps_reports_current(void **state) {
  struct kiln_run run;
  fixture_run_header(&run);
  kiln_run_add_step(&run, "cpu.compute", "cpu.compute", "host", 1);
  kiln_run_add_step(&run, "fans", "fans", "host", 1);
  struct kiln_step_result *first = &run.steps[0], *fans = &run.steps[1];
  char *dir = fixture_tmpdir();
  char err[256] = "";
  struct kiln_sink *sink = kiln_files_sink_open(dir, 13, err, sizeof err);
  assert_non_null(sink);
  char *junit = fixture_path(dir, "junit.xml");
  char *tap = fixture_path(dir, "results.tap");

  assert_int_equal(sink->run_start(sink, &run), 0);
  assert_file_contains(dir, "results.tap", "not ok 2 - fans\n");

  first->state = KILN_STEP_RUNNING;
  first->start = FIXTURE_T0;
  /* A node that dies now leaves files naming the step it was running. */
  assert_int_equal(sink->step_start(sink, &run, first), 0);
  assert_file_contains(dir, "summary.txt",
                       "  cpu.compute RUNNING: started but not finished\n");
  assert_file_contains(dir, "junit.xml", "<error type=\"RUNNING\"");
  kiln_step_finish(first, KILN_PASS, NULL, FIXTURE_T0 + 2);
  assert_int_equal(sink->step_end(sink, &run, first), 0);
  assert_schema_valid(junit);
  assert_file_contains(dir, "junit.xml", "<error type=\"PENDING\"");
  assert_file_contains(dir, "results.tap", "ok 1 - cpu.compute\n");
  assert_file_contains(dir, "results.tap", "not ok 2 - fans\n");
  assert_file_contains(dir, "summary.txt", "not finished yet");
  assert_int_equal(fixture_command(NULL, "prove -e cat %s", tap), 1);

  fans->start = FIXTURE_T0 + 2;
  kiln_step_finish(fans, KILN_SKIP, "no fan sensors", FIXTURE_T0 + 3);
  assert_int_equal(sink->step_end(sink, &run, fans), 0);
  run.finished = true;
  run.end = FIXTURE_T0 + 3;
  run.verdict = kiln_run_verdict(&run);
  assert_int_equal(sink->run_end(sink, &run), 0);
  assert_schema_valid(junit);
  assert_file_contains(dir, "junit.xml",
                       "<skipped message=\"no fan sensors\"/>");
  assert_file_contains(dir, "summary.txt", "verdict  PASS (exit 0)");
  assert_int_equal(fixture_command(NULL, "prove -e cat %s", tap), 0);
  assert_only_reports_in(dir); /* no temp files left behind */

  sink->close(sink);
  free(junit);
  free(tap);
  fixture_rmdir(dir);
  kiln_run_free(&run);
  fixture_skip_left_out();
}

static void files_sink_needs_an_existing_dir(void **state) {
  char err[256] = "";
  assert_null(
      kiln_files_sink_open("/nonexistent-kiln-dir", 13, err, sizeof err));
  assert_string_equal(err, "/nonexistent-kiln-dir: No such file or directory");
}

int main(void) {
  cmocka_set_message_output(CM_OUTPUT_TAP);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(mixed_run_validates_and_counts),
      cmocka_unit_test(hostile_strings_round_trip),
      cmocka_unit_test(write_error_is_reported),
      cmocka_unit_test(files_sink_keeps_reports_current),
      cmocka_unit_test(files_sink_needs_an_existing_dir),
  };
  return cmocka_run_group_tests_name("report_junit", tests, NULL, NULL);
}
