#!/bin/sh
# A limit set on a measurement the step never produced is never passed:
# gpu.health over the fake NVML, with a profile limit on
# remapped_rows_pending, which an older driver (no remapped-rows call)
# cannot measure. The newer driver measures it (exit 0); the older one
# makes the step an ERROR naming the limit and why (exit 2); a step that
# FAILs anyway stays FAIL and carries the same line in its log (exit 1).
. tests/e2e/lib.sh
plan 22
pci=$TEST_TMP/pci
fake_gpu_bus "$pci" 0x2330 0000:1b:00.0
build_fake_nvml "$TEST_TMP/new.so"
build_fake_nvml "$TEST_TMP/old.so" -DOLD
export KILN_SYSFS_PCI="$pci"

P=$TEST_TMP/limit.ini
cat >"$P" <<'INI'
[profile]
name = limit
phase.1 = gpu.health
[gpu.health]
remapped_rows_pending.max = 0
INI
msg='limit remapped_rows_pending\.max = 0 set but remapped_rows_pending was not measured: GPU 0000:1b:00\.0: remapped rows: not supported by this driver'

d=$TEST_TMP/measured
KILN_NVML_LIB=$TEST_TMP/new.so run_kiln "$TEST_TMP/measured.out" run \
  --profile "$P" --report-dir "$d"
is "a driver that measures it: exit 0" "$rc" 0
like "the limit was judged" "$d/results.tap" '^ok 1 - gpu\.health\[0\]$'

d=$TEST_TMP/unmeasured
KILN_NVML_LIB=$TEST_TMP/old.so run_kiln "$TEST_TMP/unmeasured.out" run \
  --profile "$P" --report-dir "$d"
is "a driver that cannot measure it: exit 2" "$rc" 2
like "the last line states the exit code" "$TEST_TMP/unmeasured.out" \
  '^verdict: ERROR \(exit 2\)'
like "results.tap: the step is not ok" "$d/results.tap" \
  '^not ok 1 - gpu\.health\[0\]$'
like "results.tap: the reason names the limit and why" "$d/results.tap" \
  "^  reason: \"$msg\"$"
like "summary.txt: the same line" "$d/summary.txt" \
  "^  gpu\.health\[0\] ERROR: $msg$"
like "ocp.jsonl: an error of the step" "$d/ocp.jsonl" "\"step-error\".*$msg"
check_reports "$d" fail

# Already failing (ECC off): FAIL stays FAIL, the note is in its log.
d=$TEST_TMP/failing
FAKE_ECC=0 KILN_NVML_LIB=$TEST_TMP/old.so run_kiln "$TEST_TMP/failing.out" \
  run --profile "$P" --report-dir "$d"
is "a FAIL as well: exit 1" "$rc" 1
like "the FAIL is kept" "$d/summary.txt" \
  '^  gpu\.health\[0\]: GPU 0000:1b:00\.0 .*ECC is disabled'
like "the note is in the step's log (OCP)" "$d/ocp.jsonl" \
  "\"severity\":\"ERROR\".*$msg"
like "and in junit.xml's step output" "$d/junit.xml" "ERROR: $msg"
check_reports "$d" fail
done_testing
