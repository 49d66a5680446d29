#!/bin/sh
# The README's main job: `kiln run` on the built-in quick profile passes on
# a healthy machine, and every report is valid for its consumer.
. tests/e2e/lib.sh
plan 14

d="$TEST_TMP/quick"
start_kiln "$TEST_TMP/quick.out" run --serial QUICK-1 --report-dir "$d"
named=1
for _ in $(seq 1 150); do
  if session_procs "$pid" | grep -qx 'kiln/cpu.comput'; then
    named=0
    break
  fi
  sleep 0.1
done
ok "$named" "cpu.compute runs in a child named kiln/cpu.comput"
rc=0
wait "$pid" || rc=$?
is "quick profile passes: exit 0" "$rc" 0
[ "$rc" -eq 0 ] || sed 's/^/#  | /' "$TEST_TMP/quick.out" | tail -30
check_reports "$d" pass
like "inventory.check without a spec is a SKIP saying so" "$d/results.tap" \
  "^ok 2 - inventory.check # SKIP no station spec: give --spec FILE"
like "pcie.link runs (a VM without PCIe links SKIPs with the reason)" \
  "$d/results.tap" "^ok 3 - pcie.link( # SKIP (no PCI Express links|reading PCIe link status needs root)|$)"
like "gpu.query is a SKIP with its reason" "$d/results.tap" \
  "^ok 4 - gpu.query # SKIP (built without CUDA|no NVIDIA GPU found on the PCI bus|no usable CUDA device)"
like "cpu.compute reports GFLOP/s per core" "$d/ocp.jsonl" \
  '"name": ?"gflops_per_core"'
like "dram.bandwidth reports triad" "$d/ocp.jsonl" '"name": ?"triad_gbps"'
like "dram.patterns reports tested_gbps" "$d/ocp.jsonl" '"name": ?"tested_gbps"'
like "the console ends with the verdict" "$TEST_TMP/quick.out" \
  "^verdict: PASS \(exit 0\); reports in $d$"
done_testing
