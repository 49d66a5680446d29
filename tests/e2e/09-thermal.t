#!/bin/sh
# The telemetry sampler and its watches, end to end: the real libsensors
# under umockdev (faked /sys/class/hwmon and EDAC), kiln's parent sampling
# once a second, telemetry.csv and OCP measurement series, and the
# `thermal` and `edac` monitor steps failing only on a limit held for the
# hold time, naming the sensor and the step that was running.
. tests/e2e/lib.sh
plan 46
UMD=$FIXTURES/umockdev
P=$TEST_TMP/thermal.ini
cat >"$P" <<'INI'
[profile]
name = thermal-test
duration = 4s
monitors = thermal, edac
phase.1 = cpu.compute
[thermal]
hold = 2s
INI

# ---- this machine: no sensors, no EDAC: SKIPs that say why ----
d=$TEST_TMP/here
run_kiln "$TEST_TMP/here.out" run --profile "$P" --duration 2s --report-dir "$d"
is "no sensors here: exit 0" "$rc" 0
like "thermal SKIPs saying why" "$d/results.tap" \
  "^ok [0-9]+ - thermal # SKIP no temperature or fan sensors: sensors: "
like "edac SKIPs saying why" "$d/results.tap" \
  "^ok [0-9]+ - edac # SKIP no EDAC memory error counters"
like "telemetry.csv has its header" "$d/telemetry.csv" \
  "^timestamp,source,sensor,label,value,unit$"

# under FIXTURE SCRIPT: runs SCRIPT (sh) under umockdev-run with FIXTURE.
under() {
  umockdev-run -d "$UMD/$1.umockdev" -- sh -c "$2"
}

# ---- a healthy board ----
d=$TEST_TMP/healthy
rc=0
under healthy "'$KILN' run --profile '$P' --only thermal,cpu.compute \
  --report-dir '$d'" >"$TEST_TMP/healthy.out" 2>&1 || rc=$?
is "healthy board: exit 0" "$rc" 0
like "thermal PASSes" "$d/results.tap" "^ok [0-9]+ - thermal$"
n=$(grep -c ',sensors,nct6798-isa-[0-9a-f]*/fan[1-6],[A-Z_0-9]*,[0-9.]*,RPM$' \
  "$d/telemetry.csv")
ok "$([ "$n" -ge 18 ] && echo 0 || echo 1)" \
  "telemetry.csv has 6 fans sampled about once a second ($n rows in 4 s)"
like "telemetry.csv has the CPU package temperature, labelled" \
  "$d/telemetry.csv" ",sensors,coretemp-isa-0000/temp1,Package id 0,52,C$"
# The label column holds what the board says, as every other report does:
# each fan by its label (the fixture's), a sensor without one by its own
# name (the ACPI power meter's power1).
check "telemetry.csv labels every fan as the board does (fan1 CPU_FAN ... fan6 SYS_FAN4)" \
  "$PYTHON" -c '
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1], newline="")))
want = {"fan1": "CPU_FAN", "fan2": "CPU_OPT", "fan3": "SYS_FAN1",
        "fan4": "SYS_FAN2", "fan5": "SYS_FAN3", "fan6": "SYS_FAN4"}
got = {r["sensor"].split("/")[1]: r["label"] for r in rows
       if r["sensor"].startswith("nct6798-isa-") and "/fan" in r["sensor"]}
assert got == want, got
' "$d/telemetry.csv"
like "telemetry.csv: a sensor without a label is named by its own name" \
  "$d/telemetry.csv" ",sensors,power_meter-acpi-0/power1,power1,[0-9.]+,W$"
like "OCP has a measurement series per fan with its minimum" "$d/ocp.jsonl" \
  '"measurementSeriesStart":\{"measurementSeriesId":"sensors/nct6798-isa-[0-9a-f]+/fan4","name":"SYS_FAN2 [^"]*","unit":"RPM","validators":\[\{"name":"lo","type":"GREATER_THAN_OR_EQUAL","value":400'
check_reports "$d" pass

# ---- a temperature over crit for longer than the hold ----
d=$TEST_TMP/hot
rc=0
under temp-over-crit "'$KILN' run --profile '$P' --only thermal,cpu.compute \
  --report-dir '$d'" >"$TEST_TMP/hot.out" 2>&1 || rc=$?
is "over crit: exit 1" "$rc" 1
like "thermal FAILs naming the sensor, value, limit, time and running step" \
  "$TEST_TMP/hot.out" \
  "FAIL +thermal: Package id 0 \(sensors/coretemp-isa-0000/temp1\) over 100 C: 103 C at t=[0-9.]+ s, held [2-9][0-9.]* s .*running: cpu.compute"
like "OCP has the diagnosis on the chip" "$d/ocp.jsonl" \
  '"verdict":"temp-over-limit".*"subcomponent":\{"name":"coretemp-isa-0000"\}'
check_reports "$d" fail

