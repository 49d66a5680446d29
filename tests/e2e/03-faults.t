#!/bin/sh
# Injected faults must be caught, each as the issue states, and the reports
# stay valid around them.
. tests/e2e/lib.sh
plan 34
P="$FIXTURES/profiles/fast.ini"

# verdict_of DIR STEP: the step's verdict from summary-independent TAP.
tap_line() { grep -E "^(not )?ok [0-9]+ - $2( |$)" "$1/results.tap"; }

d="$TEST_TMP/sdc"
run_kiln "$TEST_TMP/sdc.out" run --profile "$P" --only cpu.compute \
  --inject cpu.sdc --report-dir "$d"
is "cpu.sdc: exit 1 (FAIL)" "$rc" 1
like "cpu.sdc: the console names the logical CPU" "$TEST_TMP/sdc.out" \
  "FAIL +cpu.compute: .*(CPU|cpu) ?[0-9]+"
like "cpu.sdc: OCP has a FAIL diagnosis on a cpu" "$d/ocp.jsonl" \
  '"type": ?"FAIL".*cpu[0-9]+|cpu[0-9]+.*"type": ?"FAIL"'
check_reports "$d" fail

d="$TEST_TMP/bitflip"
run_kiln "$TEST_TMP/flip.out" run --profile "$P" --only dram.patterns \
  --inject dram.bitflip --report-dir "$d"
is "dram.bitflip: exit 1 (FAIL)" "$rc" 1
like "dram.bitflip: the failure gives the address" "$TEST_TMP/flip.out" \
  "FAIL +dram.patterns: .*0x[0-9a-f]{6,}"
check_reports "$d" fail

d="$TEST_TMP/triad"
run_kiln "$TEST_TMP/triad.out" run --profile "$P" --only dram.bandwidth \
  --inject dram.bad_triad --report-dir "$d"
is "dram.bad_triad: exit 1 (FAIL)" "$rc" 1
like "dram.bad_triad: the failure gives the address" "$TEST_TMP/triad.out" \
  "FAIL +dram.bandwidth: .*0x[0-9a-f]{6,}"

d="$TEST_TMP/crash"
run_kiln "$TEST_TMP/crash.out" run --profile "$P" \
  --only cpu.compute,dram.bandwidth --inject step.crash --report-dir "$d"
is "step.crash: exit 2 (ERROR)" "$rc" 2
like "step.crash: the crashed step is ERROR naming the signal" "$TEST_TMP/crash.out" \
  "ERROR +cpu.compute: crashed: killed by signal 11 \(SIGSEGV"
like "step.crash: the rest completes" "$TEST_TMP/crash.out" "PASS +dram.bandwidth"
check_reports "$d" fail

d="$TEST_TMP/hang"
start=$(date +%s)
run_kiln "$TEST_TMP/hang.out" run --profile "$P" \
  --only cpu.compute,dram.bandwidth --inject step.hang:dram.bandwidth \
  --report-dir "$d"
took=$(($(date +%s) - start))
is "step.hang: exit 2 (ERROR)" "$rc" 2
like "step.hang: the watchdog ends it as hung" "$TEST_TMP/hang.out" \
  "ERROR +dram.bandwidth: hung: no progress for [0-9]+ s"
like "step.hang: the other step passes" "$TEST_TMP/hang.out" "PASS +cpu.compute"
ok "$([ "$took" -lt 30 ] && echo 0 || echo 1)" "step.hang: ended by the watchdog in ${took}s"
check_reports "$d" fail
done_testing
