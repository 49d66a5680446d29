#!/bin/sh
# Bad input is refused before any step runs, with one line naming the file,
# line, option or value, and exit 64: empty station specs, blank option
# values, FIFOs and other non-regular files, a --write-spec target that is
# not a regular file, bad module parameters, durations that cannot make a
# test, and a broken PCI capture (with its line). A spec naming another
# GPU's SKU runs, with a warning. Every kiln here runs under `timeout`, so a
# read that blocks fails its test instead of hanging the suite.
. tests/e2e/lib.sh
plan 83

# refused DESCRIPTION REGEX ARGS...: exit 64 within 10 s, one line matching
# REGEX, and no report dir.
refused() {
  desc=$1
  want=$2
  shift 2
  rc=0
  timeout 10 "$KILN" "$@" --report-dir "$TEST_TMP/reports" \
    >"$TEST_TMP/err" 2>&1 </dev/null || rc=$?
  refused_check "$desc" "$want"
}
# The same for commands without --report-dir (inventory, list).
refused_cmd() {
  desc=$1
  want=$2
  shift 2
  rc=0
  timeout 10 "$KILN" "$@" >"$TEST_TMP/err" 2>&1 </dev/null || rc=$?
  refused_check "$desc" "$want"
}
refused_check() {
  is "$1: exit 64" "$rc" 64
  lines=$(wc -l <"$TEST_TMP/err")
  if [ "$lines" -eq 1 ] && grep -Eq -- "$2" "$TEST_TMP/err" &&
    [ ! -e "$TEST_TMP/reports" ]; then
    ok 0 "$1: one clear line, no reports"
  else
    ok 1 "$1: one clear line, no reports"
    sed 's/^/#  | /' "$TEST_TMP/err"
  fi
}

# A GPU on a fixture PCI bus (10de:2330, an H100 SXM5) and the fake NVML.
pci=$TEST_TMP/pci
fake_gpu_bus "$pci" 0x2330 0000:1b:00.0
build_fake_nvml "$TEST_TMP/libnvml.so"
export KILN_SYSFS_PCI="$pci" KILN_NVML_LIB="$TEST_TMP/libnvml.so"
export FAKE_REASONS=0 FAKE_GEN=5
CHECK=$TEST_TMP/check.ini
printf '[profile]\nname = check\nphase.1 = inventory.check\n' >"$CHECK"

# ---- a station spec that expects nothing would pass a GPU missing ----
: >"$TEST_TMP/empty.ini"
printf '; a station spec\n# nothing else\n\n' >"$TEST_TMP/comments.ini"
printf '[gpu]\n' >"$TEST_TMP/lone.ini"
printf '[gpu]\ncount = 1\n\n[nic]\n; count = 2\n' >"$TEST_TMP/tail.ini"
refused "an empty spec" \
  "^kiln: $TEST_TMP/empty.ini: declares no expectation" \
  run --profile "$CHECK" --spec "$TEST_TMP/empty.ini"
refused "a spec of comments only" \
  "^kiln: $TEST_TMP/comments.ini: declares no expectation" \
  run --profile "$CHECK" --spec "$TEST_TMP/comments.ini"
refused "a lone [gpu]" \
  "^kiln: $TEST_TMP/lone.ini:1: \[gpu\] has no keys" \
  run --profile "$CHECK" --spec "$TEST_TMP/lone.ini"
refused "a last section with no keys" \
  "^kiln: $TEST_TMP/tail.ini:4: \[nic\] has no keys" \
  run --profile "$CHECK" --spec "$TEST_TMP/tail.ini"

# ---- options that take a value, given none ----
refused "--gpus ''" "^kiln: --gpus needs a value, got ''$" run --gpus ''
refused "--gpus ," "^kiln: --gpus needs a value, got ','$" run --gpus ,
refused "--gpus '  '" "^kiln: --gpus needs a value" run --gpus '  '
refused "--gpus 0,,1" "^kiln: --gpus '0,,1': an empty item" run --gpus 0,,1
refused "--serial '' (a blank barcode scan)" \
  "^kiln: --serial needs a value, got ''$" run --serial ''
refused "--inject ''" "^kiln: --inject needs a value" run --inject ''
refused "--only ' '" "^kiln: --only needs a value" run --only ' '
refused "--profile=" "^kiln: --profile needs a value" run --profile=
refused_cmd "inventory --pci-dump ''" "^kiln: --pci-dump needs a value" \
  inventory --pci-dump ''
refused_cmd "inventory --write-spec ''" "^kiln: --write-spec needs a value" \
  inventory --write-spec ''

# ---- FIFOs (and directories) are refused without blocking ----
mkfifo "$TEST_TMP/fifo"
FIFO="is a FIFO, not a regular file"
refused "--profile FIFO" "^kiln: $TEST_TMP/fifo: $FIFO$" \
  run --profile "$TEST_TMP/fifo"
