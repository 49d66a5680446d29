#!/bin/sh
# GPU targets: one step per GPU from the PCI bus (a fixture sysfs here),
# --gpus to choose, and `stagger` between their starts.
. tests/e2e/lib.sh
plan 8
pci=$TEST_TMP/pci
fake_gpu_bus "$pci" '' 0000:1b:00.0 0000:3a:00.0 0000:9a:00.0
mkdir -p "$pci/0000:00:1f.0"
echo 0x8086 >"$pci/0000:00:1f.0/vendor"
echo 0x060100 >"$pci/0000:00:1f.0/class"
P=$TEST_TMP/gpus.ini
cat >"$P" <<'INI'
[profile]
name = gpus
stagger = 1s
phase.1 = gpu.health
INI

# The fake driver knows the two GPUs chosen.
build_fake_nvml "$TEST_TMP/libnvml.so"
d=$TEST_TMP/two
KILN_SYSFS_PCI=$pci KILN_NVML_LIB=$TEST_TMP/libnvml.so \
  FAKE_BUS_IDS=0000:9a:00.0 FAKE_REASONS=0x1 run_kiln "$TEST_TMP/two.out" \
  run --profile "$P" --gpus 0,9a:00.0 --report-dir "$d"
is "--gpus 0,9a:00.0: exit 0 (the fake driver's GPUs are healthy)" "$rc" 0
like "GPU 0 is a step" "$d/results.tap" "^ok 1 - gpu.health\[0\]$"
like "GPU 2, chosen by bus id, is a step" "$d/results.tap" \
  "^ok 2 - gpu.health\[2\]$"
is "GPU 1 is left out" "$(grep -c 'gpu.health\[1\]' "$d/results.tap")" 0
check "the second GPU starts at least the stagger after the first" \
  "$PYTHON" -c '
import datetime, json, sys
starts = []
for line in open(sys.argv[1]):
    o = json.loads(line)
    if "testStepStart" in o.get("testStepArtifact", {}):
        starts.append(datetime.datetime.strptime(o["timestamp"],
                                                 "%Y-%m-%dT%H:%M:%S.%fZ"))
assert len(starts) == 2, starts
gap = (starts[1] - starts[0]).total_seconds()
assert gap >= 0.95, gap
' "$d/ocp.jsonl"

KILN_SYSFS_PCI=$pci run_kiln "$TEST_TMP/bad.out" run --profile "$P" \
  --gpus 5 --report-dir "$TEST_TMP/bad"
is "--gpus 5 on a 3-GPU machine: exit 64" "$rc" 64
like "the error says which GPUs there are" "$TEST_TMP/bad.out" \
  "^kiln: --gpus '5' names no GPU here \(0\.\.2, or a bus id such as 0000:1b:00\.0\)$"
printf '[profile]\nname = x\nstagger = soon\nphase.1 = gpu.health\n' \
  >"$TEST_TMP/bad.ini"
run_kiln "$TEST_TMP/bad2.out" run --profile "$TEST_TMP/bad.ini"
like "a bad stagger names file and line" "$TEST_TMP/bad2.out" \
  "^kiln: $TEST_TMP/bad.ini:3: stagger 'soon' is not a duration"
done_testing
