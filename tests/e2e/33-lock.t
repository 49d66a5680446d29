#!/bin/sh
# Two runs into one --report-dir: the second is refused at once, while the
# first still runs (it never waits for the lock), naming the holder's pid, and the first run's record stays whole. A later
# run never truncates an earlier run's reports, unless --overwrite.
. tests/e2e/lib.sh
plan 18
P="$FIXTURES/profiles/fast.ini"
d="$TEST_TMP/shared-dir"

"$KILN" run --profile "$P" --only cpu.compute --duration 8s --serial LOCK-A \
  --report-dir "$d" >"$TEST_TMP/a.out" 2>&1 &
a=$!
for _ in $(seq 1 150); do
  ps -o comm= --ppid "$a" | grep -qx kiln/cpu.comput && break
  sleep 0.1
done
run_kiln "$TEST_TMP/b.out" run --profile "$P" --only cpu.compute \
  --serial LOCK-B --report-dir "$d"
# Judged by the first run still running, not by a clock: a loaded machine
# makes any start slow, but only waiting for the lock outlasts an 8 s step.
first_running=1
kill -0 "$a" 2>/dev/null && first_running=0
is "second run into a locked dir: exit 2" "$rc" 2
ok "$first_running" "second run: refused while the first still runs (no wait for the lock)"
like "second run: the error names the holder's pid" "$TEST_TMP/b.out" \
  "^kiln: report dir $d is in use by another kiln run \(pid $a\); give another --report-dir; no step was run \(ERROR, exit 2\)$"
ok "$(grep -q ' start ' "$TEST_TMP/b.out" && echo 1 || echo 0)" \
  "second run: no step started"
rc=0
wait "$a" || rc=$?
is "first run: exit 0" "$rc" 0
like "first run: its OCP record is its own" "$d/ocp.jsonl" '"serial":"LOCK-A"'
ok "$(grep -q LOCK-B "$d/ocp.jsonl" "$d/summary.txt" "$d/junit.xml" && echo 1 || echo 0)" \
  "first run: nothing of the second run in its reports"
check_reports "$d" pass

# The directory now holds a finished run's reports.
sum=$(cat "$d"/ocp.jsonl "$d"/junit.xml "$d"/summary.txt | md5sum)
run_kiln "$TEST_TMP/c.out" run --profile "$P" --only cpu.compute \
  --serial LOCK-C --report-dir "$d"
is "a reused dir with another run's reports: exit 64" "$rc" 64
like "a reused dir: the error says why and names --overwrite" "$TEST_TMP/c.out" \
  "^kiln: report dir $d already holds the reports of another run \(ocp.jsonl\); give a new --report-dir, or --overwrite to replace them"
is "a reused dir: the earlier reports are untouched" \
  "$(cat "$d"/ocp.jsonl "$d"/junit.xml "$d"/summary.txt | md5sum)" "$sum"

# --overwrite replaces them all: no file of the earlier run stays to mix.
echo "timestamp,source,sensor,label,value,unit" >"$d/telemetry.csv"
run_kiln "$TEST_TMP/o.out" run --profile "$P" --only cpu.compute \
  --serial LOCK-C --report-dir "$d" --overwrite
is "--overwrite: exit 0" "$rc" 0
like "--overwrite: the new run's record" "$d/ocp.jsonl" '"serial":"LOCK-C"'
ok "$([ -e "$d/telemetry.csv" ] && echo 1 || echo 0)" \
  "--overwrite: an earlier run's file it did not write again is gone"
done_testing