# ---- a spike shorter than the hold passes ----
hwmon=sys/devices/platform/coretemp.0/hwmon/hwmon1/temp1_input
# Two seconds against a 4 s hold: at 1 Hz it is sampled even on a loaded
# machine, and still shorter than the hold.
d=$TEST_TMP/spike
sed 's/^hold = 2s$/hold = 4s/' "$P" >"$TEST_TMP/spike.ini"
rc=0
under healthy "'$KILN' run --profile '$TEST_TMP/spike.ini' \
  --only thermal,cpu.compute --report-dir '$d' & sleep 1.3;
  echo 105000 >\$UMOCKDEV_DIR/$hwmon; sleep 2;
  echo 52000 >\$UMOCKDEV_DIR/$hwmon; wait \$!" \
  >"$TEST_TMP/spike.out" 2>&1 || rc=$?
is "a spike shorter than the hold: exit 0" "$rc" 0
like "the spike was sampled" "$d/telemetry.csv" \
  ",sensors,coretemp-isa-0000/temp1,Package id 0,105,C$"
like "thermal PASSes" "$d/results.tap" "^ok [0-9]+ - thermal$"

# ---- fans ----
d=$TEST_TMP/stalled
rc=0
under fan-stalled "'$KILN' run --profile '$P' --only thermal,cpu.compute \
  --report-dir '$d'" >"$TEST_TMP/stalled.out" 2>&1 || rc=$?
is "a stalled fan: exit 1" "$rc" 1
like "thermal FAILs naming the stalled fan" "$TEST_TMP/stalled.out" \
  "FAIL +thermal: SYS_FAN2 \(sensors/nct6798-isa-[0-9a-f]+/fan4\) under 400 RPM: 0 RPM"

d=$TEST_TMP/slow
rc=0
under fan-below-min "'$KILN' run --profile '$P' --only thermal,cpu.compute \
  --report-dir '$d'" >"$TEST_TMP/slow.out" 2>&1 || rc=$?
is "a fan below its minimum: exit 1" "$rc" 1
like "thermal FAILs naming that fan and nothing else" "$TEST_TMP/slow.out" \
  "FAIL +thermal: SYS_FAN3 \(sensors/nct6798-isa-[0-9a-f]+/fan5\) under 400 RPM: 250 RPM"
is "only SYS_FAN3 is blamed" \
  "$(grep -c '^\[ *[0-9.]*s\] ! .*under' "$TEST_TMP/slow.out")" 1

# ---- EDAC: correctable errors past the limit during the run ----
edac=sys/devices/system/edac/mc/mc0
d=$TEST_TMP/edac
rc=0
under edac "'$KILN' run --profile '$P' --only edac,cpu.compute \
  --report-dir '$d' & sleep 1.5; echo 20 >\$UMOCKDEV_DIR/$edac/ce_count;
  echo 20 >\$UMOCKDEV_DIR/$edac/dimm0/dimm_ce_count; wait \$!" \
  >"$TEST_TMP/edac.out" 2>&1 || rc=$?
is "EDAC correctable errors past the limit: exit 1" "$rc" 1
like "edac names the DIMM" "$TEST_TMP/edac.out" \
  "! +edac: CPU0_DIMM_A1 CE \(edac/mc0/dimm0/ce_count\) rose by 17 .*limit 10.*running: cpu.compute"
like "edac measures the increase over the run" "$d/ocp.jsonl" \
  '"name":"ce_increase","value":17'
check_reports "$d" fail

# ---- the station spec's limits win over the profile's ----
printf '[thermal]\ntemp_max = 50\n' >"$TEST_TMP/cool.ini"
d=$TEST_TMP/spec-cool
rc=0
under healthy "'$KILN' run --profile '$P' --only thermal,cpu.compute \
  --spec '$TEST_TMP/cool.ini' --report-dir '$d'" >"$TEST_TMP/cool.out" 2>&1 ||
  rc=$?
is "spec temp_max 50 on a 52 C package: exit 1" "$rc" 1
like "thermal FAILs against the spec's limit" "$TEST_TMP/cool.out" \
  "FAIL +thermal: .*over 50 C: 52 C"
printf '[thermal]\nhold = 30s\n' >"$TEST_TMP/patient.ini"
d=$TEST_TMP/spec-hold
rc=0
under temp-over-crit "'$KILN' run --profile '$P' --only thermal,cpu.compute \
  --spec '$TEST_TMP/patient.ini' --report-dir '$d'" \
  >"$TEST_TMP/patient.out" 2>&1 || rc=$?
is "spec hold 30s: 4 s over crit does not fire: exit 0" "$rc" 0
like "thermal PASSes" "$d/results.tap" "^ok [0-9]+ - thermal$"

# ---- a malformed watch parameter is a usage error naming it ----
printf '[profile]\nname = bad\nmonitors = thermal\nphase.1 = cpu.compute\n[thermal]\nhold = soon\n' \
  >"$TEST_TMP/bad.ini"
run_kiln "$TEST_TMP/bad.out" run --profile "$TEST_TMP/bad.ini"
is "bad hold: exit 64" "$rc" 64
like "the error names the file, line and value" "$TEST_TMP/bad.out" \
  "^kiln: $TEST_TMP/bad.ini:6: \[thermal\] hold = 'soon' is not a duration"
done_testing
