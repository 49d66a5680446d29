/* The one INI reader (config/ini.h): its contract, and the same syntax and
 * the same errors in profiles, station specs and SKU files. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "config/ini.h"
#include "config/profile.h"
#include "config/sku.h"
#include "kiln/spec.h"

enum kind { PROFILE, SPEC, SKU };
static const char *const kind_names[] = {"profile", "spec", "sku"};

/* Parses text as a file of that kind: 0, or -1 with the error. */
static int parse_as(enum kind kind, const char *text, char *err, size_t n) {
  int rc;
  if (kind == PROFILE) {
    struct kiln_profile p;
    rc = kiln_profile_parse(text, "f.ini", &p, err, n);
    if (rc == 0)
      kiln_profile_free(&p);
  } else if (kind == SPEC) {
    struct kiln_spec s;
    rc = kiln_spec_parse(text, "f.ini", &s, err, n);
    if (rc == 0)
      kiln_spec_free(&s);
  } else {
    struct kiln_sku s;
    rc = kiln_sku_parse(text, "f.ini", "f", &s, err, n);
    if (rc == 0)
      kiln_sku_free(&s);
  }
  return rc;
}

/* A file of each kind around the line under test: the text before it
 * (lines 1 and 2) and after it. */
static const char *const frames[][2] = {
    [PROFILE] = {"[profile]\nphase.1 = cpu.compute\n", "\n"},
    [SPEC] = {"[gpu]\ncount = 8\n", "\n"},
    [SKU] = {"[sku]\nname = x\n", "\npci_ids = 10de:2330\nbasis = y\n"},
};
/* A key of the first section, and one that may follow it. */
static const char *const first_key[] = {"phase.1", "count", "name"};
static const char *const other_key[] = {"description = d", "model = H100",
                                        "status = measured"};

static void framed(enum kind kind, const char *line, char *text, size_t n) {
  snprintf(text, n, "%s%s%s", frames[kind][0], line, frames[kind][1]);
}

static void expect_ok(enum kind kind, const char *line) {
  char text[512], err[512] = "";
  framed(kind, line, text, sizeof text);
  if (parse_as(kind, text, err, sizeof err) != 0)
    fail_msg("%s: '%s' refused: %s", kind_names[kind], line, err);
}

static void expect_refused(enum kind kind, const char *line, const char *want) {
  char text[512], err[512] = "";
  framed(kind, line, text, sizeof text);
  if (parse_as(kind, text, err, sizeof err) == 0)
    fail_msg("%s: '%s' accepted", kind_names[kind], line);
  if (!strstr(err, want))
    fail_msg("%s: error '%s' does not contain '%s'", kind_names[kind], err,
             want);
}

/* Comments, and blanks around names and values, read alike everywhere. */
static void comments_and_blanks_read_alike(void **state) {
  (void)state;
  for (enum kind k = PROFILE; k <= SKU; k++) {
    char line[128];
    expect_ok(k, "; a comment");
    expect_ok(k, "# a comment");
    snprintf(line, sizeof line, "%s ; a comment after it", other_key[k]);
    expect_ok(k, line);
    snprintf(line, sizeof line, "  %s  ", other_key[k]);
    expect_ok(k, line);
  }
}

/* An indented line is a line of its own, never more of the key above it
 * (libinih's continuation lines): as a key it is read, as anything else it
 * is a syntax error on its own line. */
static void indented_lines_are_lines_of_their_own(void **state) {
  (void)state;
  for (enum kind k = PROFILE; k <= SKU; k++) {
    char line[128];
    snprintf(line, sizeof line, "\t%s", other_key[k]);
    expect_ok(k, line);
    expect_refused(k, "    more of the line above", "f.ini:3: syntax error");
  }
  /* Read as a continuation, this would have added a module to phase 1. */
  char err[512] = "";
  struct kiln_profile p;
  assert_int_equal(kiln_profile_parse("[profile]\nphase.1 = cpu.compute,\n"
                                      "  dram.patterns\n",
                                      "f.ini", &p, err, sizeof err),
                   -1);
  assert_string_equal(err, "f.ini:3: syntax error (expected [section] or "
                           "key = value)");
}

/* A key set twice in a section, a key without a value, a section that
 * appears twice: the same error in each kind of file. */
static void repeats_and_gaps_are_errors_everywhere(void **state) {
  (void)state;
  static const char *const sections[] = {"profile", "gpu", "sku"};
  for (enum kind k = PROFILE; k <= SKU; k++) {
    char line[128], want[160];
    snprintf(line, sizeof line, "%s = 9", first_key[k]);
    snprintf(want, sizeof want,
             "f.ini:3: [%s] %s is set twice (first at "
             "line 2)",
             sections[k], first_key[k]);
    expect_refused(k, line, want);
    snprintf(line, sizeof line, "%.*s =", (int)strcspn(other_key[k], " "),
             other_key[k]);
    snprintf(want, sizeof want, "f.ini:3: [%s] %.*s has no value", sections[k],
             (int)strcspn(other_key[k], " "), other_key[k]);
    expect_refused(k, line, want);
    snprintf(line, sizeof line, "[ %s ]", sections[k]);
    snprintf(want, sizeof want,
             "f.ini:3: [%s] appears twice (first at line "
             "1)",
             sections[k]);
    expect_refused(k, line, want);
    expect_refused(k, "[unclosed", "f.ini:3: syntax error");
  }
}

