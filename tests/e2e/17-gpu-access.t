#!/bin/sh
# A GPU that is on the bus but that kiln cannot drive is an ERROR for each
# of its steps, naming the GPU and the cause, never a SKIP and never a
# PASS: no driver, a driver not loaded, a driver older than kiln's CUDA,
# MIG mode, a hostile or broken NVML. Two H100s on a fixture sysfs.
. tests/e2e/lib.sh
plan 32
pci=$TEST_TMP/pci
fake_gpu_bus "$pci" 0x2330 0000:1b:00.0 0000:3a:00.0
export KILN_SYSFS_PCI="$pci"
only='gpu.*,pcie.bw'

# Every GPU step of the report dir $1: "not ok" with an ERROR whose reason
# names its GPU and matches $2. Prints what is wrong; exit status.
all_errors() {
  "$PYTHON" - "$1/results.tap" "$2" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
steps = re.findall(r'^(ok|not ok) \d+ - (\S+)(.*)$', text, re.M)
blocks = re.split(r'^(?:ok|not ok) \d+ - ', text, flags=re.M)[1:]
bad = []
if len(steps) < 2:
    bad.append("only %d steps" % len(steps))
for (status, step, rest), block in zip(steps, blocks):
    verdict = re.search(r'verdict: "(\w+)"', block)
    reason = re.search(r'reason: "(.*)"', block)
    verdict = verdict.group(1) if verdict else "PASS" if status == "ok" else "?"
    reason = reason.group(1) if reason else ""
    bus = re.search(r'target: "(.*)"', block)
    bus = bus.group(1) if bus else ""
    if verdict != "ERROR":
        bad.append("%s: %s" % (step, verdict))
    elif bus.startswith("0000:") and bus not in reason:
        bad.append("%s: reason does not name %s: %s" % (step, bus, reason))
    elif step == "gpu.p2p" and not ("0000:1b:00.0" in reason and
                                    "0000:3a:00.0" in reason):
        bad.append("gpu.p2p does not name both GPUs: " + reason)
    elif not re.search(sys.argv[2], reason):
        bad.append("%s: reason %r does not match %r" % (step, reason,
                                                         sys.argv[2]))
for b in bad:
    print(b)
sys.exit(1 if bad else 0)
PY
}

# ---- no driver at all ----
d=$TEST_TMP/nodriver
KILN_NVML_LIB=/nonexistent/libnvidia-ml.so.1 run_kiln "$TEST_TMP/nodriver.out" \
  run --only "$only" --duration 2s --report-dir "$d"
is "no driver: exit 2" "$rc" 2
check "no driver: every GPU step is an ERROR naming its GPU and the cause" \
  all_errors "$d" "NVIDIA driver not installed \(/nonexistent/libnvidia-ml.so.1 not found\)"
is "no driver: 13 steps, none SKIP" \
  "$(grep -c '^not ok' "$d/results.tap") $(grep -c '# SKIP' "$d/results.tap")" \
  "13 0"
is "no driver: the last line states the true exit code" \
  "$(tail -1 "$TEST_TMP/nodriver.out")" "verdict: ERROR (exit 2); reports in $d"
check_reports "$d" fail
KILN_NVML_LIB=/nonexistent/libnvidia-ml.so.1 run_kiln "$TEST_TMP/list.out" list
is "kiln list with no driver: exit 0" "$rc" 0
like "kiln list: gpu.gemm is an error" "$TEST_TMP/list.out" \
  "^  gpu.gemm +error .*\(ERROR: 2 of 2 NVIDIA GPUs cannot be driven\)$"
is "kiln list: each GPU module names each GPU and the cause" \
  "$(grep -c '^ \{25\}GPU 0000:\(1b\|3a\):00.0: NVIDIA driver not installed' \
    "$TEST_TMP/list.out")" 16
# The stock library name, as a machine without a driver has it.
run_kiln "$TEST_TMP/stock.out" run --only gpu.health --report-dir "$TEST_TMP/stock"
like "the stock NVML name: said as a missing driver" "$TEST_TMP/stock/results.tap" \
  'reason: "GPU 0000:1b:00.0: NVIDIA driver not installed \(libnvidia-ml.so.1 not found\)"'

# ---- the fake driver: not loaded, too old, MIG ----
build_fake_nvml "$TEST_TMP/libnvml.so"
export KILN_NVML_LIB="$TEST_TMP/libnvml.so" FAKE_BUS_IDS=0000:3a:00.0 \
  FAKE_REASONS=0x1
d=$TEST_TMP/notloaded
FAKE_INIT_RC=9 run_kiln "$TEST_TMP/notloaded.out" run --only "$only" \
  --duration 2s --report-dir "$d"
is "driver not loaded: exit 2" "$rc" 2
check "driver not loaded: every GPU step says so" all_errors "$d" \
  "NVIDIA driver installed but not loaded \(nvmlInit_v2: Driver Not Loaded\): load it \(modprobe nvidia\)"

