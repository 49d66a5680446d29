#!/bin/sh
# scripts/gpu-proof.sh on this machine (no GPU): with no GPU on the bus,
# with two GPUs and no driver, with one GPU on the fake NVML; proof.txt
# lists every GPU module with its verdict, every fault caught or not and
# why, every benchmark, every part and the time; a hung part is cut off.
. tests/e2e/lib.sh
plan 49
PROOF=scripts/gpu-proof.sh
export KILN
export KILN_PROOF_DURATION=2s KILN_PROOF_INJECT_DURATION=2s

# proof NAME: runs the proof into $TEST_TMP/NAME, sets $rc and $p (proof.txt).
proof() {
  rc=0
  sh "$PROOF" "$TEST_TMP/$1" >"$TEST_TMP/$1.out" 2>&1 || rc=$?
  p=$TEST_TMP/$1/proof.txt
}

gpu_modules=$("$KILN" list | awk '/^modules:/ { on = 1; next } /^[^ ]/ { on = 0 }
  on && ($1 ~ /^gpu\./ || $1 == "pcie.bw") { print $1 }')
check "kiln list names the GPU modules" test -n "$gpu_modules"

# A fake `make` that tells on itself: the proof never builds.
mkdir -p "$TEST_TMP/bin"
printf '#!/bin/sh\necho "make $*" >>"%s"\nexit 2\n' "$TEST_TMP/make-called" \
  >"$TEST_TMP/bin/make"
chmod +x "$TEST_TMP/bin/make"
PATH=$TEST_TMP/bin:$PATH

# ---- no GPU on the bus, benchmarks not built ----
mkdir -p "$TEST_TMP/nobus" "$TEST_TMP/nobench"
KILN_SYSFS_PCI=$TEST_TMP/nobus KILN_PROOF_BENCH_DIR=$TEST_TMP/nobench proof none
is "no GPU: the proof runs to its end (exit 0)" "$rc" 0
check "proof.txt is written" test -s "$p"
ok "$(for m in $gpu_modules; do
  grep -Eq "^  $m +SKIP +[a-z0-9].+" "$p" || echo "$m"
done | grep -q . && echo 1 || echo 0)" "every GPU module is listed as SKIP with its reason"
like "gpu.memtest: the reason is that there is no GPU" "$p" \
  '^  gpu\.memtest +SKIP +no NVIDIA GPU found on the PCI bus$'
like "proof.txt says that no GPU was tested" "$p" '^  NO GPU WAS TESTED'
like "gpu.bitflip: not run, and why" "$p" \
  '^  gpu\.bitflip -> gpu\.memtest: not run: gpu\.memtest SKIP: no NVIDIA GPU found on the PCI bus'
like "gpu.sdc: not run, and why" "$p" \
  '^  gpu\.sdc -> gpu\.gemm: not run: gpu\.gemm SKIP: no NVIDIA GPU found on the PCI bus'
like "each benchmark: not built" "$p" \
  "^  pcie_bw_bench \(not run: bench not built \(no $TEST_TMP/nobench/pcie_bw_bench: \`make bench-build\`"
like "kiln version is on the page" "$p" '^  kiln [0-9]+\.[0-9]+\.[0-9]+$'
like "the total time" "$p" '^total time: [0-9]+ s \(budget 450 s\); [0-9]+ of [0-9]+ parts run$'
like "gpu.health runs first and alone" "$TEST_TMP/none/proof.ini" '^phase\.1 = gpu\.health$'
is "gpu.power runs last" \
  "$(sed -n 's/^phase\.[0-9]* = //p' "$TEST_TMP/none/proof.ini" | tail -n 1)" gpu.power
is "each GPU module has its own phase" \
  "$(grep -c '^phase\.[0-9]* = [a-z0-9.]*$' "$TEST_TMP/none/proof.ini")" \
  "$(echo "$gpu_modules" | wc -w)"
check "the module run's reports are under OUTDIR" \
  test -s "$TEST_TMP/none/run/results.tap" -a -s "$TEST_TMP/none/run/ocp.jsonl"
check "kiln inventory --json is under OUTDIR" "$PYTHON" -c \
  'import json, sys; json.load(open(sys.argv[1]))' "$TEST_TMP/none/inventory.json"
like "the steps are listed in parts" "$p" '^  kiln run \(GPU modules\) +exit 0 '

# ---- two GPUs on the bus, no driver; fake benchmarks, one hangs ----
pci=$TEST_TMP/pci
fake_gpu_bus "$pci" 0x2330 0000:1b:00.0 0000:3a:00.0
fb=$TEST_TMP/fakebench
mkdir -p "$fb"
printf '#!/bin/sh\necho "fake gpu.membw ratio 1.02 (target >= 1.00): met; args $*"\n' \
  >"$fb/gpu_mem_bench"
printf '#!/bin/sh\necho "fake gpu.gemm: FAIL (ratio 0.90)"\nexit 1\n' \
  >"$fb/gpu_gemm_bench"
