/* The TAP writer: test points, escapes, prove's verdict, and the YAML
 * blocks as python3-yaml and TAP::Parser read them. */
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

static char *write_tap(const char *dir, const struct kiln_run *run,
                       int version) {
  char err[256] = "";
  char *path = fixture_path(dir, "results.tap");
  if (kiln_tap_write(run, version, path, err, sizeof err) != 0)
    fail_msg("kiln_tap_write: %s", err);
  return path;
}

/* What prove says of a TAP file: its exit status, and its output. */
static int prove(const char *path, char **output) {
  return fixture_command(output, "prove -e cat %s", path);
}

static void assert_contains(const char *text, const char *needle) {
  if (!strstr(text, needle))
    fail_msg("lacks \"%s\" in:\n%s", needle, text);
}

/* A step with a '#', a backslash and a newline in its id, skipped for a
 * reason with the same, and YAML's awkward characters in its measurement:
 * DEL, NEL (U+0085), LINE SEPARATOR (U+2028) and U+FFFE. */
static void hostile_run(struct kiln_run *run) {
  fixture_run_header(run);
  struct kiln_step_result *s =
      kiln_run_add_step(run, "id#1\\x\nnext", "cpu.compute", "host", 1);
  s->start = FIXTURE_T0;
  kiln_step_add_measurement(s, FIXTURE_LABEL, 1, "", NULL, FIXTURE_SERIAL,
                            FIXTURE_T0);
  kiln_step_add_measurement(s,
                            "q\"\\ \x7f \xc2\x85 \xe2\x80\xa8 \xef\xbf\xbe end",
                            2, "unit\t#", NULL, "", FIXTURE_T0);
  kiln_step_finish(s, KILN_SKIP, "reason # with hash\nand newline",
                   FIXTURE_T0 + 1);
  run->finished = true;
  run->verdict = kiln_run_verdict(run);
}

static void points_map_verdicts(void **state) {
  struct kiln_run run;
  fixture_mixed_run(&run);
  char *text = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&text, &len);
  for (size_t i = 0; i < run.n_steps; i++)
    kiln_tap_point(f, i + 1, &run.steps[i]);
  fclose(f);
  assert_contains(text, "ok 1 - cpu.compute\n  ---\n  verdict: \"PASS\"\n");
  assert_contains(text,
                  "not ok 2 - dram.pattern\n  ---\n  verdict: \"FAIL\"\n");
  assert_contains(text, "not ok 3 - gpu.membw[0]\n");
  assert_contains(text, "ok 4 - gpu.query[0] # SKIP no NVIDIA driver\n");
  assert_contains(text, "not ok 5 - fans\n  ---\n  verdict: \"ERROR\"\n");
  assert_contains(text, "not ok 6 - dram.bandwidth\n  ---\n  verdict: "
                        "\"ABORTED\"\n");
  assert_contains(text, "not ok 7 - pcie.link\n  ---\n  verdict: \"PENDING\"\n"
                        "  module: \"pcie.link\"\n  target: \"host\"\n"
                        "  duration_s: 0\n  reason: \"not run yet\"\n  ...\n");
  assert_contains(text, "    - name: \"bandwidth\"\n      value: 1200\n"
                        "      unit: \"GB/s\"\n      lo: 2500\n"
                        "      hwid: \"gpu0\"\n      pass: false\n");
  assert_contains(text, "      value: .nan\n");
  assert_contains(text, "  failures:\n    - symptom: \"dram-bitflip\"\n");
  free(text);
  kiln_run_free(&run);
}

static void descriptions_are_escaped(void **state) {
  struct kiln_run run;
  hostile_run(&run);
  char *text = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&text, &len);
  kiln_tap_point(f, 1, &run.steps[0]);
  fclose(f);
  assert_contains(text, "ok 1 - id\\#1\\\\x\\x0anext # SKIP reason \\# with "
                        "hash\\x0aand newline\n  ---\n");
  assert_contains(text, "    - name: \"label # with\\nnewline\"\n");
  assert_contains(text, "      hwid: \"A<&>\\\"'B\\x01\xef\xbf\xbd\"\n");
  assert_contains(text, "    - name: \"q\\\"\\\\ \\x7f \\x85 \\u2028 \\ufffe "
                        "end\"\n");
  free(text);
  kiln_run_free(&run);
}