d=$TEST_TMP/old
FAKE_CUDA_VERSION=11080 FAKE_DRIVER_VERSION=520.61.05 run_kiln \
  "$TEST_TMP/old.out" run --only 'gpu.membw,gpu.gemm,gpu.p2p' --duration 2s \
  --report-dir "$d"
is "a driver older than kiln's CUDA: exit 2" "$rc" 2
if grep -q '^CUDA=1' build/config 2>/dev/null && [ "$KILN" = build/kiln ]; then
  check "too old: each CUDA step names the driver, both CUDA versions and the driver needed" \
    all_errors "$d" "NVIDIA driver 520.61.05 supports CUDA 11.8, older than the CUDA [0-9]+\.[0-9] runtime this kiln was built with, which needs driver [0-9]+ or newer"
else
  check "too old, in a build without CUDA: each CUDA step says the build" \
    all_errors "$d" "this kiln was built without CUDA: rebuild it with the CUDA Toolkit"
fi
FAKE_CUDA_VERSION=11080 run_kiln "$TEST_TMP/oldhealth.out" run --only gpu.health \
  --report-dir "$TEST_TMP/oldhealth"
is "the same old driver: gpu.health (NVML only) still runs and passes" "$rc" 0

P=$TEST_TMP/mig.ini
printf '[profile]\nname = mig\nphase.1 = gpu.health\n' >"$P"
d=$TEST_TMP/mig
FAKE_MIG=1 run_kiln "$TEST_TMP/mig.out" run --profile "$P" --report-dir "$d"
is "MIG mode, not allowed by default: exit 2" "$rc" 2
check "MIG: each step names its GPU and the fix" all_errors "$d" \
  "in MIG mode, which this profile does not allow \(mig_allowed = no\): nvidia-smi -i 0000:..:00.0 -mig 0"
printf '[profile]\nname = mig\nmig_allowed = yes\nphase.1 = gpu.health\n' >"$P"
FAKE_MIG=1 run_kiln "$TEST_TMP/mig2.out" run --profile "$P" \
  --report-dir "$TEST_TMP/mig2"
is "MIG mode in a profile that allows it: the health check runs and passes" \
  "$rc" 0
FAKE_MIG=1 run_kiln "$TEST_TMP/migstd.out" run --profile standard \
  --only gpu.health --report-dir "$TEST_TMP/migstd"
is "the standard profile does not allow MIG" "$rc" 2
unset FAKE_BUS_IDS FAKE_REASONS

# ---- broken and hostile NVML: no crash, no PASS ----
printf 'not a library\n' >"$TEST_TMP/junk.so"
d=$TEST_TMP/junk
KILN_NVML_LIB=$TEST_TMP/junk.so run_kiln "$TEST_TMP/junk.out" run \
  --only "$only" --duration 2s --report-dir "$d"
is "a file that is no library: exit 2" "$rc" 2
check "... every GPU step says it cannot be loaded" all_errors "$d" \
  "NVIDIA driver not installed \($TEST_TMP/junk.so cannot be loaded: "
d=$TEST_TMP/nosym
KILN_NVML_LIB=libm.so.6 run_kiln "$TEST_TMP/nosym.out" run --only "$only" \
  --duration 2s --report-dir "$d"
is "a library without NVML's symbols: exit 2" "$rc" 2
check "... every GPU step names the missing symbol" all_errors "$d" \
  "the NVIDIA driver does not answer \(libm.so.6: missing symbol nvmlInit_v2\)"

cc -shared -fPIC -w -o "$TEST_TMP/hostile.so" tests/fixtures/nvml/hostile_nvml.c
export KILN_NVML_LIB="$TEST_TMP/hostile.so"
for cmd in list "inventory --json"; do
  # shellcheck disable=SC2086
  run_kiln "$TEST_TMP/hostile.out" $cmd
  is "hostile NVML: kiln $cmd exits 0, no crash" "$rc" 0
done
d=$TEST_TMP/hostile
run_kiln "$TEST_TMP/hostile.out" run --only "$only" --duration 2s \
  --report-dir "$d"
case $rc in 1 | 2) r=ok ;; *) r="exit $rc" ;; esac
is "hostile NVML: kiln run ends FAIL or ERROR, never a crash or a PASS" "$r" ok
like "hostile NVML: the last line states the exit code" "$TEST_TMP/hostile.out" \
  "^verdict: (FAIL|ERROR) \(exit $rc\); reports in $d$"
is "hostile NVML: no step passed" "$(grep -c '^ok ' "$d/results.tap")" 0
need_shared tools/ocp-validate 1 &&
  check "hostile NVML: ocp.jsonl passes ocp-validate" \
    "$SHARED/tools/ocp-validate" "$d/ocp.jsonl"
done_testing
