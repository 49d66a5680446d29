/* kiln_append_whole, the writer of the record files (ocp.jsonl,
 * telemetry.csv): a record that does not fit is cut back, so the file holds
 * whole records only. The file size limit (RLIMIT_FSIZE) stands in for a
 * full disk: a write across it is short, the next one fails (EFBIG). */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "fsutil.h"
#include "kiln/textutil.h"

#define LIMIT 80

static char *file_text(const char *path) {
  char err[256];
  char *text = kiln_read_text_file(path, 4096, "a test file", err, sizeof err);
  if (!text)
    fail_msg("%s", err);
  return text;
}

static void a_record_that_does_not_fit_is_cut_back(void **state) {
  (void)state;
  char dir[] = "/tmp/kiln-append.XXXXXX";
  assert_non_null(mkdtemp(dir));
  char *path = kiln_strdup_printf("%s/records.csv", dir);
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  assert_true(fd >= 0);

  /* Past the limit a write fails with EFBIG instead of killing us. */
  struct rlimit old;
  assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
  struct rlimit small = {.rlim_cur = LIMIT, .rlim_max = old.rlim_max};
  void (*old_handler)(int) = signal(SIGXFSZ, SIG_IGN);
  assert_int_equal(setrlimit(RLIMIT_FSIZE, &small), 0);

  const char header[] = "timestamp,source,sensor,value,unit\n"; /* 35 */
  const char row[] = "2026-11-18T11:06:40.250Z,sensors,nct6798-isa-0290/fan1,"
                     "1450,RPM\n"; /* 35 + 64 > LIMIT */
  const char small_row[] = "2026-11-18T11:06:41.000Z,cpu,c,1,\n"; /* 34 */
  off_t size = 0;
  int header_rc = kiln_append_whole(fd, &size, header, strlen(header));
  off_t after_header = size;
  int row_rc = kiln_append_whole(fd, &size, row, strlen(row));
  off_t after_row = size;
  int small_rc = kiln_append_whole(fd, &size, small_row, strlen(small_row));

  assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
  signal(SIGXFSZ, old_handler);
  close(fd);

  assert_int_equal(header_rc, 0);
  assert_int_equal(after_header, (off_t)strlen(header));
  /* Part of the row went in (up to the limit), then the rest failed: it
   * is cut off again and the size stays at the last whole record. */
  assert_int_equal(row_rc, EFBIG);
  assert_int_equal(after_row, after_header);
  /* A record that fits still goes in whole after the cut. */
  assert_int_equal(small_rc, 0);
  assert_int_equal(size, (off_t)(strlen(header) + strlen(small_row)));
  char *text = file_text(path);
  char *want = kiln_strdup_printf("%s%s", header, small_row);
  assert_string_equal(text, want);
  free(want);
  free(text);

  free(path);
  fs_rm_rf(dir);
}

/* A device that cannot be cut (here a pipe, which pwrite refuses): the
 * error comes back, and the size says nothing was written. */
static void a_file_that_cannot_be_written_reports_the_error(void **state) {
  (void)state;
  int fds[2];
  assert_int_equal(pipe(fds), 0);
  off_t size = 0;
  assert_int_equal(kiln_append_whole(fds[1], &size, "a,b\n", 4), ESPIPE);
  assert_int_equal(size, 0);
  close(fds[0]);
  close(fds[1]);
}

int main(void) {
  cmocka_set_message_output(CM_OUTPUT_TAP);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(a_record_that_does_not_fit_is_cut_back),
      cmocka_unit_test(a_file_that_cannot_be_written_reports_the_error),
  };
  return cmocka_run_group_tests_name("append_whole", tests, NULL, NULL);
}
