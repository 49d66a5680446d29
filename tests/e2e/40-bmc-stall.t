#!/bin/sh
# A BMC that stops answering mid-run (OpenIPMI's ipmi_sim paused with
# SIGSTOP) must never stall the run: it is sampled in a thread of its own,
# so the other steps keep their timing, and the thermal monitor warns, then
# ERRORs naming the BMC once it has been silent for `hold`. Every report
# stays valid.
. tests/e2e/lib.sh
need_ipmi_sim
plan 17
P=$TEST_TMP/stall.ini
cat >"$P" <<'INI'
[profile]
name = bmc-stall
duration = 6s
monitors = thermal
phase.1 = cpu.compute
[thermal]
hold = 1s
INI

start_ipmi_sim
ok "$([ -n "$port" ] && [ -n "$simpid" ] && echo 0 || echo 1)" \
  "ipmi_sim is up on 127.0.0.1:$port (pid $simpid)"

d=$TEST_TMP/stall
start=$(date +%s.%N)
"$KILN" run --profile "$P" --bmc "127.0.0.1:$port" \
  --bmc-credentials "$sim_dir/credentials" --report-dir "$d" \
  >"$TEST_TMP/stall.out" 2>&1 &
kiln=$!
# Pause the BMC once kiln has read it.
for _ in $(seq 1 100); do
  grep -q ',ipmi,bmc/FAN1,' "$d/telemetry.csv" 2>/dev/null && break
  sleep 0.1
done
like "kiln read the BMC before it was paused" "$d/telemetry.csv" \
  ",ipmi,bmc/FAN1,FAN1,[0-9.]+,RPM$"
kill -STOP "$simpid"
rc=0
wait "$kiln" || rc=$?
took=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
kill -CONT "$simpid"

is "a BMC that stopped answering: exit 2" "$rc" 2
ok "$(awk -v t="$took" 'BEGIN { print (t < 10) ? 0 : 1 }')" \
  "the 6 s run ended on time (in ${took} s)"
step_time=$(xmllint --xpath 'string(//testcase[@name="cpu.compute"]/@time)' \
  "$d/junit.xml" 2>/dev/null)
ok "$(awk -v t="${step_time:-99}" 'BEGIN { print (t < 8) ? 0 : 1 }')" \
  "the 6 s cpu.compute step took ${step_time} s"
like "cpu.compute PASSes" "$d/results.tap" "^ok [0-9]+ - cpu.compute$"
like "the thermal monitor ERRORs naming the BMC: not answering" \
  "$TEST_TMP/stall.out" \
  "ERROR +thermal: BMC 127\.0\.0\.1:$port not answering for [0-9]+ s: "
like "... first a warning in the thermal step's log" "$d/ocp.jsonl" \
  "\"severity\":\"WARNING\",\"message\":\"BMC 127\.0\.0\.1:$port not answering: "
like "the last line states the exit code" "$TEST_TMP/stall.out" \
  "^verdict: ERROR \(exit 2\)"
check_reports "$d" fail

# Silent at the end of the run, before `hold` could pass: its sensors went
# unwatched, so the monitor cannot PASS.
sed 's/^hold = 1s$/hold = 60s/' "$P" >"$TEST_TMP/longhold.ini"
d=$TEST_TMP/longhold
"$KILN" run --profile "$TEST_TMP/longhold.ini" --bmc "127.0.0.1:$port" \
  --bmc-credentials "$sim_dir/credentials" --report-dir "$d" \
  >"$TEST_TMP/longhold.out" 2>&1 &
kiln=$!
for _ in $(seq 1 100); do
  grep -q ',ipmi,bmc/FAN1,' "$d/telemetry.csv" 2>/dev/null && break
  sleep 0.1
done
kill -STOP "$simpid"
rc=0
wait "$kiln" || rc=$?
kill -CONT "$simpid"
is "silent at the end, inside a 60 s hold: exit 2" "$rc" 2
like "... the thermal monitor ERRORs naming the BMC" "$TEST_TMP/longhold.out" \
  "ERROR +thermal: BMC 127\.0\.0\.1:$port not answering for [0-9]+ s: "
like "... and the last line says so" "$TEST_TMP/longhold.out" \
  "^verdict: ERROR \(exit 2\)"
done_testing
