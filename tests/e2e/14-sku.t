#!/bin/sh
# GPU SKU limit files: a GPU step takes its SKU's parameters and floors,
# chosen by the GPU's PCI id (a fixture sysfs here) or by the station
# spec's [gpu] sku; the profile's own values win. NVML is the fake driver
# (tests/fixtures/nvml/fake_nvml.c: one H100 at 0000:1b:00.0).
. tests/e2e/lib.sh
plan 23
pci=$TEST_TMP/pci
fake_gpu_bus "$pci" 0x2330 0000:1b:00.0
build_fake_nvml "$TEST_TMP/libnvml.so"
export KILN_SYSFS_PCI="$pci" KILN_NVML_LIB="$TEST_TMP/libnvml.so"

P=$TEST_TMP/health.ini
printf '[profile]\nname = health\nphase.1 = gpu.health\n' >"$P"

# The H100 SXM5 SKU expects a Gen5 x16 link; the fake GPU, busy, and its
# slot reach Gen4 only (which the module alone would accept: the link's
# own maximum).
export FAKE_REASONS=0
d=$TEST_TMP/gen4
FAKE_GEN=4 FAKE_MAX_GEN=4 run_kiln "$TEST_TMP/gen4.out" run --profile "$P" \
  --report-dir "$d"
is "a Gen4 link and slot on an H100 SXM5: exit 1" "$rc" 1
like "the FAIL names the link and the SKU's expectation" "$d/summary.txt" \
  "GPU 0000:1b:00.0 .*PCIe link at Gen4, expected Gen5$"
echo 0x2999 >"$pci/0000:1b:00.0/device"
FAKE_GEN=4 FAKE_MAX_GEN=4 run_kiln "$TEST_TMP/nosku.out" run --profile "$P" \
  --report-dir "$TEST_TMP/nosku"
is "the same GPU under a PCI id no SKU has: exit 0" "$rc" 0
like "... and it ran" "$TEST_TMP/nosku/results.tap" "^ok 1 - gpu.health\[0\]$"
echo 0x2330 >"$pci/0000:1b:00.0/device"
like "the step's log names the SKU and how it was chosen" "$d/ocp.jsonl" \
  'limits from GPU SKU h100-sxm5-80gb \(NVIDIA H100 SXM5 80GB, built-in:sku/h100-sxm5-80gb\), chosen by PCI id 10de:2330; PROVISIONAL'
check_reports "$d" fail

d=$TEST_TMP/gen5
FAKE_GEN=5 run_kiln "$TEST_TMP/gen5.out" run --profile "$P" --report-dir "$d"
is "Gen5 x16: exit 0" "$rc" 0

# A SKU file named by the spec, with a floor on a measurement.
mkdir -p "$TEST_TMP/station/sku"
cat >"$TEST_TMP/station/sku/wide.ini" <<'INI'
[sku]
name = a GPU with 32 lanes
pci_ids = 10de:2330
basis = a test: a floor no GPU reaches
[gpu.health]
pcie_width.min = 32
INI
printf '[gpu]\ncount = 1\nsku = sku/wide.ini\n' >"$TEST_TMP/station/spec.ini"
d=$TEST_TMP/wide
run_kiln "$TEST_TMP/wide.out" run --profile "$P" \
  --spec "$TEST_TMP/station/spec.ini" --report-dir "$d"
is "the spec's SKU floor fails an x16 link: exit 1" "$rc" 1
like "the measurement is judged against the SKU's floor" "$d/summary.txt" \
  "pcie_width.*16.*32"
like "the log says the spec named the SKU" "$d/ocp.jsonl" \
  "limits from GPU SKU wide \(a GPU with 32 lanes, $TEST_TMP/station/sku/wide.ini\), named by the station spec"

# The profile's own limit wins over the SKU's.
printf '[profile]\nname = health\nphase.1 = gpu.health\n[gpu.health]\npcie_width.min = 8\n' \
  >"$TEST_TMP/own.ini"
run_kiln "$TEST_TMP/own.out" run --profile "$TEST_TMP/own.ini" \
  --spec "$TEST_TMP/station/spec.ini" --report-dir "$TEST_TMP/own"
is "the profile's pcie_width.min = 8 wins: exit 0" "$rc" 0

# A GPU no SKU file knows: run on the profile's limits, and say so.
echo 0x2999 >"$pci/0000:1b:00.0/device"
run_kiln "$TEST_TMP/unknown.out" run --profile "$P" --report-dir "$TEST_TMP/unknown"
is "an unknown PCI id: exit 0" "$rc" 0
like "the log says no SKU file knows it" "$TEST_TMP/unknown/ocp.jsonl" \
  "GPU 0000:1b:00.0 \(10de:2999\): no SKU file for this PCI id"
echo 0x2330 >"$pci/0000:1b:00.0/device"

# Bad input: one line naming the file and line, exit 64, no reports.
printf '[gpu]\nsku = h900\n' >"$TEST_TMP/bad-id.ini"
run_kiln "$TEST_TMP/bad-id.out" run --profile "$P" --spec "$TEST_TMP/bad-id.ini" \
  --report-dir "$TEST_TMP/bad-id"
is "an unknown SKU id: exit 64" "$rc" 64
like "the error names the spec line and the built-in SKUs" "$TEST_TMP/bad-id.out" \
  "^kiln: $TEST_TMP/bad-id.ini:2: \[gpu\] sku: no GPU SKU named 'h900' \(built-in: .*h100-sxm5-80gb"
is "no report dir" "$(test -e "$TEST_TMP/bad-id" && echo yes || echo no)" no

printf '[sku]\nname = x\npci_ids = 10de:2330\nbasis = test\n[gpu.health]\nwatts.min = 3\n' \
  >"$TEST_TMP/station/sku/bad.ini"
printf '[gpu]\nsku = sku/bad.ini\n' >"$TEST_TMP/station/bad.ini"
run_kiln "$TEST_TMP/bad-sku.out" run --profile "$P" \
  --spec "$TEST_TMP/station/bad.ini" --report-dir "$TEST_TMP/bad-sku"
is "a SKU limit on an unknown measurement: exit 64" "$rc" 64
like "the error names the SKU file and line" "$TEST_TMP/bad-sku.out" \
  "sku/bad.ini:6: gpu.health has no measurement 'watts' to limit"

run_kiln "$TEST_TMP/list.out" list
like "kiln list shows the built-in SKUs, their PCI ids and status" \
  "$TEST_TMP/list.out" "^  h100-sxm5-80gb +NVIDIA H100 SXM5 80GB \(10de:2330\), provisional floors$"
done_testing
