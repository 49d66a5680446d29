#!/bin/sh
# --tap streams TAP on stdout for a harness; --quiet prints only the last
# line, which states the exit code (a clean run and a FAIL alike; with
# --tap it goes to stderr and stdout stays TAP).
. tests/e2e/lib.sh
plan 12
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
is "--quiet: a clean run prints only the last line" \
  "$(cat "$TEST_TMP/quiet.out")" \
  "verdict: PASS (exit 0); reports in $TEST_TMP/t3"

rc=0
"$KILN" run --profile "$P" --only cpu.compute --inject cpu.sdc --quiet \
  --report-dir "$TEST_TMP/t4" >"$TEST_TMP/quiet-fail.out" 2>&1 || rc=$?
is "--quiet with a FAIL exits 1" "$rc" 1
is "--quiet with a FAIL: only the last line, with its exit code" \
  "$(cat "$TEST_TMP/quiet-fail.out")" \
  "verdict: FAIL (exit 1); reports in $TEST_TMP/t4"

rc=0
"$KILN" run --profile "$P" --only gpu.query --quiet --tap \
  --report-dir "$TEST_TMP/t5" >"$TEST_TMP/quiet-tap.out" \
  2>"$TEST_TMP/quiet-tap.err" || rc=$?
check "--quiet --tap: stdout is TAP alone" prove -e cat "$TEST_TMP/quiet-tap.out"
is "--quiet --tap: the last line on stderr" "$(cat "$TEST_TMP/quiet-tap.err")" \
  "verdict: PASS (exit 0); reports in $TEST_TMP/t5"
done_testing
