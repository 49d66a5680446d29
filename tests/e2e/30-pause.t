#!/bin/sh
# A parent paused longer than grace + hang_timeout (Ctrl-Z: the parent
# alone; a VM stall: the parent and its steps) must not turn steps that ran
# or finished normally into ERROR "hung".
. tests/e2e/lib.sh
plan 18

P="$TEST_TMP/pause.ini"
cat >"$P" <<'INI'
[profile]
name = pause
description = short steps, a short watchdog
duration = 3s
grace = 2s
hang_timeout = 3s
phase.1 = cpu.compute
phase.2 = dram.patterns

[dram.patterns]
mem = 64M
INI
PAUSE=7 # longer than grace + hang_timeout, and than a step's duration

# wait_for_step PID COMM: waits until kiln PID has a child named COMM.
wait_for_step() {
  for _ in $(seq 1 150); do
    ps -o comm= --ppid "$1" | grep -qx "$2" && return 0
    sleep 0.1
  done
  return 1
}

for how in parent stall; do
  d="$TEST_TMP/$how"
  "$KILN" run --profile "$P" --report-dir "$d" >"$TEST_TMP/$how.out" 2>&1 &
  pid=$!
  wait_for_step "$pid" kiln/cpu.comput
  ok $? "$how: cpu.compute started"
  kids=$(ps -o pid= --ppid "$pid")
  kill -STOP "$pid"
  # A VM stall stops the steps too; Ctrl-Z stops kiln alone.
  [ "$how" = stall ] && for k in $kids; do kill -STOP "$k"; done
  sleep "$PAUSE"
  kill -CONT "$pid"
  # The steps resume a moment after kiln: its watchdog looks first.
  [ "$how" = stall ] && sleep 1 && for k in $kids; do kill -CONT "$k"; done
  rc=0
  wait "$pid" || rc=$?
  is "$how: exit 0 after a ${PAUSE}s pause" "$rc" 0
  [ "$rc" -eq 0 ] && ! grep -q hung "$TEST_TMP/$how.out" ||
    sed 's/^/#  | /' "$TEST_TMP/$how.out" | grep -E 'ERROR|hung|verdict'
  like "$how: cpu.compute PASS" "$TEST_TMP/$how.out" "PASS +cpu.compute"
  like "$how: dram.patterns (the next phase) PASS" "$TEST_TMP/$how.out" \
    "PASS +dram.patterns"
  check_reports "$d" pass
done
done_testing