static void plan_names_the_version(void **state) {
  char *text = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&text, &len);
  kiln_tap_plan(f, 13, 3);
  kiln_tap_plan(f, 14, 2);
  kiln_tap_plan(f, 0, 0); /* unknown versions fall back to 13 */
  fclose(f);
  assert_string_equal(text, "TAP version 13\n1..3\nTAP version 14\n1..2\n"
                            "TAP version 13\n1..0 # SKIP no steps planned\n");
  free(text);
}

static void prove_passes_a_run_without_failures(void **state) {
  struct kiln_run run;
  fixture_passing_run(&run);
  char *dir = fixture_tmpdir();
  char *path = write_tap(dir, &run, 13);
  char *output = NULL;
  assert_int_equal(prove(path, &output), 0);
  assert_contains(output, "Result: PASS");
  free(output);
  kiln_run_free(&run);

  /* No steps at all is a skipped plan, which passes too. */
  fixture_run_header(&run);
  run.finished = true;
  free(path);
  path = write_tap(dir, &run, 13);
  assert_int_equal(prove(path, &output), 0);
  assert_contains(output, "skipped: no steps planned");
  free(output);
  free(path);
  fixture_rmdir(dir);
  kiln_run_free(&run);
}

static void prove_fails_a_run_with_failures(void **state) {
  struct kiln_run run;
  fixture_mixed_run(&run);
  char *dir = fixture_tmpdir();
  char *path = write_tap(dir, &run, 13);
  char *output = NULL;
  /* 1, not just "nonzero": a missing prove (127) must not count. */
  assert_int_equal(prove(path, &output), 1);
  assert_contains(output, "Failed tests:  2-3, 5-7");
  assert_contains(output, "Result: FAIL");
  free(output);
  char *text = fixture_read_file(path);
  assert_contains(text,
                  "TAP version 13\n1..7\n# kiln 0.1.0 serial "
                  "A<&>\"'B\\x01\xef\xbf\xbd host node17 profile quick\n");
  assert_contains(text, "# run verdict: FAIL\n");
  free(text);
  free(path);
  fixture_rmdir(dir);
  kiln_run_free(&run);
}

static const char check_yaml_blocks[] =
    "import math, sys, yaml\n"
    "blocks, lines, points = [], None, []\n"
    "for line in open(sys.argv[1], encoding='utf-8'):\n"
    "    line = line.rstrip('\\n')\n"
    "    if lines is None and line == '  ---':\n"
    "        lines = []\n"
    "    elif lines is not None and line == '  ...':\n"
    "        blocks.append(yaml.safe_load('\\n'.join(lines)))\n"
    "        lines = None\n"
    "    elif lines is not None:\n"
    "        assert line.startswith('  '), line\n"
    "        lines.append(line[2:])\n"
    "    elif line.startswith(('ok', 'not ok')):\n"
    "        points.append(line)\n"
    "assert len(blocks) == len(points) == 7, (len(blocks), len(points))\n"
    "assert [b['verdict'] for b in blocks] == ['PASS', 'FAIL', 'FAIL', "
    "'SKIP', 'ERROR', 'ABORTED', 'PENDING'], blocks\n"
    "m = blocks[0]['measurements']\n"
    "assert m[0] == {'name': 'gflops', 'value': 123.5, 'unit': 'GFLOP/s',\n"
    "    'lo': 100, 'hwid': 'cpu', 'pass': True}, m[0]\n"
    "assert m[1] == {'name': LABEL, 'value': 1, 'lo': 0, 'hi': 2,\n"
    "    'hwid': SERIAL, 'pass': True}, m[1]\n"
    "assert blocks[0]['duration_s'] == 5 and blocks[0]['target'] == 'host'\n"
    "assert blocks[1]['failures'] == [{'symptom': 'dram-bitflip', 'message':\n"
    "    'bit 3 flipped at 0x7f001234 on DIMM A1', 'hwid': 'DIMM_A1'}]\n"
    "assert blocks[1]['message'] == 'bit 3 flipped at 0x7f001234 on DIMM A1'\n"
    "m = blocks[2]['measurements']\n"
    "assert m[0]['pass'] is False and m[0]['lo'] == 2500, m\n"
    "assert math.isnan(m[1]['value']), m\n"
    "assert blocks[3]['reason'] == 'no NVIDIA driver'\n"
    "assert blocks[4]['reason'] == 'child crashed: SIGSEGV'\n"
    "assert blocks[5]['reason'] == 'SIGTERM received'\n"
    "assert blocks[6]['reason'] == 'not run yet'\n";

