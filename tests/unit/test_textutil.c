/* The one form of each figure kiln prints for people (durations, sizes)
 * and the one UTF-8 decoder and column count the reports, the console and
 * the dashboard share. */
#include <math.h>
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
#include "kiln/textutil.h"

static void utf8_decode_takes_valid_sequences_and_refuses_the_rest(void **st) {
  uint32_t cp;
  assert_int_equal(kiln_utf8_decode("A", &cp), 1);
  assert_int_equal(cp, 'A');
  assert_int_equal(kiln_utf8_decode("\xc2\xb0", &cp), 2); /* ° */
  assert_int_equal(cp, 0xb0);
  assert_int_equal(kiln_utf8_decode("\xe2\x82\xac", &cp), 3); /* € */
  assert_int_equal(cp, 0x20ac);
  assert_int_equal(kiln_utf8_decode("\xf0\x9f\x94\xa5", &cp), 4);
  assert_int_equal(cp, 0x1f525);
  /* a lone continuation byte, an overlong form, a surrogate, a cut
   * sequence: one byte of U+FFFD each */
  const char *bad[] = {"\x80", "\xc0\xaf", "\xe0\x80\xaf", "\xed\xa0\x80",
                       "\xe2\x82"};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    assert_int_equal(kiln_utf8_decode(bad[i], &cp), 1);
    assert_int_equal(cp, 0xfffd);
  }
}

static void text_columns_count_characters_not_bytes(void **st) {
  assert_int_equal(kiln_text_columns(""), 0);
  assert_int_equal(kiln_text_columns("FAN1"), 4);
  assert_int_equal(kiln_text_columns("85\xc2\xb0"
                                     "C"),
                   4);
  assert_int_equal(kiln_text_columns("a\xff"
                                     "b"),
                   3); /* invalid: one */
}

static void elapsed_text_in_each_style(void **st) {
  char b[32];
  kiln_elapsed_text(42, 0, b, sizeof b);
  assert_string_equal(b, "42.0s");
  kiln_elapsed_text(42, KILN_ELAPSED_SPACED, b, sizeof b);
  assert_string_equal(b, "42.0 s");
  kiln_elapsed_text(185, 0, b, sizeof b);
  assert_string_equal(b, "3m05s");
  kiln_elapsed_text(185, KILN_ELAPSED_SPACED, b, sizeof b);
  assert_string_equal(b, "3m 05s");
  kiln_elapsed_text(7632, 0, b, sizeof b);
  assert_string_equal(b, "2h07m");
  kiln_elapsed_text(7632, KILN_ELAPSED_SPACED | KILN_ELAPSED_HMS, b, sizeof b);
  assert_string_equal(b, "2h 07m 12s");
  double nonsense[] = {-1, NAN, INFINITY, 2e9};
  for (size_t i = 0; i < sizeof nonsense / sizeof *nonsense; i++) {
    kiln_elapsed_text(nonsense[i], 0, b, sizeof b);
    assert_string_equal(b, "-");
  }
}

static void size_text_in_binary_units(void **st) {
  char b[32];
  kiln_size_text(0, 1, b, sizeof b);
  assert_string_equal(b, "-");
  kiln_size_text(80ull << 30, 1, b, sizeof b);
  assert_string_equal(b, "80 GiB");
  kiln_size_text(512ull << 20, 1, b, sizeof b);
  assert_string_equal(b, "512 MiB");
  kiln_size_text(3ull << 29, 1, b, sizeof b); /* 1.5 GiB */
  assert_string_equal(b, "1.5 GiB");
  kiln_size_text((3ull << 29) + 1, 2, b, sizeof b);
  assert_string_equal(b, "1.50 GiB");
  kiln_size_text(300ull * 1000 * 1000, 1, b, sizeof b);
  assert_string_equal(b, "286 MiB");
}

static void figure_text_is_four_significant_digits_in_fixed_form(void **st) {
  static const struct {
    double v;
    const char *text;
  } cases[] = {
      {88.9884, "88.99"},
      {214.998, "215"},
      {999.96, "1000"},
      {99.996, "100"},
      {0.012345, "0.01235"},
      {1.5, "1.5"},
      {12345.6, "12346"},
      {1234567, "1234567"},
      {1e12, "1000000000000"},
      {0, "0"},
      {-0.0, "0"},
      {-88.9884, "-88.99"},
      {-12345.6, "-12346"},
      {1e-6, "0.000001"},
      {1.23456e-6, "0.000001235"},
      {1.5e-7, "1.5e-07"},
      {2.5e15, "2.5e+15"},
      {60, "60"},
  };
  char b[64];
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    kiln_figure_text(cases[i].v, b, sizeof b);
    assert_string_equal(b, cases[i].text);
  }
  kiln_figure_text(NAN, b, sizeof b);
  assert_string_equal(b, "nan");
  kiln_figure_text(INFINITY, b, sizeof b);
  assert_string_equal(b, "inf");
  kiln_figure_text(-INFINITY, b, sizeof b);
  assert_string_equal(b, "-inf");
  kiln_figure_text_digits(89.996, 5, b, sizeof b);
  assert_string_equal(b, "89.996");
  kiln_figure_text(123.456, b, 4); /* cut, still terminated */
  assert_string_equal(b, "123");
}

