/* The quick check of uploaded OCP lines (src/store/line_check.c): it must
 * refuse what jansson with JSON_REJECT_DUPLICATES refuses (bad grammar,
 * bad UTF-8, a key twice, numbers that overflow), find the sequence
 * number, tell the lines the store reads apart from those it stores
 * whole, and hand what it cannot judge alone to jansson. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "store/line_check.h"

static int check(const char *line, struct kiln_line_check *c, char *why,
                 size_t whyn) {
  return kiln_line_check(line, strlen(line), c, why, whyn);
}

#define SERIES                                                                 \
  "{\"testStepArtifact\":{\"testStepId\":\"3\",\"measurementSeriesElement\":"  \
  "{\"index\":7,\"value\":41.5,\"timestamp\":\"2026-12-02T05:00:00.000Z\","    \
  "\"measurementSeriesId\":\"3.temp\"}},\"sequenceNumber\":42,"                \
  "\"timestamp\":\"2026-12-02T05:00:00.000Z\"}"

static void a_series_line_is_stored_whole(void **state) {
  struct kiln_line_check c;
  char why[200];
  assert_int_equal(check(SERIES, &c, why, sizeof why), 0);
  assert_true(c.object);
  assert_true(c.has_sequence);
  assert_int_equal(c.sequence, 42);
  assert_false(c.taken_apart);
  assert_false(c.needs_full_parse);
}

static void lines_the_store_reads_apart_are_named(void **state) {
  const char *apart[] = {
      "{\"testRunArtifact\":{\"testRunStart\":{}},\"sequenceNumber\":0}",
      "{\"testStepArtifact\":{\"testStepId\":\"1\",\"testStepStart\":{}},"
      "\"sequenceNumber\":1}",
      "{\"sequenceNumber\":2,\"testStepArtifact\":{\"measurement\":{"
      "\"name\":\"x\",\"value\":1}}}",
      "{\"testStepArtifact\":{\"diagnosis\":{}},\"sequenceNumber\":3}",
      "{\"testStepArtifact\":{\"error\":{}},\"sequenceNumber\":4}",
      "{\"testStepArtifact\":{\"testStepEnd\":{}},\"sequenceNumber\":5}",
  };
  const char *whole[] = {
      SERIES,
      "{\"testStepArtifact\":{\"log\":{\"message\":\"m\"}},"
      "\"sequenceNumber\":6}",
      /* The names count only where the store looks for them. */
      "{\"testStepArtifact\":{\"log\":{\"measurement\":{}}},"
      "\"sequenceNumber\":7}",
      "{\"measurement\":{},\"sequenceNumber\":8}",
      "{\"schemaVersion\":{\"major\":2},\"sequenceNumber\":9}",
  };
  struct kiln_line_check c;
  char why[200];
  for (size_t i = 0; i < sizeof apart / sizeof apart[0]; i++) {
    assert_int_equal(check(apart[i], &c, why, sizeof why), 0);
    assert_true(c.taken_apart);
    assert_int_equal(c.sequence, (int64_t)i);
  }
  for (size_t i = 0; i < sizeof whole / sizeof whole[0]; i++) {
    assert_int_equal(check(whole[i], &c, why, sizeof why), 0);
    assert_false(c.taken_apart);
    assert_true(c.has_sequence);
  }
}

static void the_sequence_number_must_be_a_top_integer(void **state) {
  const char *none[] = {
      "{\"sequenceNumber\":\"3\"}",     "{\"sequenceNumber\":3.5}",
      "{\"sequenceNumber\":[3]}",       "{\"sequenceNumber\":{\"n\":3}}",
      "{\"x\":{\"sequenceNumber\":3}}", "{}",
  };
  struct kiln_line_check c;
  char why[200];
  for (size_t i = 0; i < sizeof none / sizeof none[0]; i++) {
    assert_int_equal(check(none[i], &c, why, sizeof why), 0);
    assert_true(c.object);
    assert_false(c.has_sequence);
  }
  assert_int_equal(check("[{\"sequenceNumber\":3}]", &c, why, sizeof why), 0);
  assert_false(c.object);
  assert_false(c.has_sequence);
  assert_int_equal(check("3", &c, why, sizeof why), 0);
  assert_false(c.object);
}

