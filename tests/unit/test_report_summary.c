/* The human summary: header, table, failures, reasons, escapes. */
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

static char *summary_of(const struct kiln_run *run) {
  char *text = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&text, &len);
  assert_non_null(f);
  kiln_summary_print(f, run);
  fclose(f);
  return text;
}

static void assert_contains(const char *text, const char *needle) {
  if (!strstr(text, needle))
    fail_msg("lacks \"%s\" in:\n%s", needle, text);
}

static void mixed_run_summary_says_everything(void **state) {
  struct kiln_run run;
  fixture_mixed_run(&run);
  char *text = summary_of(&run);
  assert_contains(text,
                  "kiln 0.1.0 run summary\n"
                  "  serial   A<&>\"'B\\x01\xef\xbf\xbd\n"
                  "  host     node17\n"
                  "  system   Supermicro SYS-821GE-TNHR (board serial "
                  "BRD-0042)\n"
                  "  bios     American Megatrends 2.1a (05/14/2025)\n"
                  "  profile  quick (built-in)\n"
                  "  start    2027-01-15T08:00:00.000Z\n"
                  "  end      2027-01-15T08:01:40.000Z (1m 40s)\n"
                  "  verdict  FAIL (exit 1): 1 passed, 2 failed, 1 skipped, "
                  "1 error, 1 aborted, 1 not finished\n"
                  "  aborted  SIGTERM received\n");
  assert_contains(text,
                  "STEP            VERDICT   DURATION  KEY FIGURE\n"
                  "cpu.compute     PASS          5.0s  gflops 123.5 GFLOP/s\n"
                  "dram.pattern    FAIL          5.0s\n"
                  "gpu.membw[0]    FAIL          5.0s  bandwidth 1200 GB/s "
                  "(out of limits)\n"
                  "gpu.query[0]    SKIP          5.0s\n"
                  "fans            ERROR         5.0s\n"
                  "dram.bandwidth  ABORTED       5.0s\n"
                  "pcie.link       PENDING          -\n");
  assert_contains(text, "\nFailures\n"
                        "  dram.pattern: bit 3 flipped at 0x7f001234 on DIMM "
                        "A1\n"
                        "  gpu.membw[0]: bandwidth on gpu0 = 1200 GB/s, limit "
                        "x >= 2500\n");
  assert_contains(text, "\nSkipped, errors and unfinished steps\n"
                        "  gpu.query[0] SKIP: no NVIDIA driver\n"
                        "  fans ERROR: child crashed: SIGSEGV\n"
                        "  dram.bandwidth ABORTED: SIGTERM received\n"
                        "  pcie.link PENDING: not run yet\n");
  assert_contains(text, "\nhardware at run start:\n"
                        "  GPU   0000:1b:00.0  NVIDIA H100 80GB HBM3  serial "
                        "A<&>\"'B\\x01\xef\xbf\xbd\n"
                        "  DIMM  CPU0_DIMM_A1  64 GiB DDR5 4800 MT/s  serial "
                        "80CE01234567  part M321R8GA0BB0-CQKZJ\n");
  free(text);
  kiln_run_free(&run);
}

static void passing_run_has_no_failure_section(void **state) {
  struct kiln_run run;
  fixture_passing_run(&run);
  char *text = summary_of(&run);
  assert_contains(text, "  verdict  PASS (exit 0): 2 passed, 1 skipped\n");
  assert_null(strstr(text, "Failures"));
  assert_contains(text, "  gpu.query[0] SKIP: no NVIDIA driver\n");
  free(text);
  kiln_run_free(&run);
}