/* A byte order mark (an editor's) opens any of the three harmlessly. */
static void a_byte_order_mark_is_read_past(void **state) {
  (void)state;
  for (enum kind k = PROFILE; k <= SKU; k++) {
    char text[512], err[512] = "";
    framed(k, "", text + 3, sizeof text - 3);
    memcpy(text, "\xEF\xBB\xBF", 3);
    if (parse_as(k, text, err, sizeof err) != 0)
      fail_msg("%s with a BOM refused: %s", kind_names[k], err);
  }
}

/* The reader's own contract, through its callbacks. */
struct record {
  char log[512];
  int refuse_line; /* the key callback refuses the key on this line */
};

static int on_section(struct kiln_ini *ini, void *ctx, const char *name,
                      char *same, size_t n) {
  struct record *r = ctx;
  size_t used = strlen(r->log);
  snprintf(r->log + used, sizeof r->log - used, "[%s]@%d ", name,
           kiln_ini_line(ini));
  if (strcmp(name, "Alias") == 0)
    snprintf(same, n, "alias");
  return 1;
}

static int on_section_end(struct kiln_ini *ini, void *ctx, const char *name,
                          int line, size_t keys) {
  (void)ini;
  struct record *r = ctx;
  size_t used = strlen(r->log);
  snprintf(r->log + used, sizeof r->log - used, "end %s@%d:%zu ", name, line,
           keys);
  return 1;
}

static int on_key(struct kiln_ini *ini, void *ctx, const char *section,
                  const char *key, const char *value) {
  struct record *r = ctx;
  if (kiln_ini_line(ini) == r->refuse_line)
    return 0; /* without a message */
  size_t used = strlen(r->log);
  snprintf(r->log + used, sizeof r->log - used, "%s.%s=%s@%d ", section, key,
           value, kiln_ini_line(ini));
  return 1;
}

static const struct kiln_ini_handler recorder = {
    .section = on_section, .section_end = on_section_end, .key = on_key};

static void the_reader_keeps_its_contract(void **state) {
  (void)state;
  struct record r = {.refuse_line = 0};
  char err[256] = "";
  assert_int_equal(kiln_ini_parse("; top\n[a]\n  x = 1 ; note\n[empty]\n"
                                  "[ b ]\ny: two words\n",
                                  "t.ini", &recorder, &r, err, sizeof err),
                   0);
  assert_string_equal(r.log, "[a]@2 a.x=1@3 end a@2:1 [empty]@4 end empty@4:0 "
                             "[b]@5 b.y=two words@6 end b@5:1 ");
  /* A callback's own name for a section is the one checked for twice. */
  memset(&r, 0, sizeof r);
  assert_int_equal(kiln_ini_parse("[alias]\nk = v\n[Alias]\nk = v\n", "t.ini",
                                  &recorder, &r, err, sizeof err),
                   -1);
  assert_string_equal(err, "t.ini:3: [Alias] appears twice (first at line 1)");
  /* A refusal without a message still names its line; the first error in
   * the file wins, and after it no callback is called. */
  memset(&r, 0, sizeof r);
  r.refuse_line = 3;
  assert_int_equal(kiln_ini_parse("[a]\nk = v\nj = w\nbad line\nl = x\n",
                                  "t.ini", &recorder, &r, err, sizeof err),
                   -1);
  assert_string_equal(err, "t.ini:3: rejected");
  assert_string_equal(r.log, "[a]@1 a.k=v@2 ");
  assert_int_equal(kiln_ini_parse("[a]\nnot a key\nk =\n", "t.ini", &recorder,
                                  &r, err, sizeof err),
                   -1);
  assert_string_equal(err, "t.ini:2: syntax error (expected [section] or key "
                           "= value)");
  assert_int_equal(
      kiln_ini_parse("k = v\n", "t.ini", &recorder, &r, err, sizeof err), -1);
  assert_string_equal(err, "t.ini:1: 'k' is outside any [section]");
}

int main(void) {
  cmocka_set_message_output(CM_OUTPUT_TAP);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(comments_and_blanks_read_alike),
      cmocka_unit_test(indented_lines_are_lines_of_their_own),
      cmocka_unit_test(repeats_and_gaps_are_errors_everywhere),
      cmocka_unit_test(a_byte_order_mark_is_read_past),
      cmocka_unit_test(the_reader_keeps_its_contract),
  };
  return cmocka_run_group_tests_name("ini", tests, NULL, NULL);
}
