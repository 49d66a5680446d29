#!/bin/sh
# Inventory, the station spec and PCIe links, end to end: `kiln inventory`,
# --write-spec on this machine, and `kiln run --pci-dump` over the crafted
# HGX captures (tests/fixtures/pci/README.md): each variant's verdict names
# the right device.
. tests/e2e/lib.sh
plan 55
PCI=$FIXTURES/pci
SPEC=$FIXTURES/spec/hgx.ini

# ---- kiln inventory on this machine ----
run_kiln "$TEST_TMP/inv.out" inventory
is "kiln inventory: exit 0" "$rc" 0
like "the table has the CPU model" "$TEST_TMP/inv.out" "^  model +[^ -]"
like "the table lists the PCI devices of the live bus" "$TEST_TMP/inv.out" \
  "^PCIe devices \([0-9]+, live bus\)"

"$KILN" inventory --json >"$TEST_TMP/inv.json" 2>"$TEST_TMP/inv.err"
is "kiln inventory --json: exit 0" "$?" 0
check "the JSON has the CPU, memory and every PCI device" "$PYTHON" -c '
import json, sys
inv = json.load(open(sys.argv[1]))
assert inv["cpu"]["model"] and inv["cpu"]["threads"] >= 1, inv["cpu"]
assert inv["memory"]["mem_total_bytes"] > 0, inv["memory"]
assert isinstance(inv["pci"]["devices"], list), inv["pci"]
' "$TEST_TMP/inv.json"

# ---- a golden spec written here passes here ----
run_kiln "$TEST_TMP/w.out" inventory --write-spec "$TEST_TMP/golden.ini"
is "--write-spec: exit 0" "$rc" 0
like "--write-spec wrote a [cpu] section" "$TEST_TMP/golden.ini" "^\[cpu\]"
d="$TEST_TMP/golden"
run_kiln "$TEST_TMP/golden.out" run --only inventory.check \
  --spec "$TEST_TMP/golden.ini" --report-dir "$d"
is "inventory.check against this machine's own spec: exit 0" "$rc" 0
like "inventory.check PASSes" "$d/results.tap" "^ok 1 - inventory.check$"

# ---- the healthy HGX capture against its spec ----
d="$TEST_TMP/healthy"
KILN_SYSROOT=$FIXTURES/sysroot/hgx run_kiln "$TEST_TMP/healthy.out" run \
  --only inventory.check,pcie.link --pci-dump "$PCI/hgx-healthy.lspci" \
  --spec "$SPEC" --report-dir "$d"
is "healthy HGX: exit 0" "$rc" 0
[ "$rc" -eq 0 ] || sed 's/^/#  | /' "$TEST_TMP/healthy.out" | tail -20
check_reports "$d" pass
check "OCP dutInfo lists every GPU, DIMM, NIC and drive with serials" \
  "$PYTHON" -c '
import json, sys
for line in open(sys.argv[1]):
    start = json.loads(line).get("testRunArtifact", {}).get("testRunStart")
    if start:
        break
hw = start["dutInfo"]["hardwareInfos"]
kinds = [h["partType"] for h in hw]
assert kinds.count("GPU") == 8 and kinds.count("NIC") == 8, kinds
assert kinds.count("NVME") == 2 and kinds.count("DIMM") == 24, kinds
gpu = [h for h in hw if h["partType"] == "GPU"][0]
assert gpu["location"] == "0000:18:00.0" and "H100" in gpu["name"], gpu
dimm = [h for h in hw if h["partType"] == "DIMM"][0]
assert dimm["serialNumber"] and dimm["partNumber"], dimm
sw = start["dutInfo"]["softwareInfos"][0]
assert sw["softwareType"] == "FIRMWARE" and sw["version"], sw
' "$d/ocp.jsonl"
check "JUnit properties carry the serial and the BIOS" "$PYTHON" -c '
import sys
from junitparser import JUnitXml
suite = next(iter(JUnitXml.fromfile(sys.argv[1])))
props = {p.name: p.value for p in suite.properties()}
assert props["serial"] == "S123456X4A12345", props
assert props["bios.version"], props
assert props["hardware.gpu:0000:18:00.0"].startswith("GH100"), props
' "$d/junit.xml"
like "the summary lists the hardware" "$d/summary.txt" \
  "^  GPU   0000:18:00.0  GH100"

# run_variant NAME: kiln run over hgx-NAME.lspci into $TEST_TMP/NAME.
run_variant() {
  d="$TEST_TMP/$1"
  run_kiln "$TEST_TMP/$1.out" run --only inventory.check,pcie.link \
    --pci-dump "$PCI/hgx-$1.lspci" --spec "$SPEC" --report-dir "$d"
}