/* Rewritten mid-run: no end, no verdict yet, a RUNNING row. */
static void unfinished_run_says_so(void **state) {
  struct kiln_run run;
  fixture_run_header(&run);
  kiln_run_add_step(&run, "cpu.compute", "cpu.compute", "host", 1);
  kiln_run_add_step(&run, "fans", "fans", "host", 1);
  run.steps[0].start = FIXTURE_T0;
  kiln_step_finish(&run.steps[0], KILN_PASS, NULL, FIXTURE_T0 + 75);
  run.steps[1].state = KILN_STEP_RUNNING;
  run.steps[1].start = FIXTURE_T0 + 75;
  char *text = summary_of(&run);
  assert_contains(text, "  end      not finished\n"
                        "  verdict  not finished yet: 1 passed, 1 not "
                        "finished\n");
  assert_contains(text, "cpu.compute  PASS        1m 15s\n"
                        "fans         RUNNING");
  assert_contains(text, "  fans RUNNING: started but not finished\n");
  free(text);
  kiln_run_free(&run);
}

/* Control bytes (a terminal escape here) never reach the terminal raw,
 * and multi-byte characters take one column each. */
static void control_bytes_are_shown_escaped(void **state) {
  struct kiln_run run;
  fixture_run_header(&run);
  kiln_run_add_step(&run,
                    "gpu.\xc2\xb5"
                    "bench",
                    "gpu.ubench", "host", 1);
  kiln_run_add_step(&run,
                    "a\x01"
                    "bcdefgh",
                    "x", "host", 1);
  run.steps[1].start = FIXTURE_T0;
  kiln_step_finish(&run.steps[1], KILN_ERROR, "bad \x1b[31mred\x7f\nline",
                   FIXTURE_T0 + 1);
  char *text = summary_of(&run);
  assert_contains(text, "STEP          VERDICT");
  assert_contains(text, "\ngpu.\xc2\xb5"
                        "bench    PENDING");
  assert_contains(text, "\na\\x01bcdefgh  ERROR");
  assert_contains(text,
                  "  a\\x01bcdefgh ERROR: bad \\x1b[31mred\\x7f\\x0aline\n");
  for (const char *p = text; *p; p++)
    if ((unsigned char)*p < 0x20 && *p != '\n')
      fail_msg("raw control byte 0x%02x", (unsigned char)*p);
  free(text);
  kiln_run_free(&run);
}

static void write_matches_print_and_reports_errors(void **state) {
  struct kiln_run run;
  fixture_mixed_run(&run);
  char *dir = fixture_tmpdir();
  char *path = fixture_path(dir, "summary.txt");
  char err[256] = "";
  assert_int_equal(kiln_summary_write(&run, path, err, sizeof err), 0);
  char *written = fixture_read_file(path);
  char *printed = summary_of(&run);
  assert_string_equal(written, printed);
  free(written);
  free(printed);
  assert_int_equal(kiln_summary_write(&run, "/nonexistent-kiln-dir/summary.txt",
                                      err, sizeof err),
                   -1);
  assert_non_null(strstr(err, "No such file or directory"));
  free(path);
  fixture_rmdir(dir);
  kiln_run_free(&run);
}

/* A run length that makes no sense (the clock stepped back during the run,
 * or its start was never recorded) shows as "-", as report.html shows it. */
static void nonsense_run_length_is_a_dash(void **state) {
  struct kiln_run run;
  fixture_passing_run(&run);
  run.end = run.start - 30;
  char *text = summary_of(&run);
  assert_contains(text, "  end      2027-01-15T07:59:30.000Z (-)\n");
  free(text);
  run.start = 0;
  run.end = FIXTURE_T0 + 100;
  text = summary_of(&run);
  assert_contains(text, "  start    -\n"
                        "  end      2027-01-15T08:01:40.000Z (-)\n");
  free(text);
  kiln_run_free(&run);
}

int main(void) {
  cmocka_set_message_output(CM_OUTPUT_TAP);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(mixed_run_summary_says_everything),
      cmocka_unit_test(passing_run_has_no_failure_section),
      cmocka_unit_test(unfinished_run_says_so),
      cmocka_unit_test(control_bytes_are_shown_escaped),
      cmocka_unit_test(write_matches_print_and_reports_errors),
      cmocka_unit_test(nonsense_run_length_is_a_dash),
  };
  return cmocka_run_group_tests_name("report_summary", tests, NULL, NULL);
}
