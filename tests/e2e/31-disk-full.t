#!/bin/sh
# A report directory on a disk that is full at the start stops the run
# within seconds, before any step, with ERROR and the reason; a disk that
# fills mid-run leaves whole lines and whole files, and the last line
# states the true exit code and which reports are incomplete. The disk is
# a tmpfs of a few KiB (needs root, as CI has; skipped where mounting is
# not permitted).
. tests/e2e/lib.sh
plan 25
P="$FIXTURES/profiles/fast.ini"
MNT="$TEST_TMP/disk"
mkdir -p "$MNT"
trap 'umount "$MNT" 2>/dev/null; rm -rf "$TEST_TMP"' EXIT

# mount_disk SIZE: a fresh tmpfs of SIZE at $MNT.
mount_disk() {
  umount "$MNT" 2>/dev/null
  mount -t tmpfs -o "size=$1" tmpfs "$MNT"
}
# fill_disk: fills the tmpfs at $MNT (and nothing else) to the last block.
fill_disk() {
  mountpoint -q "$MNT" || return 1
  dd if=/dev/zero of="$MNT/fill" bs=4k 2>/dev/null
  return 0
}
last_line() { tail -n 1 "$1"; }

if ! mount_disk 64k 2>"$TEST_TMP/mount.err"; then
  skip 25 "cannot mount a tmpfs here: $(head -n 1 "$TEST_TMP/mount.err")"
  exit 0
fi

# 1. Full before the run starts.
fill_disk
start=$(date +%s)
run_kiln "$TEST_TMP/full.out" run --profile "$P" --report-dir "$MNT/r"
took=$(($(date +%s) - start))
is "full at the start: exit 2" "$rc" 2
ok "$([ "$took" -le 5 ] && echo 0 || echo 1)" "full at the start: stopped in ${took}s"
like "full at the start: says why, naming the dir" "$TEST_TMP/full.out" \
  "^kiln: cannot write in report dir $MNT/r: .*No space left on device; no step was run \(ERROR, exit 2\)$"
ok "$(grep -q ' start ' "$TEST_TMP/full.out" && echo 1 || echo 0)" \
  "full at the start: no step started"

# 2. Room for kiln's reserve, none for the reports themselves: the first
# report writes find it before any step runs.
mount_disk 1032k
start=$(date +%s)
run_kiln "$TEST_TMP/probe.out" run --profile "$P" --report-dir "$MNT/r"
took=$(($(date +%s) - start))
is "no room for the reports: exit 2" "$rc" 2
ok "$([ "$took" -le 5 ] && echo 0 || echo 1)" "no room for the reports: stopped in ${took}s"
last_line "$TEST_TMP/probe.out" >"$TEST_TMP/probe.last"
like "no room for the reports: the last line says ERROR, exit 2 and why" \
  "$TEST_TMP/probe.last" \
  "^verdict: ERROR \(exit 2\); no step was run: the reports cannot be written \(.*No space left on device\); reports in $MNT/r$"
ok "$(grep -q '\] start ' "$TEST_TMP/probe.out" && echo 1 || echo 0)" \
  "no room for the reports: no step started"
like "no room for the reports: the OCP stream says why" "$MNT/r/ocp.jsonl" \
  '"symptom":"run-aborted","message":"no step was run: the reports cannot be written'
check_reports "$MNT/r" fail

# 3. The disk fills mid-run.
mount_disk 4m
"$KILN" run --profile "$P" --skip dram.bandwidth --duration 4s --report-dir "$MNT/r" \
  >"$TEST_TMP/mid.out" 2>&1 &
pid=$!
for _ in $(seq 1 150); do
  ps -o comm= --ppid "$pid" | grep -qx kiln/cpu.comput && break
  sleep 0.1
done
fill_disk
rc=0
wait "$pid" || rc=$?
is "filled mid-run: exit 2" "$rc" 2
last_line "$TEST_TMP/mid.out" >"$TEST_TMP/mid.last"
like "filled mid-run: the last line states exit 2 and the incomplete report" \
  "$TEST_TMP/mid.last" \
  "^verdict: ERROR \(exit 2\); incomplete reports: ocp.jsonl; reports in $MNT/r$"
like "filled mid-run: the OCP stream says what it lost" "$MNT/r/ocp.jsonl" \
  '"symptom":"report-incomplete","message":"this stream lost every event from .* on \(No space left on device\)'
like "filled mid-run: the OCP stream gives every step's verdict" "$MNT/r/ocp.jsonl" \
  'the steps ended: gpu.query SKIP, cpu.compute PASS, dram.patterns PASS"'
like "filled mid-run: the OCP stream ends with testRunEnd ERROR" "$MNT/r/ocp.jsonl" \
  '"testRunEnd":\{"status":"ERROR"'
check_reports "$MNT/r" pass
ok "$(ls "$MNT/r" | grep -q tmp && echo 1 || echo 0)" "filled mid-run: no temp file left behind"
done_testing
