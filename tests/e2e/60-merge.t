#!/bin/sh
# kiln merge over real runs: four nodes (n2 with an injected cpu.sdc) merge
# into one FAIL naming n2 and the core, in a JUnit that validates, a TAP
# stream prove reads and an HTML page that parses; healthy nodes merge to
# exit 0; a missing directory, one without ocp.jsonl, a run killed with
# SIGKILL mid-step and a duplicate serial are each an ERROR said in one
# line (exit 2, outputs still valid); another profile's directory and bad
# usage are refused (64).
. tests/e2e/lib.sh
plan 28
P="$FIXTURES/profiles/fast.ini"
R="$TEST_TMP/runs"
mkdir -p "$R"

for n in 1 2 3 4; do
  inject=
  [ "$n" = 2 ] && inject="--inject cpu.sdc"
  # shellcheck disable=SC2086
  run_kiln "$TEST_TMP/run$n.out" run --profile "$P" --duration 1s --no-tui \
    --serial "SN$n" --report-dir "$R/n$n" $inject
done
is "the four runs: n2 FAILs, the others pass" \
  "$(grep -h '^verdict:' "$TEST_TMP"/run[1-4].out | cut -d' ' -f2 | tr '\n' ' ')" \
  "PASS FAIL PASS PASS "

# ---- four nodes, one FAIL ----
O="$TEST_TMP/merged"
run_kiln "$TEST_TMP/m.out" merge "$R/n1" "$R/n2" "$R/n3" "$R/n4" --report-dir "$O"
is "merge of four with n2 failing: exit 1" "$rc" 1
like "the last line states the exit code" "$TEST_TMP/m.out" \
  '^verdict: FAIL \(exit 1\) of 4 nodes; reports in '
is "nothing said about healthy directories" \
  "$(grep -c '^kiln: merge:' "$TEST_TMP/m.out")" 0
like "summary.txt: the matrix row of n2 is FAIL" "$O/summary.txt" \
  '^n2 +SN2 +FAIL +.*FAIL'
like "summary.txt names n2 and the core" "$O/summary.txt" \
  '^  n2 cpu.compute FAIL: cpu[0-9]+ computed a wrong'
like "results.tap: n2's cpu.compute is not ok" "$O/results.tap" \
  '^not ok [0-9]+ - n2 cpu.compute$'
like "junit.xml: a suite n2/cpu.compute with its serial" "$O/junit.xml" \
  '<testsuite name="n2/cpu.compute"'
like "junit.xml: the failure names the core" "$O/junit.xml" \
  '<failure type="cpu-sdc" message="cpu[0-9]+ computed'
need_shared schemas/junit-10.xsd 1 &&
  check "junit.xml validates against junit-10.xsd" \
    xmllint --noout --schema "$SHARED/schemas/junit-10.xsd" "$O/junit.xml"
prc=0
prove -e cat "$O/results.tap" >"$TEST_TMP/prove" 2>&1 || prc=$?
is "prove reads results.tap whole and fails it (n2)" \
  "$prc/$(grep -c 'Parse errors' "$TEST_TMP/prove")/$(grep -c 'Failed test: ' "$TEST_TMP/prove")" \
  "1/0/1"
check "report.html parses as HTML" xmllint --html --noout "$O/report.html"
like "report.html: n2's cpu.compute cell links to its own page" \
  "$O/report.html" 'href="\.\./runs/n2/report\.html#step-[0-9]+"><span class="badge v-FAIL">FAIL'

# ---- healthy ----
run_kiln "$TEST_TMP/h.out" merge "$R/n1" "$R/n3" "$R/n4" --report-dir "$TEST_TMP/healthy"
is "merge of healthy nodes: exit 0" "$rc" 0
like "healthy: PASS (exit 0)" "$TEST_TMP/h.out" '^verdict: PASS \(exit 0\) of 3 nodes'

# ---- broken directories ----
# A run killed with SIGKILL (its whole session) in the middle of a step.
start_kiln "$TEST_TMP/killed.out" run --profile "$P" --duration 30s --no-tui \
  --serial SN-killed --report-dir "$R/killed"
for _ in $(seq 1 200); do
  grep -q '"testStepStart":{"name":"cpu.compute"' "$R/killed/ocp.jsonl" 2>/dev/null && break
  sleep 0.05
done
sleep 0.3
kill -KILL "-$pid"
wait "$pid" 2>/dev/null
mkdir -p "$R/empty"
cp -r "$R/n1" "$R/twin" # a second directory of serial SN1
B="$TEST_TMP/broken"
run_kiln "$TEST_TMP/b.out" merge "$R/n1" "$R/n3" "$R/missing" "$R/empty" \
  "$R/killed" "$R/twin" --report-dir "$B"
is "merge with broken directories: exit 2" "$rc" 2
like "a missing directory is said" "$TEST_TMP/b.out" \
  '^kiln: merge: missing: ERROR: no directory .*/missing: No such file'
like "a directory without ocp.jsonl is said" "$TEST_TMP/b.out" \
  '^kiln: merge: empty: ERROR: no ocp.jsonl in .*/empty$'
like "the killed run is said, with its step" "$TEST_TMP/b.out" \
  '^kiln: merge: killed: ERROR: run never ended: last step (cpu.compute|dram.patterns) started at '
like "the duplicate serial is said, naming both directories" "$TEST_TMP/b.out" \
  '^kiln: merge: serial SN1 is in both .*/n1 and .*/twin: both are ERROR$'
like "broken: the last line states exit 2" "$TEST_TMP/b.out" \
  '^verdict: ERROR \(exit 2\) of 6 nodes'
like "summary.txt lists the problems" "$B/summary.txt" \
  '^  killed: ERROR: run never ended'
need_shared schemas/junit-10.xsd 1 &&
  check "broken: junit.xml still validates" \
    xmllint --noout --schema "$SHARED/schemas/junit-10.xsd" "$B/junit.xml"
prove -e cat "$B/results.tap" >"$TEST_TMP/prove" 2>&1
is "broken: prove reads results.tap whole" \
  "$(grep -c 'Parse errors' "$TEST_TMP/prove")" 0
check "broken: report.html parses" xmllint --html --noout "$B/report.html"

# ---- refused ----
run_kiln "$TEST_TMP/q.out" run --profile quick --only cpu.compute \
  --duration 1s --no-tui --serial SNQ --report-dir "$R/quick"
run_kiln "$TEST_TMP/x.out" merge "$R/n1" "$R/quick" --report-dir "$TEST_TMP/mixed"
is "another profile's directory: exit 64, one line, nothing written" \
  "$rc/$(wc -l <"$TEST_TMP/x.out")/$([ -e "$TEST_TMP/mixed" ] && echo written)" "64/1/"
like "the line names both profiles and a directory of each" "$TEST_TMP/x.out" \
  '^kiln: merge: directories of different profiles: .*/n1 \(fast\) and .*/quick \(quick\)'
run_kiln "$TEST_TMP/u.out" merge "$R/n1"
is "no --report-dir: exit 64, one line" "$rc/$(wc -l <"$TEST_TMP/u.out")" "64/1"
done_testing