static void bitrate_text_in_decimal_units(void **st) {
  char b[32];
  kiln_bitrate_text(400e9, b, sizeof b);
  assert_string_equal(b, "400 Gb/s");
  kiln_bitrate_text(2.5e9, b, sizeof b);
  assert_string_equal(b, "2.5 Gb/s");
  kiln_bitrate_text(100e6, b, sizeof b);
  assert_string_equal(b, "100 Mb/s");
  kiln_bitrate_text(9600, b, sizeof b);
  assert_string_equal(b, "9600 b/s");
  kiln_bitrate_text(0, b, sizeof b);
  assert_string_equal(b, "-");
  kiln_bitrate_text(NAN, b, sizeof b);
  assert_string_equal(b, "-");
}

static void token_is_the_file_less_trailing_blanks(void **st) {
  char dir[] = "/tmp/kiln-test-token.XXXXXX";
  assert_non_null(mkdtemp(dir));
  char path[64], err[600];
  snprintf(path, sizeof path, "%s/token", dir);
  fs_write_file(path, "s3cret-Token \r\n\n");
  char *token = kiln_read_token_file(path, err, sizeof err);
  assert_non_null(token);
  assert_string_equal(token, "s3cret-Token");
  free(token);
  /* What no HTTP header can carry. */
  fs_write_file(path, "s3cret\nsecond line\n");
  assert_null(kiln_read_token_file(path, err, sizeof err));
  assert_non_null(strstr(err, "line break"));
  fs_write_file(path, " \n");
  assert_null(kiln_read_token_file(path, err, sizeof err));
  assert_non_null(strstr(err, "empty"));
  fs_write_file(path, "two words\n");
  assert_null(kiln_read_token_file(path, err, sizeof err));
  assert_non_null(strstr(err, path));
  snprintf(path, sizeof path, "%s/missing", dir);
  assert_null(kiln_read_token_file(path, err, sizeof err));
  assert_non_null(strstr(err, path));
  fs_rm_rf(dir);
}

static void make_dirs_makes_every_level_and_names_what_it_cannot(void **st) {
  char dir[] = "/tmp/kiln-test-dirs.XXXXXX";
  assert_non_null(mkdtemp(dir));
  char path[128], err[600] = "";
  snprintf(path, sizeof path, "%s/a/b/c/", dir);
  assert_int_equal(kiln_make_dirs(path, NULL, err, sizeof err), 0);
  assert_int_equal(kiln_make_dirs(path, NULL, err, sizeof err), 0); /* again */
  snprintf(path, sizeof path, "%s/a/b/c", dir);
  assert_int_equal(access(path, W_OK), 0);
  /* A file where a directory belongs: the level that failed is named. */
  snprintf(path, sizeof path, "%s/file", dir);
  fs_write_file(path, "x");
  snprintf(path, sizeof path, "%s/file/d/e", dir);
  assert_int_equal(kiln_make_dirs(path, NULL, err, sizeof err), -1);
  char want[128];
  snprintf(want, sizeof want, "cannot create %s/file/d: ", dir);
  if (!strstr(err, want))
    fail_msg("\"%s\" does not say \"%s\"", err, want);
  assert_int_equal(kiln_make_dirs(path, "report dir", err, sizeof err), -1);
  snprintf(want, sizeof want, "cannot create report dir %s/file/d: ", dir);
  if (!strstr(err, want))
    fail_msg("\"%s\" does not say \"%s\"", err, want);
  fs_rm_rf(dir);
}

int main(void) {
  cmocka_set_message_output(CM_OUTPUT_TAP);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(utf8_decode_takes_valid_sequences_and_refuses_the_rest),
      cmocka_unit_test(text_columns_count_characters_not_bytes),
      cmocka_unit_test(elapsed_text_in_each_style),
      cmocka_unit_test(size_text_in_binary_units),
      cmocka_unit_test(figure_text_is_four_significant_digits_in_fixed_form),
      cmocka_unit_test(bitrate_text_in_decimal_units),
      cmocka_unit_test(token_is_the_file_less_trailing_blanks),
      cmocka_unit_test(make_dirs_makes_every_level_and_names_what_it_cannot),
  };
  return cmocka_run_group_tests_name("textutil", tests, NULL, NULL);
}