/* Every one is refused by jansson too: checked here, so the two agree. */
static void what_jansson_refuses_is_refused(void **state) {
  static const struct {
    const char *line, *why;
  } bad[] = {
      {"{\"sequenceNumber\":3, garbage", "error"},
      {"{\"a\":1,\"a\":2,\"sequenceNumber\":0}", "duplicate object key \"a\""},
      {"{\"t\":{\"k\":1,\"b\":{\"k\":1},\"k\":2},\"sequenceNumber\":0}",
       "duplicate object key \"k\""},
      {"{\"a\":1,\"\\u0061\":2,\"sequenceNumber\":0}",
       "duplicate object key \"a\""},
      {"{\"s\":\"\xff\xfe\",\"sequenceNumber\":0}", "UTF8"},
      {"{\"s\":\"a\x01z\",\"sequenceNumber\":0}", "error"},
      {"{\"sequenceNumber\":0} {}", "trailing garbage"},
      {"{\"sequenceNumber\":0", "premature EOF"},
      {"{\"n\":123456789012345678901234567890,\"sequenceNumber\":0}",
       "overflow"},
      {"{\"n\":1e999,\"sequenceNumber\":0}", "overflow"},
      {"{\"n\":NaN,\"sequenceNumber\":0}", "error"},
      {"{\"n\":01,\"sequenceNumber\":0}", "error"},
      {"{/*c*/\"sequenceNumber\":0}", "error"},
      {"", "premature EOF"},
  };
  struct kiln_line_check c;
  char why[200];
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    json_error_t je;
    json_t *j = json_loads(bad[i].line, JSON_REJECT_DUPLICATES, &je);
    if (j)
      fail_msg("jansson takes %s", bad[i].line);
    if (check(bad[i].line, &c, why, sizeof why) != -1)
      fail_msg("the check takes %s", bad[i].line);
    if (!strstr(why, bad[i].why))
      fail_msg("%s: \"%s\" does not say %s", bad[i].line, why, bad[i].why);
  }
}

/* The same key in sibling objects, or again after its object closed, is
 * no duplicate. */
static void keys_are_per_object(void **state) {
  struct kiln_line_check c;
  char why[200];
  assert_int_equal(check("{\"a\":{\"k\":1},\"b\":{\"k\":1},\"c\":[{\"k\":1},"
                         "{\"k\":2}],\"sequenceNumber\":1}",
                         &c, why, sizeof why),
                   0);
  assert_false(c.needs_full_parse);
}

/* An object with more keys than the check tracks, or nesting deeper,
 * goes to jansson whole: a duplicate there is still found, by it. */
static void what_it_cannot_track_goes_to_jansson(void **state) {
  char *line = malloc(16384);
  size_t n = (size_t)sprintf(line, "{\"sequenceNumber\":1");
  for (int i = 0; i < 300; i++)
    n += (size_t)sprintf(line + n, ",\"k%d\":%d", i, i);
  strcpy(line + n, "}");
  struct kiln_line_check c;
  char why[200];
  assert_int_equal(check(line, &c, why, sizeof why), 0);
  assert_true(c.needs_full_parse);
  assert_int_equal(c.sequence, 1);

  n = (size_t)sprintf(line, "{\"sequenceNumber\":2,\"d\":");
  for (int i = 0; i < 40; i++)
    n += (size_t)sprintf(line + n, "{\"x\":");
  n += (size_t)sprintf(line + n, "1");
  for (int i = 0; i < 40; i++)
    line[n++] = '}';
  strcpy(line + n, "}");
  assert_int_equal(check(line, &c, why, sizeof why), 0);
  assert_true(c.needs_full_parse);
  assert_int_equal(c.sequence, 2);
  free(line);
}

int main(void) {
  cmocka_set_message_output(CM_OUTPUT_TAP);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(a_series_line_is_stored_whole),
      cmocka_unit_test(lines_the_store_reads_apart_are_named),
      cmocka_unit_test(the_sequence_number_must_be_a_top_integer),
      cmocka_unit_test(what_jansson_refuses_is_refused),
      cmocka_unit_test(keys_are_per_object),
      cmocka_unit_test(what_it_cannot_track_goes_to_jansson),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
