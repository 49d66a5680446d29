#!/bin/sh
# --tap streams TAP on stdout for a harness; --quiet prints nothing.
. tests/e2e/lib.sh
plan 8
P="$FIXTURES/profiles/fast.ini"

rc=0
"$KILN" run --profile "$P" --only cpu.compute,gpu.query --tap \
  --report-dir "$TEST_TMP/t1" >"$TEST_TMP/tap.out" 2>"$TEST_TMP/tap.err" || rc=$?
is "--tap run passes" "$rc" 0
is "--tap: stdout starts with TAP version 13" "$(head -n 1 "$TEST_TMP/tap.out")" \
  "TAP version 13"
check "--tap: prove accepts stdout" prove -e cat "$TEST_TMP/tap.out"
like "--tap: the log went to stderr" "$TEST_TMP/tap.err" "^verdict: PASS"

rc=0
"$KILN" run --profile "$P" --only cpu.compute --inject cpu.sdc --tap \
  --tap-version 14 --report-dir "$TEST_TMP/t2" >"$TEST_TMP/tap14.out" \
  2>/dev/null || rc=$?
is "--tap with a FAIL exits 1" "$rc" 1
like "--tap-version 14" "$TEST_TMP/tap14.out" "^TAP version 14$"
like "--tap: the failing step is not ok" "$TEST_TMP/tap14.out" \
  "^not ok 1 - cpu.compute"

rc=0
"$KILN" run --profile "$P" --only gpu.query --quiet \
  --report-dir "$TEST_TMP/t3" >"$TEST_TMP/quiet.out" 2>&1 || rc=$?
is "--quiet prints nothing" "$(cat "$TEST_TMP/quiet.out")" ""
done_testing