refused "--spec FIFO" "^kiln: $TEST_TMP/fifo: $FIFO$" \
  run --profile "$CHECK" --spec "$TEST_TMP/fifo"
refused "--pci-dump FIFO" "^kiln: $TEST_TMP/fifo: $FIFO$" \
  run --profile "$CHECK" --pci-dump "$TEST_TMP/fifo"
refused_cmd "inventory --pci-dump FIFO" "^kiln: $TEST_TMP/fifo: $FIFO$" \
  inventory --pci-dump "$TEST_TMP/fifo"
refused "--bmc-credentials FIFO" \
  "^kiln: $TEST_TMP/fifo: cannot read BMC credentials: $FIFO$" \
  run --bmc 127.0.0.1 --bmc-credentials "$TEST_TMP/fifo"
mkdir -p "$TEST_TMP/station"
mkfifo "$TEST_TMP/station/sku.ini"
printf '[gpu]\ncount = 1\nsku = sku.ini\n' >"$TEST_TMP/station/spec.ini"
refused "a SKU file that is a FIFO" \
  "^kiln: $TEST_TMP/station/spec.ini:3: \[gpu\] sku: $TEST_TMP/station/sku.ini: $FIFO$" \
  run --profile "$CHECK" --spec "$TEST_TMP/station/spec.ini"
refused "--profile DIRECTORY" \
  "^kiln: $TEST_TMP/station/: is a directory, not a regular file$" \
  run --profile "$TEST_TMP/station/"

# ---- --write-spec never replaces what is not a regular file ----
ln -s "$TEST_TMP/elsewhere.ini" "$TEST_TMP/link.ini"
refused_cmd "--write-spec over a symlink" \
  "^kiln: --write-spec $TEST_TMP/link.ini: is a symbolic link, not a regular file" \
  inventory --write-spec "$TEST_TMP/link.ini"
ok "$([ -L "$TEST_TMP/link.ini" ] && [ ! -e "$TEST_TMP/elsewhere.ini" ] &&
  echo 0 || echo 1)" "the symlink and its target are as they were"
refused_cmd "--write-spec over a FIFO" \
  "^kiln: --write-spec $TEST_TMP/fifo: $FIFO: not replacing it" \
  inventory --write-spec "$TEST_TMP/fifo"
ok "$([ -p "$TEST_TMP/fifo" ] && echo 0 || echo 1)" "the FIFO is still a FIFO"
if [ "$(id -u)" -eq 0 ] && mknod "$TEST_TMP/null" c 1 3 2>/dev/null; then
  refused_cmd "--write-spec over a device node" \
    "^kiln: --write-spec $TEST_TMP/null: is a character device" \
    inventory --write-spec "$TEST_TMP/null"
  ok "$([ -c "$TEST_TMP/null" ] && echo 0 || echo 1)" \
    "the device node is still a device node"
else
  echo "ok $((t_count + 1)) # SKIP a device node needs root and mknod"
  echo "ok $((t_count + 2)) # SKIP a device node needs root and mknod"
  echo "ok $((t_count + 3)) # SKIP a device node needs root and mknod"
  t_count=$((t_count + 3))
fi
run_kiln "$TEST_TMP/w.out" inventory --write-spec "$TEST_TMP/golden.ini"
is "--write-spec to a new file still works: exit 0" "$rc" 0
run_kiln "$TEST_TMP/w2.out" inventory --write-spec "$TEST_TMP/golden.ini"
is "... and over the regular file it wrote: exit 0" "$rc" 0

# ---- module parameters are checked when the profile is read ----
# A burn-in's DRAM pattern step comes hours in: its bad value is found now.
cat >"$TEST_TMP/burnin.ini" <<'INI'
[profile]
name = long
duration = 2h
phase.1 = cpu.compute
phase.2 = dram.patterns
[dram.patterns]
mem = banana
INI
refused "[dram.patterns] mem = banana" \
  "^kiln: $TEST_TMP/burnin.ini:7: \[dram.patterns\] mem = 'banana' is not a size" \
  run --profile "$TEST_TMP/burnin.ini"
printf '[profile]\nphase.1 = gpu.membw\n[gpu.membw]\nmin_copies = 1\n' \
  >"$TEST_TMP/copies.ini"
refused "a range the module enforces, found at load" \
  "^kiln: $TEST_TMP/copies.ini:4: \[gpu.membw\] min_copies = '1' is under the minimum of 2$" \
  run --profile "$TEST_TMP/copies.ini"
cat >"$TEST_TMP/station/bad-sku.ini" <<'INI'
[sku]
name = a GPU
pci_ids = 10de:2330
basis = a test
[gpu.memtest]
mem = lots
INI
printf '[gpu]\ncount = 1\nsku = bad-sku.ini\n' >"$TEST_TMP/station/bad.ini"
refused "a bad parameter in a SKU file" \
  "^kiln: $TEST_TMP/station/bad.ini:3: \[gpu\] sku: $TEST_TMP/station/bad-sku.ini:6: \[gpu.memtest\] mem = 'lots' is not a share" \
  run --profile "$CHECK" --spec "$TEST_TMP/station/bad.ini"

