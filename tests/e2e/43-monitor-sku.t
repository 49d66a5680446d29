#!/bin/sh
# A monitor's parameters resolve as every step's do: the profile's value,
# else the GPU SKU's section for the monitor, else the module's default.
# The thermal monitor used to skip the SKU (its parameters came from the
# profile and defaults only). The real libsensors under umockdev (a 52 C
# CPU package), a fixture PCI bus with one H100 for the SKU, named by the
# station spec.
. tests/e2e/lib.sh
plan 10
UMD=$FIXTURES/umockdev
pci=$TEST_TMP/pci
fake_gpu_bus "$pci" 0x2330 0000:1b:00.0
export KILN_SYSFS_PCI="$pci"

P=$TEST_TMP/thermal.ini
printf '[profile]\nname = thermal-sku\nduration = 3s\nmonitors = thermal\nphase.1 = cpu.compute\n[thermal]\nhold = 1s\n' >"$P"
mkdir -p "$TEST_TMP/station/sku"
cat >"$TEST_TMP/station/sku/warm.ini" <<'INI'
[sku]
name = a GPU whose host must stay under 50 C
pci_ids = 10de:2330
basis = a test: a limit the healthy fixture breaks
[thermal]
temp_max = 50
INI
printf '[gpu]\nsku = sku/warm.ini\n' >"$TEST_TMP/station/spec.ini"

d=$TEST_TMP/sku
rc=0
umockdev-run -d "$UMD/healthy.umockdev" -- "$KILN" run --profile "$P" \
  --spec "$TEST_TMP/station/spec.ini" --report-dir "$d" \
  >"$TEST_TMP/sku.out" 2>&1 || rc=$?
is "the SKU's temp_max 50 on a 52 C package: exit 1" "$rc" 1
like "thermal FAILs against the SKU's limit" "$TEST_TMP/sku.out" \
  "FAIL +thermal: Package id 0 \(sensors/coretemp-isa-0000/temp1\) over 50 C: 52 C"
like "the monitor's log names the SKU" "$d/ocp.jsonl" \
  "limits from GPU SKU warm \(a GPU whose host must stay under 50 C, $TEST_TMP/station/sku/warm.ini\), named by the station spec"
check_reports "$d" fail

# The profile's own value wins over the SKU's.
printf '[profile]\nname = thermal-sku\nduration = 3s\nmonitors = thermal\nphase.1 = cpu.compute\n[thermal]\nhold = 1s\ntemp_max = 60\n' \
  >"$TEST_TMP/own.ini"
d=$TEST_TMP/own
rc=0
umockdev-run -d "$UMD/healthy.umockdev" -- "$KILN" run \
  --profile "$TEST_TMP/own.ini" --spec "$TEST_TMP/station/spec.ini" \
  --report-dir "$d" >"$TEST_TMP/own.out" 2>&1 || rc=$?
is "the profile's temp_max 60 wins over the SKU's 50: exit 0" "$rc" 0
like "thermal PASSes" "$d/results.tap" "^ok [0-9]+ - thermal$"
done_testing