static void yaml_blocks_load_in_python(void **state) {
  struct kiln_run run;
  fixture_mixed_run(&run);
  char *dir = fixture_tmpdir();
  char *path = write_tap(dir, &run, 13);
  assert_int_equal(fixture_python(dir, check_yaml_blocks, path), 0);
  /* Version 14 changes only the first line. */
  free(path);
  path = write_tap(dir, &run, 14);
  char *text = fixture_read_file(path);
  assert_true(strncmp(text, "TAP version 14\n1..7\n", 20) == 0);
  free(text);
  assert_int_equal(fixture_python(dir, check_yaml_blocks, path), 0);
  free(path);
  fixture_rmdir(dir);
  kiln_run_free(&run);
}

static const char check_hostile_yaml[] =
    "import sys, yaml\n"
    "text = open(sys.argv[1], encoding='utf-8').read()\n"
    "block = text.split('\\n  ---\\n')[1].split('\\n  ...\\n')[0]\n"
    "data = yaml.safe_load(block.replace('\\n  ', '\\n')[2:])\n"
    "m = data['measurements']\n"
    "assert m[0]['name'] == LABEL and m[0]['hwid'] == SERIAL, m[0]\n"
    "assert m[1]['name'] == 'q\"\\\\ \\x7f \\x85 \\u2028 \\ufffe end', m[1]\n"
    "assert m[1]['unit'] == 'unit\\t#', m[1]\n"
    "assert data['reason'] == 'reason # with hash\\nand newline', data\n";

/* TAP::Parser (what prove uses) must read the same block back. */
static const char check_hostile_tap_parser[] =
    "use strict; use warnings; use TAP::Parser;\n"
    "my $p = TAP::Parser->new({source => $ARGV[0]});\n"
    "my (@yaml, @tests);\n"
    "while (my $r = $p->next) {\n"
    "  push @yaml, $r->data if $r->is_yaml;\n"
    "  push @tests, $r if $r->is_test;\n"
    "}\n"
    "die 'parse errors: ' . join('; ', $p->parse_errors) if $p->parse_errors;\n"
    "die 'tests: ' . scalar(@tests) unless @tests == 1;\n"
    "die 'not a skip' unless $tests[0]->has_skip && $tests[0]->is_ok;\n"
    "my $m = $yaml[0]{measurements}[0];\n"
    "die \"name: $m->{name}\" unless $m->{name} eq \"label # "
    "with\\nnewline\";\n"
    "die \"hwid: $m->{hwid}\" unless $m->{hwid} eq "
    "\"A<&>\\\"'B\\x01\\xef\\xbf\\xbd\";\n"
    "die \"reason: $yaml[0]{reason}\"\n"
    "  unless $yaml[0]{reason} eq \"reason # with hash\\nand newline\";\n";

static void hostile_strings_round_trip(void **state) {
  struct kiln_run run;
  hostile_run(&run);
  char *dir = fixture_tmpdir();
  char *path = write_tap(dir, &run, 13);
  assert_int_equal(fixture_python(dir, check_hostile_yaml, path), 0);

  char *script = fixture_path(dir, "check.pl");
  FILE *f = fopen(script, "w");
  assert_non_null(f);
  fputs(check_hostile_tap_parser, f);
  fclose(f);
  assert_int_equal(fixture_command(NULL, "perl %s %s", script, path), 0);
  free(script);

  char *output = NULL;
  assert_int_equal(prove(path, &output), 0);
  assert_contains(output, "Result: PASS");
  free(output);
  free(path);
  fixture_rmdir(dir);
  kiln_run_free(&run);
}

static void write_error_is_reported(void **state) {
  struct kiln_run run;
  fixture_passing_run(&run);
  char err[256] = "";
  assert_int_equal(kiln_tap_write(&run, 13, "/nonexistent-kiln-dir/results.tap",
                                  err, sizeof err),
                   -1);
  assert_non_null(strstr(err, "No such file or directory"));
  kiln_run_free(&run);
}

int main(void) {
  cmocka_set_message_output(CM_OUTPUT_TAP);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(points_map_verdicts),
      cmocka_unit_test(descriptions_are_escaped),
      cmocka_unit_test(plan_names_the_version),
      cmocka_unit_test(prove_passes_a_run_without_failures),
      cmocka_unit_test(prove_fails_a_run_with_failures),
      cmocka_unit_test(yaml_blocks_load_in_python),
      cmocka_unit_test(hostile_strings_round_trip),
      cmocka_unit_test(write_error_is_reported),
  };
  return cmocka_run_group_tests_name("report_tap", tests, NULL, NULL);
}
