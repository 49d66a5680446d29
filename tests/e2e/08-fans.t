#!/bin/sh
# The fans module end to end: the real binary under
# `umockdev-run -d tests/fixtures/umockdev/NAME.umockdev`, which fakes
# /sys/class/hwmon for the unmodified libsensors. Each fixture gives its
# verdict and exit code, and a FAIL names the chip and the fan's label in
# the console, the summary and the OCP stream. Without umockdev-run the
# fixture runs are skipped.
. tests/e2e/lib.sh
PLAN=30
plan $PLAN
UMOCKDEV=$FIXTURES/umockdev
CHIP=nct6798-isa-0290

# A profile with the fans module alone, short phases.
cat >"$TEST_TMP/fans.ini" <<'INI'
[profile]
name = fans-e2e
description = the fans module over umockdev fixtures
duration = 2s
grace = 15s
hang_timeout = 10s
phase.1 = fans

[fans]
idle = 1s
rpm_min.min = 1
INI

# Every fan of the healthy board, by label.
cat >"$TEST_TMP/spec.ini" <<'INI'
[fans]
count = 6
labels = CPU_FAN, CPU_OPT, SYS_FAN1, SYS_FAN2, SYS_FAN3, SYS_FAN4
INI

# run_fans FIXTURE NAME [ARGS...]: kiln run --only fans under umockdev with
# FIXTURE, reports in $TEST_TMP/NAME, output in $TEST_TMP/NAME.out.
run_fans() {
  fixture=$1
  d="$TEST_TMP/$2"
  out="$TEST_TMP/$2.out"
  shift 2
  rc=0
  KILN_SENSORS_CONFIG=/dev/null umockdev-run -d "$UMOCKDEV/$fixture.umockdev" \
    -- "$KILN" run --profile "$TEST_TMP/fans.ini" --only fans \
    --report-dir "$d" "$@" >"$out" 2>&1 || rc=$?
}

# ---- no fans on this machine (no umockdev) ----
if ls /sys/class/hwmon/hwmon* >/dev/null 2>&1; then
  for i in 1 2; do
    t_count=$((t_count + 1))
    echo "ok $t_count # skip this machine has hwmon chips"
  done
else
  KILN_SENSORS_CONFIG=/dev/null run_kiln "$TEST_TMP/none.out" run \
    --profile "$TEST_TMP/fans.ini" --only fans --report-dir "$TEST_TMP/none"
  is "no fans, none expected: exit 0" "$rc" 0
  like "SKIP with the reason" "$TEST_TMP/none.out" \
    "SKIP +fans: no fans found \(sensors: no hwmon chips found"
fi

if ! command -v umockdev-run >/dev/null 2>&1; then
  while [ "$t_count" -lt "$PLAN" ]; do
    t_count=$((t_count + 1))
    echo "ok $t_count # skip umockdev-run not installed"
  done
  exit 0
fi

# ---- healthy: six fans in range ----
run_fans healthy healthy --spec "$TEST_TMP/spec.ini"
is "healthy board: exit 0" "$rc" 0
[ "$rc" -eq 0 ] || sed 's/^/#  | /' "$TEST_TMP/healthy.out" | tail -20
like "fans PASSes" "$TEST_TMP/healthy/results.tap" "^ok 1 - fans$"
check "six fans found" sh -c \
  'grep -A1 "^    - name: \"fans\"\$" "$1" | grep -q "value: 6\$"' \
  sh "$TEST_TMP/healthy/results.tap"
check "rpm_min is the slowest fan, SYS_FAN1 at 980 RPM" "$PYTHON" -c '
import json, sys
for line in open(sys.argv[1]):
    m = json.loads(line).get("testStepArtifact", {}).get("measurement")
    if m and m["name"] == "rpm_min":
        assert m["value"] == 980 and m["unit"] == "RPM", m
        assert m["subcomponent"]["name"] == sys.argv[2] + "/SYS_FAN1", m
        break
else:
    raise SystemExit("no rpm_min")
' "$TEST_TMP/healthy/ocp.jsonl" "$CHIP"
check_reports "$TEST_TMP/healthy" pass

# ---- one stalled fan ----
run_fans fan-stalled stalled
is "stalled fan: exit 1" "$rc" 1
like "the console names the chip and the stalled fan" "$TEST_TMP/stalled.out" \
  "FAIL +fans: $CHIP SYS_FAN2: 0 RPM, stalled"
like "the summary names it" "$TEST_TMP/stalled/summary.txt" \
  "fans: $CHIP SYS_FAN2: 0 RPM, stalled"
like "OCP has the fan-stalled diagnosis on chip/label" \
  "$TEST_TMP/stalled/ocp.jsonl" \
  "\"verdict\":\"fan-stalled\".*\"subcomponent\":\\{\"name\":\"$CHIP/SYS_FAN2\"\\}"
ok "$(grep -E '^\[ *[0-9.]+s\] +(!|FAIL) ' "$TEST_TMP/stalled.out" |
  grep -qv "$CHIP SYS_FAN2: " && echo 1 || echo 0)" "no other fan is blamed"
like "the profile's rpm_min.min fails the measurement too" \
  "$TEST_TMP/stalled/results.tap" '^      pass: false$'
check_reports "$TEST_TMP/stalled" fail

# ---- one fan below its minimum ----
run_fans fan-below-min below
is "fan below its minimum: exit 1" "$rc" 1
like "the console names the chip, the fan, its speed and the limit" \
  "$TEST_TMP/below.out" \
  "FAIL +fans: $CHIP SYS_FAN3: 250 RPM at idle .*below its minimum of 400 RPM"
like "OCP has the fan-out-of-range diagnosis on chip/label" \
  "$TEST_TMP/below/ocp.jsonl" \
  "\"verdict\":\"fan-out-of-range\".*\"subcomponent\":\\{\"name\":\"$CHIP/SYS_FAN3\"\\}"

# ---- an expected fan missing ----
run_fans fan-missing missing --spec "$TEST_TMP/spec.ini"
is "missing fan: exit 1" "$rc" 1
like "the console names the missing fan" "$TEST_TMP/missing.out" \
  "FAIL +fans: SYS_FAN4: expected by the station spec"
like "and the count" "$TEST_TMP/missing.out" \
  "fans: 5 fans found, the station spec .* expects at least 6"
like "OCP has the fan-missing diagnosis on its label" \
  "$TEST_TMP/missing/ocp.jsonl" \
  '"verdict":"fan-missing".*"subcomponent":\{"name":"SYS_FAN4"\}'
# Without the spec, the same board passes: five fans, all turning.
run_fans fan-missing missing-nospec
is "the same board without a spec: exit 0" "$rc" 0

done_testing
