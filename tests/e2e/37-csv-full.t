#!/bin/sh
# telemetry.csv on a disk that fills while the sampler writes it: the file
# keeps whole rows only (the row that did not fit is cut off, later ones
# are dropped), the thermal monitor's log says what was lost, and the last
# line states exit 2 and names telemetry.csv among the incomplete reports.
# Sensors are faked with umockdev (as in 09-thermal.t); the disk is a tmpfs
# this test mounts (needs root, as CI has; skipped where mounting is not
# permitted).
. tests/e2e/lib.sh
plan 12
UMD=$FIXTURES/umockdev
MNT="$TEST_TMP/disk"
mkdir -p "$MNT"
trap 'umount "$MNT" 2>/dev/null; rm -rf "$TEST_TMP"' EXIT

# fill_disk: fills the tmpfs at $MNT (and nothing else) to the last block.
fill_disk() {
  mountpoint -q "$MNT" || return 1
  dd if=/dev/zero of="$MNT/fill" bs=4k 2>/dev/null
  return 0
}

if ! mount -t tmpfs -o size=4m tmpfs "$MNT" 2>"$TEST_TMP/mount.err"; then
  skip 12 "cannot mount a tmpfs here: $(head -n 1 "$TEST_TMP/mount.err")"
  exit 0
fi

# Ten samples a second of a board with six fans and two temperatures: the
# rows outrun any block boundary within a second.
P=$TEST_TMP/thermal.ini
cat >"$P" <<'INI'
[profile]
name = csv-full
duration = 5s
monitors = thermal
phase.1 = cpu.compute
[thermal]
interval = 0.1s
INI

R="$MNT/r"
umockdev-run -d "$UMD/healthy.umockdev" -- "$KILN" run --profile "$P" \
  --report-dir "$R" >"$TEST_TMP/run.out" 2>&1 &
pid=$!
# The disk fills once telemetry.csv holds some rows.
for _ in $(seq 1 100); do
  [ "$(wc -l 2>/dev/null <"$R/telemetry.csv" || echo 0)" -ge 20 ] && break
  sleep 0.1
done
before=$(wc -l 2>/dev/null <"$R/telemetry.csv" || echo 0)
fill_disk
rc=0
wait "$pid" || rc=$?
is "telemetry.csv filled mid-run: exit 2" "$rc" 2
ok "$([ "$before" -ge 20 ] && echo 0 || echo 1)" \
  "the disk filled while telemetry.csv was written ($before lines)"

# Every line a whole row: six fields, and the file ends in a newline.
check "telemetry.csv holds whole rows only" "$PYTHON" -c '
import csv, sys
text = open(sys.argv[1], newline="").read()
assert text.endswith("\n"), "ends in half a row: %r" % text[-80:]
rows = list(csv.reader(text.splitlines()))
assert rows[0] == ["timestamp", "source", "sensor", "label", "value",
                   "unit"], rows[0]
bad = [r for r in rows if len(r) != 6]
assert not bad, "rows without 6 fields: %r" % bad[:3]
assert len(rows) > 2, "no rows kept: %d" % len(rows)
' "$R/telemetry.csv"
like "telemetry.csv keeps the fan rows from before the disk filled" \
  "$R/telemetry.csv" ',sensors,nct6798-isa-[0-9a-f]*/fan1,CPU_FAN,[0-9.]+,RPM$'

tail -n 1 "$TEST_TMP/run.out" >"$TEST_TMP/last"
like "the last line states exit 2 and names telemetry.csv as incomplete" \
  "$TEST_TMP/last" \
  "^verdict: ERROR \(exit 2\); incomplete reports: ([a-z.]+, )*telemetry\.csv; reports in $R$"
like "kiln says at once which rows telemetry.csv lost and why" "$TEST_TMP/run.out" \
  "telemetry\.csv: its rows from [0-9T:.-]+Z on were lost \(No space left on device\) \(no more rows are written to it"
like "junit.xml carries the thermal monitor's ERROR log" "$R/junit.xml" \
  "log [0-9T:.-]+Z ERROR: $R/telemetry\.csv: its rows from .* were lost \(No space left on device\)"
check_reports "$R" pass
done_testing