printf '#!/bin/sh\necho "fake pcie.bw starts"\nexec sleep 600\n' >"$fb/pcie_bw_bench"
chmod +x "$fb"/*
KILN_SYSFS_PCI=$pci KILN_NVML_LIB=$TEST_TMP/none/libnvidia-ml.so.1 \
  KILN_PROOF_BENCH_DIR=$fb KILN_PROOF_BENCH_LIMIT=2 proof nodriver
is "GPUs without a driver: the proof runs to its end (exit 0)" "$rc" 0
for bus in 0000:1b:00.0 0000:3a:00.0; do
  n=$(grep -Ec "^  gpu\.memtest\[[01]\] +ERROR +GPU $bus: NVIDIA driver not installed" "$p")
  is "gpu.memtest on $bus: ERROR naming the GPU and the cause" "$n" 1
done
is "every GPU step is an ERROR (none SKIPs or passes)" \
  "$(grep -Ec '^  (gpu\.|pcie\.bw).* (SKIP|PASS) ' "$p")" 0
like "the counts say so" "$p" '^  GPU steps: [0-9]+ ERROR; injected faults caught: 0 of 2$'
like "gpu.bitflip: not run, with the step's error" "$p" \
  '^  gpu\.bitflip -> gpu\.memtest: not run: gpu\.memtest\[0\] ERROR: GPU 0000:1b:00\.0: NVIDIA driver not installed'
like "a benchmark's output and exit code" "$p" '^  gpu_mem_bench \(exit 0, [0-9]+ s\):$'
like "its figure against its reference" "$p" \
  '^    fake gpu\.membw ratio 1\.02 \(target >= 1\.00\): met; args --copies 10 --memtest-seconds 5$'
like "a missed target's exit code" "$p" '^  gpu_gemm_bench \(exit 1, [0-9]+ s\):$'
like "a hung benchmark is cut off at its limit" "$p" '^  pcie_bw_bench \(timed out after 2 s, [0-9]+ s\):$'
like "and said so in the parts" "$p" '^  bench pcie_bw_bench +timed out after 2 s '

# ---- one GPU on the fake NVML, a limit, CPU faults, the script's own
# watchdog instead of timeout(1), and nvidia-smi ----
rm -rf "$pci/0000:3a:00.0"
build_fake_nvml "$TEST_TMP/libnvml.so"
cat >"$TEST_TMP/bin/nvidia-smi" <<'EOF'
#!/bin/sh
printf '%s\n' "Driver Version                            : 580.65.06" \
  "CUDA Version                              : 13.0" "" \
  "GPU 00000000:1B:00.0" "    Product Name                          : NVIDIA H100 80GB HBM3"
EOF
chmod +x "$TEST_TMP/bin/nvidia-smi"
printf '[gpu.health]\ntemperature_c.max = 30\n[dram.patterns]\nmem = 1%%\n' \
  >"$TEST_TMP/limits.ini"
KILN_SYSFS_PCI=$pci KILN_NVML_LIB=$TEST_TMP/libnvml.so KILN_PROOF_BENCH_DIR=$fb \
  KILN_PROOF_BENCH_LIMIT=2 KILN_PROOF_NO_TIMEOUT=1 \
  KILN_PROOF_LIMITS=$TEST_TMP/limits.ini KILN_PROOF_FAULTS='dram.bitflip dram.patterns dram-bitflip
dram.bad_triad dram.bandwidth dram-bitflip' proof fake
is "one GPU on the fake NVML: exit 0" "$rc" 0
like "nvidia-smi's driver and GPU are on the page" "$p" \
  '^  driver 580\.65\.06 \(CUDA 13\.0\) per nvidia-smi; 1 GPU: 1x NVIDIA H100 80GB HBM3$'
check "nvidia-smi -q is under OUTDIR" test -s "$TEST_TMP/fake/nvidia-smi-q.txt"
like "the GPU's SKU file is named" "$p" '^  limits from GPU SKU h100-sxm5-80gb '
like "gpu.health FAILs on the limit" "$p" \
  '^  gpu\.health\[0\] +FAIL +temperature_c on 0000:1b:00\.0 = 34 C'
like "the figure against its limit" "$p" \
  '^  gpu\.health\[0\] +temperature_c = 34 C, limit <= 30: NOT MET, 1\.13x the ceiling$'
is "a GPU was tested: no warning" "$(grep -c 'NO GPU WAS TESTED' "$p")" 0
like "a fault that is caught" "$p" \
  '^  dram\.bitflip -> dram\.patterns: caught: exit 1, FAIL dram-bitflip on dram\.patterns: .*word at virtual 0x'
like "a fault whose FAIL lacks the symptom: not caught, and why" "$p" \
  '^  dram\.bad_triad -> dram\.bandwidth: not caught: exit 1, but no FAIL carries dram-bitflip: dram\.bandwidth FAIL: '
like "the count of faults caught" "$p" 'injected faults caught: 1 of 2$'
like "the script's watchdog cuts off a hung part too" "$p" \
  '^  pcie_bw_bench \(timed out after 2 s, [0-9]+ s\):$'
like "parts say who bounded them" "$p" '^Parts \(each time-bounded by the script; budget 450 s\):$'
check "no part ran make" test ! -e "$TEST_TMP/make-called"

# ---- no time left: every part is skipped, the page still written ----
KILN_SYSFS_PCI=$TEST_TMP/nobus KILN_PROOF_BUDGET=0 proof late
is "no budget: exit 0" "$rc" 0
like "each part says it was not run" "$p" '^  kiln run \(GPU modules\) +not run: out of time \(budget 0 s\)'
like "the total says none ran" "$p" '^total time: [0-9]+ s \(budget 0 s\); 0 of [0-9]+ parts run$'

# ---- what stops it from running ----
rc=0
sh "$PROOF" >/dev/null 2>&1 || rc=$?
is "no OUTDIR: usage, exit 64" "$rc" 64
rc=0
sh "$PROOF" "$TEST_TMP/none" >"$TEST_TMP/full.out" 2>&1 || rc=$?
is "an OUTDIR in use is refused: exit 2" "$rc" 2
like "saying so" "$TEST_TMP/full.out" \
  "^gpu-proof: $TEST_TMP/none is not empty: give a new directory$"
KILN=$TEST_TMP/nokiln proof nokiln
is "no kiln binary: exit 2" "$rc" 2
like "saying it is not built" "$TEST_TMP/nokiln.out" \
  "^gpu-proof: $TEST_TMP/nokiln is not built"
done_testing
