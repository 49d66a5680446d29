#!/bin/sh
# make test runs every test through tests/unit/tap-skip.sh: a test that
# cmocka skipped ("not ok N # SKIP", e.g. a fans test on a machine that has
# real fans) must not fail the suite, and nothing else may change: a real
# failure stays a failure, and the exit status is the test's own.
. tests/e2e/lib.sh
plan 7

# The TAP cmocka 1.1.5 prints for one passed, one skipped, one failed test.
cat >"$TEST_TMP/cm" <<'TAP'
#!/bin/sh
echo 1..3
echo "ok 1 - passes"
echo "not ok 2 # SKIP skipped_test"
echo "not ok 3 - fails"
echo "# not ok 4 # SKIP in a comment"
exit "${1:-0}"
TAP
chmod +x "$TEST_TMP/cm"

sh tests/unit/tap-skip.sh "$TEST_TMP/cm" >"$TEST_TMP/out"
is "the test's exit status 0 is kept" "$?" 0
like "a skipped test becomes TAP's skip" "$TEST_TMP/out" '^ok 2 # SKIP skipped_test$'
like "a failure stays a failure" "$TEST_TMP/out" '^not ok 3 - fails$'
like "a passed test is as it was" "$TEST_TMP/out" '^ok 1 - passes$'
like "a comment is not touched" "$TEST_TMP/out" '^# not ok 4 # SKIP in a comment$'

sh tests/unit/tap-skip.sh "$TEST_TMP/cm" 3 >/dev/null
is "a failing exit status is kept" "$?" 3

# The real thing: a cmocka binary with a skipped test passes under prove.
cat >"$TEST_TMP/sk.c" <<'C'
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

static void passes(void **state) { (void)state; }
static void skipped(void **state) { (void)state; skip(); }

int main(void) {
  cmocka_set_message_output(CM_OUTPUT_TAP);
  const struct CMUnitTest tests[] = {cmocka_unit_test(passes),
                                     cmocka_unit_test(skipped)};
  return cmocka_run_group_tests_name("skip", tests, NULL, NULL);
}
C
if cc -o "$TEST_TMP/sk" "$TEST_TMP/sk.c" -lcmocka 2>"$TEST_TMP/cc.err"; then
  check "prove passes a cmocka binary with a skipped test" \
    prove --exec "sh tests/unit/tap-skip.sh" "$TEST_TMP/sk"
else
  skip 1 "cannot build a cmocka program: $(head -1 "$TEST_TMP/cc.err")"
fi

done_testing
