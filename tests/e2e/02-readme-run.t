#!/bin/sh
# The README's sample run is what a run of the built-in quick profile shows:
# the header's step count, and each step's start line (module, phase, scope)
# in the order the profile gives. The figures and times are this machine's
# and are not compared.
. tests/e2e/lib.sh
plan 3

# The lines of README.md between "## A sample run" and the block's end.
awk '/^## A sample run/ { inside = 1; next }
     inside && /^```$/ { fence++; if (fence == 2) exit; next }
     inside && fence == 1 { print }' README.md >"$TEST_TMP/readme.txt"

run_kiln "$TEST_TMP/run.txt" run --serial SN-0042 --no-tui --duration 1s \
  --report-dir "$TEST_TMP/r"

steps() { sed -n 's/^kiln [^:]*: profile quick (built-in:quick), serial SN-0042, \([0-9]*\) steps$/\1/p' "$1"; }
is "the sample's header names as many steps as a quick run has" \
  "$(steps "$TEST_TMP/readme.txt")" "$(steps "$TEST_TMP/run.txt")"

# "[   12.3s] start   pcie.bw (phase 6, all GPUs)" -> "pcie.bw (phase 6, all GPUs)"
starts() { sed -n 's/^\[ *[0-9.]*s\] start   //p' "$1"; }
starts "$TEST_TMP/readme.txt" >"$TEST_TMP/readme.starts"
starts "$TEST_TMP/run.txt" >"$TEST_TMP/run.starts"
if [ -s "$TEST_TMP/run.starts" ] && cmp -s "$TEST_TMP/readme.starts" "$TEST_TMP/run.starts"; then
  ok 0 "the sample starts the steps a quick run starts, in its order"
else
  ok 1 "the sample starts the steps a quick run starts, in its order"
  diff "$TEST_TMP/readme.starts" "$TEST_TMP/run.starts" | sed 's/^/# /'
fi

# Every step of the run has a row in the sample's summary table.
sed -n '/^STEP  *VERDICT/,/^$/p' "$TEST_TMP/run.txt" | awk 'NR > 1 && NF { print $1 }' >"$TEST_TMP/run.rows"
sed -n '/^STEP  *VERDICT/,/^$/p' "$TEST_TMP/readme.txt" | awk 'NR > 1 && NF { print $1 }' >"$TEST_TMP/readme.rows"
if [ -s "$TEST_TMP/run.rows" ] && cmp -s "$TEST_TMP/readme.rows" "$TEST_TMP/run.rows"; then
  ok 0 "the sample's summary table has a row for each step, in order"
else
  ok 1 "the sample's summary table has a row for each step, in order"
  diff "$TEST_TMP/readme.rows" "$TEST_TMP/run.rows" | sed 's/^/# /'
fi
done_testing
