#!/bin/sh
# NVML in the thermal monitor: GPU readings in telemetry.csv, and a
# critical XID reported by the driver fails the run, naming the GPU and
# the XID. NVML is the fake driver (tests/fixtures/nvml/fake_nvml.c).
. tests/e2e/lib.sh
plan 13
pci=$TEST_TMP/pci
fake_gpu_bus "$pci" 0x2330 0000:1b:00.0
build_fake_nvml "$TEST_TMP/libnvml.so"
export KILN_SYSFS_PCI="$pci" KILN_NVML_LIB="$TEST_TMP/libnvml.so"
export FAKE_XID_FILE="$TEST_TMP/xid.file" FAKE_NVLINK_CRC_FILE="$TEST_TMP/crc"
echo 2 >"$FAKE_NVLINK_CRC_FILE"
: >"$FAKE_XID_FILE"

P=$TEST_TMP/watch.ini
cat >"$P" <<'INI'
[profile]
name = watch
monitors = thermal
phase.1 = gpu.health
[thermal]
interval = 0.2s
INI

d=$TEST_TMP/healthy
run_kiln "$TEST_TMP/healthy.out" run --profile "$P" --report-dir "$d"
is "no XID: exit 0" "$rc" 0
like "the GPU's temperature is in telemetry.csv" "$d/telemetry.csv" \
  ',nvml,gpu0000:1b:00.0/temp,GPU 0000:1b:00.0 [^,]*,34(\.0+)?,C$'
like "its NVLink CRC errors too" "$d/telemetry.csv" \
  ',nvml,gpu0000:1b:00.0/nvlink_crc,GPU 0000:1b:00.0 [^,]*,2(\.0+)?,count$'
like "and its clock-event reasons" "$d/telemetry.csv" \
  ',nvml,gpu0000:1b:00.0/clock_event_reasons,GPU 0000:1b:00.0 [^,]*,1(\.0+)?,count$'

# The driver reports XID 79 as the run starts.
echo 79 >"$FAKE_XID_FILE"
d=$TEST_TMP/xid
run_kiln "$TEST_TMP/xid.out" run --profile "$P" --report-dir "$d"
is "a critical XID: exit 1" "$rc" 1
like "the FAIL names the GPU, the XID and what it means" "$d/summary.txt" \
  "GPU 0000:1b:00.0: critical XID 79 \(GPU has fallen off the bus\) reported by the driver at t="
like "the thermal monitor carries it (no step ran on the GPU then)" \
  "$d/results.tap" "^not ok [0-9]+ - thermal"
is "the XID is delivered once" "$(grep -c 'critical XID 79' "$d/ocp.jsonl")" 1
check_reports "$d" fail
done_testing
