/* The uploader's offline parts (src/upload/): the run id both `kiln run
 * --upload` and `kiln upload` derive from ocp.jsonl, the tailer that hands
 * on only whole lines of a file still being written, and the checks of the
 * server's URL and the token file. No network. */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "fsutil.h"
#include "upload/upload.h"

static const char line0[] = "{\"schemaVersion\":{\"major\":2,\"minor\":0},"
                            "\"sequenceNumber\":0,\"timestamp\":\"2026-12-"
                            "02T00:57:13.665Z\"}";
static const char line1[] = "{\"testRunArtifact\":{\"testRunStart\":{"
                            "\"name\":\"kiln\"}},\"sequenceNumber\":1,"
                            "\"timestamp\":\"2026-12-02T00:57:13.665Z\"}";

static void
run_id_is_the_start_time_and_fnv1a_of_the_first_two_lines(void **st) {
  char id[KILN_UPLOAD_RUN_ID_MAX + 1], err[256];
  assert_int_equal(kiln_upload_run_id(line0, strlen(line0), line1,
                                      strlen(line1), id, sizeof id, err,
                                      sizeof err),
                   0);
  /* FNV-1a 64 over line 0 then line 1, worked out apart from kiln (its
   * test vector: "a" -> af63dc4c8601ec8c). */
  assert_string_equal(id, "20261202T005713665Z-19b84a73c15de1ae");
  /* Another byte in line 0: another run. */
  char other[KILN_UPLOAD_RUN_ID_MAX + 1];
  assert_int_equal(kiln_upload_run_id(line0, strlen(line0) - 1, line1,
                                      strlen(line1), other, sizeof other, err,
                                      sizeof err),
                   0);
  assert_string_not_equal(id, other);
  assert_memory_equal(id, other, strlen("20261202T005713665Z-"));
}

static void run_id_needs_a_test_run_start_with_a_timestamp(void **st) {
  char id[KILN_UPLOAD_RUN_ID_MAX + 1], err[256];
  const char *bad[] = {
      "not json",
      "{\"testRunArtifact\":{\"log\":{}},\"timestamp\":\"2026\"}",
      "{\"testRunArtifact\":{\"testRunStart\":{}}}",
      "{\"testRunArtifact\":{\"testRunStart\":{}},\"timestamp\":7}",
  };
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    err[0] = 0;
    assert_int_equal(kiln_upload_run_id(line0, strlen(line0), bad[i],
                                        strlen(bad[i]), id, sizeof id, err,
                                        sizeof err),
                     -1);
    assert_non_null(strstr(err, "line 2 is not a testRunStart"));
  }
}

/* Appends text to path (a writer that stops anywhere, mid-line too). */
static void append(const char *path, const char *text) {
  int fd = open(path, O_WRONLY | O_APPEND | O_CREAT, 0644);
  assert_true(fd >= 0);
  assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
  close(fd);
}

/* Lines [first, first + count) of t, read back as one string. */
static char *lines_of(struct kiln_tail *t, size_t first, size_t count,
                      size_t max_bytes, size_t *got) {
  char err[256];
  size_t len;
  *got = count;
  char *s = kiln_tail_read(t, first, got, max_bytes, &len, err, sizeof err);
  assert_non_null(s);
  assert_int_equal(strlen(s), len);
  return s;
}

static void tailer_hands_on_whole_lines_of_a_growing_file(void **st) {
  char dir[] = "/tmp/kiln-test-upload.XXXXXX";
  assert_non_null(mkdtemp(dir));
  char path[64], err[256];
  snprintf(path, sizeof path, "%s/ocp.jsonl", dir);
  struct kiln_tail *t = kiln_tail_new(path);
  assert_int_equal(kiln_tail_poll(t, err, sizeof err), 0); /* not there */

  append(path, "{\"a\":");
  assert_int_equal(kiln_tail_poll(t, err, sizeof err), 0); /* half a line */
  append(path, "1}\n{\"b\"");
  assert_int_equal(kiln_tail_poll(t, err, sizeof err), 1);
  size_t got;
  char *s = lines_of(t, 0, 5, 1 << 20, &got);
  assert_int_equal(got, 1);
  assert_string_equal(s, "{\"a\":1}\n"); /* the half line is not in it */
  free(s);

  append(path, ":2}");
  assert_int_equal(kiln_tail_poll(t, err, sizeof err), 1); /* no newline */
  append(path, "\n{\"c\":3}\n{\"d\":4}\n{");
  assert_int_equal(kiln_tail_poll(t, err, sizeof err), 4);
  assert_int_equal(kiln_tail_lines(t), 4);
  s = lines_of(t, 1, 2, 1 << 20, &got);
  assert_int_equal(got, 2);
  assert_string_equal(s, "{\"b\":2}\n{\"c\":3}\n");
  free(s);
  /* Bounded in bytes: the lines that fit, one at least. */
  s = lines_of(t, 1, 10, 10, &got);
  assert_int_equal(got, 1);
  assert_string_equal(s, "{\"b\":2}\n");
  free(s);
  s = lines_of(t, 0, 10, 3, &got);
  assert_int_equal(got, 1);
  assert_string_equal(s, "{\"a\":1}\n");
  free(s);
  s = lines_of(t, 0, 10, 1 << 20, &got);
  assert_int_equal(got, 4);
  assert_string_equal(s, "{\"a\":1}\n{\"b\":2}\n{\"c\":3}\n{\"d\":4}\n");
  free(s);
  /* A poll with nothing new changes nothing. */
  assert_int_equal(kiln_tail_poll(t, err, sizeof err), 4);
  kiln_tail_free(t);
  fs_rm_rf(dir);
}

static void url_must_be_an_http_servers_base(void **st) {
  char err[600];
  assert_int_equal(kiln_upload_check_url("http://line:8470", err, sizeof err),
                   0);
  assert_int_equal(
      kiln_upload_check_url("https://10.0.0.5:8470/", err, sizeof err), 0);
  const char *bad[] = {"ftp://line", "line:8470",        "http://",
                       "http://a b", "http://line/?x=1", "http://line#top",
                       "",           "HTTP-ish://x"};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    err[0] = 0;
    assert_int_equal(kiln_upload_check_url(bad[i], err, sizeof err), -1);
    assert_non_null(strstr(err, bad[i])); /* names the value */
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(
          run_id_is_the_start_time_and_fnv1a_of_the_first_two_lines),
      cmocka_unit_test(run_id_needs_a_test_run_start_with_a_timestamp),
      cmocka_unit_test(tailer_hands_on_whole_lines_of_a_growing_file),
      cmocka_unit_test(url_must_be_an_http_servers_base),
  };
  cmocka_set_message_output(CM_OUTPUT_TAP);
  return cmocka_run_group_tests(tests, NULL, NULL);
}