run_variant gpu-gen4
is "GPU at Gen4: exit 1" "$rc" 1
like "pcie.link names the GPU, its link and the expected one" \
  "$TEST_TMP/gpu-gen4.out" \
  "FAIL +pcie.link: 0000:3a:00.0 .*GH100.*: 16 GT/s x16, expected 32 GT/s x16"
like "inventory.check names it against the spec" "$d/summary.txt" \
  "inventory.check: 0000:3a:00.0 .*16 GT/s x16, spec expects 32 GT/s x16"
like "OCP has the FAIL diagnosis on that bus id" "$d/ocp.jsonl" \
  '"verdict":"pcie-link-degraded".*"subcomponent":\{"name":"0000:3a:00.0"\}'
check_reports "$d" fail

run_variant gpu-x8
is "GPU at x8: exit 1" "$rc" 1
like "pcie.link names the x8 GPU" "$TEST_TMP/gpu-x8.out" \
  "FAIL +pcie.link: 0000:9b:00.0 .*: 32 GT/s x8, expected 32 GT/s x16"
ok "$(grep -q 'FAIL.*0000:[0-9a-f]*:00.0' "$TEST_TMP/gpu-x8.out" &&
  [ "$(grep -c 'FAIL.*0000:[0-9a-f]*:00.0' "$TEST_TMP/gpu-x8.out")" -eq \
    "$(grep -c 'FAIL.*0000:9b:00.0' "$TEST_TMP/gpu-x8.out")" ] && echo 0 || echo 1)" \
  "no other device is blamed"

run_variant gpu-missing
is "GPU missing: exit 1" "$rc" 1
like "inventory.check names the missing GPU" "$d/summary.txt" \
  "gpu: 7 found, spec expects 8.*missing 0000:bb:00.0"
like "pcie.link passes (an empty slot is not a bad link)" "$d/results.tap" \
  "^ok 2 - pcie.link$"

run_variant nic-aer
is "NIC with uncorrectable AER status: exit 1" "$rc" 1
like "pcie.link names the NIC and the error bits" "$TEST_TMP/nic-aer.out" \
  "FAIL +pcie.link: 0000:9c:00.0 .*ConnectX-7.*(CmpltTO|TLP)"
like "inventory.check passes: the parts are all there" "$d/results.tap" \
  "^ok 1 - inventory.check$"

# ---- a spec named by a profile, relative to the profile's file ----
mkdir -p "$TEST_TMP/station"
cp "$SPEC" "$TEST_TMP/station/hgx.ini"
cat >"$TEST_TMP/station/line7.ini" <<'INI'
[profile]
name = line7
spec = hgx.ini
phase.1 = inventory.check, pcie.link
INI
d="$TEST_TMP/line7"
run_kiln "$TEST_TMP/line7.out" run --profile "$TEST_TMP/station/line7.ini" \
  --pci-dump "$PCI/hgx-gpu-missing.lspci" --report-dir "$d"
is "the profile's spec is used: exit 1 on the missing GPU" "$rc" 1
like "... and named in the log" "$d/ocp.jsonl" \
  "compared with station spec $TEST_TMP/station/hgx.ini"

# ---- bad input: one line naming the file, exit 64, no report dir ----
bad_input() {
  desc=$1
  want=$2
  shift 2
  rm -rf "$TEST_TMP/nodir"
  run_kiln "$TEST_TMP/bad.out" run --only pcie.link \
    --report-dir "$TEST_TMP/nodir" "$@"
  is "$desc: exit 64" "$rc" 64
  like "$desc: the error names it" "$TEST_TMP/bad.out" "^kiln: $want"
  is "$desc: one line" "$(wc -l <"$TEST_TMP/bad.out" | tr -d ' ')" 1
  ok "$([ ! -e "$TEST_TMP/nodir" ] && echo 0 || echo 1)" \
    "$desc: no report dir was started"
}
bad_input "missing dump" "$TEST_TMP/none.lspci: " \
  --pci-dump "$TEST_TMP/none.lspci"
head -c 30000 "$PCI/hgx-healthy.lspci" >"$TEST_TMP/cut.lspci"
echo >>"$TEST_TMP/cut.lspci"
bad_input "truncated dump" "$TEST_TMP/cut.lspci: .*truncated" \
  --pci-dump "$TEST_TMP/cut.lspci"
printf 'this is not\na capture\n' >"$TEST_TMP/garbled.lspci"
bad_input "garbled dump" "$TEST_TMP/garbled.lspci: " \
  --pci-dump "$TEST_TMP/garbled.lspci"
bad_input "malformed spec" "$FIXTURES/spec/bad-count.ini:[0-9]+: " \
  --spec "$FIXTURES/spec/bad-count.ini"

run_kiln "$TEST_TMP/inv-bad.out" inventory --pci-dump "$TEST_TMP/garbled.lspci"
is "kiln inventory on a garbled dump: exit 64" "$rc" 64
done_testing
