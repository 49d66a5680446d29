/* The child-to-parent event protocol, hostile strings included. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/wire.h"
#include "kiln/result.h"
#include "kiln/textutil.h"

static void round_trips_every_type(void **state) {
  (void)state;
  const char hostile[] = "A<&>\"'B\x01\n#\\ \xff end";
  struct kiln_wire_event in[] = {
      {.type = KILN_WIRE_MEASUREMENT,
       .name = "gflops",
       .value = 123.5,
       .unit = "GFLOP/s",
       .hwid = (char *)hostile},
      {.type = KILN_WIRE_DIAGNOSIS,
       .diag_type = KILN_DIAG_FAIL,
       .symptom = "cpu-sdc",
       .hwid = "cpu1",
       .message = (char *)hostile},
      {.type = KILN_WIRE_LOG,
       .severity = KILN_SEV_WARNING,
       .message = "not locked"},
      {.type = KILN_WIRE_PROGRESS, .value = 0.25},
      {.type = KILN_WIRE_END, .verdict = KILN_SKIP, .message = "no GPU"},
      {.type = KILN_WIRE_RUNNING,
       .name = "bandwidth_gbps",
       .value = 2800.25,
       .unit = "GB/s",
       .hwid = "0000:1b:00.0"},
  };
  for (size_t i = 0; i < sizeof in / sizeof *in; i++) {
    in[i].time = 1700000000.5;
    char *line = kiln_wire_encode(&in[i]);
    assert_non_null(line);
    assert_int_equal(line[strlen(line) - 1], '\n');
    assert_null(memchr(line, '\n', strlen(line) - 1)); /* one line */
    struct kiln_wire_event out;
    char err[128];
    assert_int_equal(kiln_wire_decode(line, &out, err, sizeof err), 0);
    assert_int_equal(out.type, in[i].type);
    assert_true(out.time == in[i].time);
    switch (in[i].type) {
    case KILN_WIRE_MEASUREMENT:
      assert_string_equal(out.name, "gflops");
      assert_true(out.value == 123.5);
      /* the invalid byte becomes U+FFFD; everything else survives */
      assert_string_equal(out.hwid, "A<&>\"'B\x01\n#\\ \xef\xbf\xbd end");
      break;
    case KILN_WIRE_DIAGNOSIS:
      assert_int_equal(out.diag_type, KILN_DIAG_FAIL);
      assert_string_equal(out.symptom, "cpu-sdc");
      assert_string_equal(out.message, "A<&>\"'B\x01\n#\\ \xef\xbf\xbd end");
      break;
    case KILN_WIRE_LOG:
      assert_int_equal(out.severity, KILN_SEV_WARNING);
      assert_string_equal(out.message, "not locked");
      break;
    case KILN_WIRE_PROGRESS: assert_true(out.value == 0.25); break;
    case KILN_WIRE_END:
      assert_int_equal(out.verdict, KILN_SKIP);
      assert_string_equal(out.message, "no GPU");
      break;
    case KILN_WIRE_RUNNING:
      assert_string_equal(out.name, "bandwidth_gbps");
      assert_true(out.value == 2800.25);
      assert_string_equal(out.unit, "GB/s");
      assert_string_equal(out.hwid, "0000:1b:00.0");
      break;
    }
    kiln_wire_event_clear(&out);
    free(line);
  }
}

static void nan_measurement_reads_back_as_nan(void **state) {
  (void)state;
  struct kiln_wire_event in = {.type = KILN_WIRE_MEASUREMENT,
                               .name = "x",
                               .value = NAN,
                               .unit = "",
                               .hwid = ""};
  char *line = kiln_wire_encode(&in);
  struct kiln_wire_event out;
  char err[128];
  assert_int_equal(kiln_wire_decode(line, &out, err, sizeof err), 0);
  assert_true(isnan(out.value));
  kiln_wire_event_clear(&out);
  free(line);
}