# ---- durations that cannot make a real test ----
refused "--duration 0s" \
  "^kiln: --duration '0s' is under the minimum of 1s \(the range is 1s..7d\)$" \
  run --duration 0s
refused "--duration 0.0000001s" "^kiln: --duration '0.0000001s' is under the minimum of 1s" \
  run --duration 0.0000001s
refused "--duration 0x10" "^kiln: --duration '0x10' is not a duration" \
  run --duration 0x10
refused "--duration 99999999h names the cap" \
  "^kiln: --duration '99999999h' is over the cap of 7d" run --duration 99999999h
for kv in "duration = 0s" "grace = 0s" "hang_timeout = 0.001s"; do
  printf '[profile]\nphase.1 = cpu.compute\n%s\n' "$kv" >"$TEST_TMP/d.ini"
  refused "$kv in a profile" \
    "^kiln: $TEST_TMP/d.ini:3: ${kv%% *} '[0-9.]+s' is under the minimum of 1s \(the range is 1s..7d\)$" \
    run --profile "$TEST_TMP/d.ini"
done

# ---- a spec naming another model's SKU: its limits apply, with a warning ----
cat >"$TEST_TMP/station/h200.ini" <<'INI'
[sku]
name = an H200 measured here
pci_ids = 10de:2335
status = measured
basis = a test
[gpu.health]
pcie_width.min = 16
INI
printf '[gpu]\ncount = 1\nsku = h200.ini\n' >"$TEST_TMP/station/other.ini"
HEALTH=$TEST_TMP/health.ini
printf '[profile]\nname = health\nphase.1 = gpu.health\n' >"$HEALTH"
d=$TEST_TMP/other
run_kiln "$TEST_TMP/other.out" run --profile "$HEALTH" \
  --spec "$TEST_TMP/station/other.ini" --report-dir "$d"
is "the other SKU's limits apply: exit 0" "$rc" 0
check "the step's log warns, naming the GPU, its PCI id and the SKU's" \
  "$PYTHON" -c '
import json, sys
want = ("GPU 0000:1b:00.0 is 10de:2330 but the spec names SKU h200 "
        "(10de:2335): its limits apply")
for line in open(sys.argv[1]):
    log = json.loads(line).get("testStepArtifact", {}).get("log")
    if log and log["message"].startswith(want):
        assert log["severity"] == "WARNING", log
        sys.exit(0)
sys.exit("no such log line")
' "$d/ocp.jsonl"
run_kiln "$TEST_TMP/list.out" list --spec "$TEST_TMP/station/other.ini"
is "kiln list --spec: exit 0" "$rc" 0
like "kiln list --spec warns for the GPU" "$TEST_TMP/list.out" \
  "^  WARNING: GPU 0000:1b:00.0 is 10de:2330 but the spec names SKU h200 \(10de:2335\): its limits apply"
run_kiln "$TEST_TMP/list2.out" list
like "kiln list alone shows the SKU the PCI id chooses" "$TEST_TMP/list2.out" \
  "^  limits from GPU SKU h100-sxm5-80gb .*chosen by PCI id 10de:2330"
printf '[gpu]\ncount = 1\nsku = h100-sxm5-80gb\n' >"$TEST_TMP/station/same.ini"
run_kiln "$TEST_TMP/same.out" run --profile "$HEALTH" \
  --spec "$TEST_TMP/station/same.ini" --report-dir "$TEST_TMP/same"
ok "$(grep -q 'but the spec names SKU' "$TEST_TMP/same/ocp.jsonl" && echo 1 ||
  echo 0)" "a spec naming the GPU's own SKU gives no such warning"

# ---- a broken PCI capture names its line ----
CAPTURE=$SHARED/fixtures/pci/tree-asus-p6t6
if need_shared fixtures/pci/tree-asus-p6t6 4; then
  # Corrupt the 1000th hex dump line.
  n=$(grep -n '^[0-9a-f][0-9a-f]*: ' "$CAPTURE" | sed -n 1000p | cut -d: -f1)
  awk -v n="$n" 'NR == n { sub(/ [0-9a-f][0-9a-f]$/, " zz") } { print }' \
    "$CAPTURE" >"$TEST_TMP/bad.lspci"
  refused_cmd "a capture with one corrupt hex line" \
    "^kiln: $TEST_TMP/bad.lspci:$n: malformed line in a hex dump" \
    inventory --pci-dump "$TEST_TMP/bad.lspci"
  refused "... and in a run" \
    "^kiln: $TEST_TMP/bad.lspci:$n: malformed line in a hex dump" \
    run --profile "$CHECK" --pci-dump "$TEST_TMP/bad.lspci"
fi
done_testing