static void rejects_garbage(void **state) {
  (void)state;
  const char *bad[] = {"",
                       "{",
                       "[1,2]",
                       "{\"type\":\"teleport\"}",
                       "{\"type\":\"end\",\"verdict\":\"MAYBE\"}",
                       "{\"type\":\"measurement\"}",
                       "null"};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    struct kiln_wire_event out;
    char err[128] = "";
    if (kiln_wire_decode(bad[i], &out, err, sizeof err) == 0)
      fail_msg("accepted '%s'", bad[i]);
    assert_true(err[0] != 0);
  }
}

static void sanitizes_utf8(void **state) {
  (void)state;
  char *s =
      kiln_utf8_sanitize("ok \xc3\xa9 \xc0\xaf \xed\xa0\x80 \xf0\x9f\x94\xa5");
  /* overlong and surrogate sequences are replaced byte by byte */
  assert_string_equal(s, "ok \xc3\xa9 \xef\xbf\xbd\xef\xbf\xbd "
                         "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd "
                         "\xf0\x9f\x94\xa5");
  free(s);
}

static void step_verdict_rules(void **state) {
  (void)state;
  struct kiln_run run;
  kiln_run_init(&run);
  struct kiln_limit floor = {.has_lo = true, .lo = 10};
  struct kiln_step_result *a = kiln_run_add_step(&run, "a", "a", "host", 1);
  kiln_step_add_measurement(a, "x", 12, "u", &floor, "", 0);
  kiln_step_finish(a, KILN_PASS, NULL, 1);
  assert_int_equal(a->verdict, KILN_PASS);
  struct kiln_step_result *b = kiln_run_add_step(&run, "b", "b", "host", 1);
  kiln_step_add_measurement(b, "x", 9, "u", &floor, "", 0);
  kiln_step_finish(b, KILN_PASS, NULL, 1);
  assert_int_equal(b->verdict, KILN_FAIL);
  char why[256];
  kiln_step_failure_text(b, why, sizeof why);
  assert_string_equal(why, "x = 9 u, limit x >= 10");
  /* a crash after a failure was found keeps the FAIL */
  struct kiln_step_result *c = kiln_run_add_step(&run, "c", "c", "host", 1);
  kiln_step_add_diagnosis(c, KILN_DIAG_FAIL, "sdc", "cpu1 wrong", "cpu1", 0);
  kiln_step_finish(c, KILN_ERROR, "crashed", 1);
  assert_int_equal(c->verdict, KILN_FAIL);
  struct kiln_step_result *d = kiln_run_add_step(&run, "d", "d", "host", 1);
  kiln_step_finish(d, KILN_SKIP, "no GPU", 1);
  assert_int_equal(d->verdict, KILN_SKIP);
  assert_int_equal(kiln_run_verdict(&run), KILN_FAIL);
  assert_int_equal(kiln_run_count(&run, KILN_FAIL), 2);
  kiln_run_free(&run);

  kiln_run_init(&run);
  kiln_step_finish(kiln_run_add_step(&run, "s", "s", "host", 1), KILN_SKIP,
                   "n/a", 1);
  assert_int_equal(kiln_run_verdict(&run), KILN_PASS); /* skips allowed */
  kiln_step_finish(kiln_run_add_step(&run, "e", "e", "host", 1), KILN_ABORTED,
                   "SIGTERM", 1);
  assert_int_equal(kiln_run_verdict(&run), KILN_ABORTED);
  kiln_run_free(&run);
}

int main(void) {
  cmocka_set_message_output(CM_OUTPUT_TAP);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(round_trips_every_type),
      cmocka_unit_test(nan_measurement_reads_back_as_nan),
      cmocka_unit_test(rejects_garbage),
      cmocka_unit_test(sanitizes_utf8),
      cmocka_unit_test(step_verdict_rules),
  };
  return cmocka_run_group_tests_name("wire", tests, NULL, NULL);
}
