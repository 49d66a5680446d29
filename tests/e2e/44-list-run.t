#!/bin/sh
# `kiln list` and `kiln run` agree: for each module, the verdict and reason
# list gives (from the run's own probe) is what the run's steps end with,
# on this machine and with the fixtures that make modules present (a
# station spec, a PCI capture, fake GPUs, umockdev's hwmon and EDAC). A
# module list calls available must not SKIP in the run; one it says no to
# must end with list's verdict and exactly list's reason. The text list
# and `kiln list --json` name the same modules, faults and profiles.
. tests/e2e/lib.sh
plan 27

# The list's verdicts (--json) against the run's steps (results.tap):
# prints one line per disagreement, and the modules compared.
cat >"$TEST_TMP/agree.py" <<'PY'
import json, re, sys
listed = json.load(open(sys.argv[1]))
steps = {}
cur = None
for line in open(sys.argv[2]):
    m = re.match(r'^\s+(verdict|module|reason): (".*")$', line)
    if re.match(r'^(not )?ok \d+ ', line):
        cur = {}
    elif m and cur is not None:
        cur[m.group(1)] = json.loads(m.group(2))
        if m.group(1) == "module":
            steps.setdefault(cur["module"], []).append(cur)
bad, seen = [], []
for mod in listed["modules"]:
    name = mod["name"]
    if name not in steps:
        continue
    seen.append(name)
    for st in steps[name]:
        v, why = st.get("verdict"), st.get("reason", "")
        if mod["available"]:
            if v == "SKIP":
                bad.append("%s: list says ok (%s), the run SKIPs: %s"
                           % (name, mod["reason"], why))
        elif v != mod["verdict"]:
            bad.append("%s: list says %s (%s), the run %s: %s"
                       % (name, mod["verdict"], mod["reason"], v, why))
        elif v in ("SKIP", "ERROR") and why != mod["reason"] \
                and why not in mod["causes"]:
            bad.append("%s: list's reason '%s', the run's '%s'"
                       % (name, mod["reason"], why))
for b in bad:
    print(b)
open(sys.argv[3], "w").write(" ".join(seen) + "\n")
PY

run_kiln "$TEST_TMP/list.json" list --json
is "kiln list --json exits 0" "$rc" 0
check "kiln list --json is JSON with modules, faults, profiles, skus, gpus" \
  "$PYTHON" -c 'import json, sys
d = json.load(open(sys.argv[1]))
assert all(k in d for k in ("modules", "faults", "profiles", "skus", "gpus"))
assert all(set(m) >= {"name", "available", "reason", "description"}
           for m in d["modules"]), d["modules"]' "$TEST_TMP/list.json"

# The text list's sections and the JSON's: the same names, in order.
run_kiln "$TEST_TMP/list.txt" list
section() {
  awk -v s="$1" '/^[^ ]/ { on = ($0 ~ "^" s) ; next } on { print $1 }' \
    "$TEST_TMP/list.txt" | tr '\n' ' '
}
names() {
  "$PYTHON" -c 'import json, sys
print(" ".join(x["name"] for x in json.load(open(sys.argv[1]))[sys.argv[2]]),
      end=" ")' "$TEST_TMP/list.json" "$1"
}
is "the JSON's modules are the text list's" "$(names modules)" \
  "$(section modules:)"
is "the JSON's faults are the text list's" "$(names faults)" \
  "$(section faults)"
is "the JSON's profiles are the text list's" "$(names profiles)" \
  "$(section built-in)"
is "the JSON's SKUs are the text list's" "$(names skus)" "$(section 'GPU SKU')"

# A profile of every module but the CPU and DRAM ones (long, and always
# able to run), the monitors as monitors, short phases.
"$PYTHON" -c 'import json, sys
mods = json.load(open(sys.argv[1]))["modules"]
pick = lambda mon: ", ".join(m["name"] for m in mods
    if (m["targets"] == "monitor") == mon
    and not m["name"].startswith(("cpu.", "dram.")))
print("[profile]\nname = list-run\ndescription = every module once\n"
      "duration = 2s\ngrace = 20s\nhang_timeout = 15s")
print("phase.1 = " + pick(False))
print("monitors = " + pick(True))
print("[fans]\nidle = 1s")' "$TEST_TMP/list.json" >"$TEST_TMP/all.ini"

# agree NAME [VAR=VALUE...] -- [OPTIONS...]: kiln list --json and kiln run
# of the profile with the same environment and options (a station spec, a
# PCI capture), under umockdev when $UNDER names a fixture; then the
# comparison, and that the run covered at least $MIN modules.
agree() {
  name=$1
  shift
  vars=
  while [ "$1" != -- ]; do
    vars="$vars $1"
    shift
  done
  shift
  wrap=
  [ -z "$UNDER" ] || wrap="umockdev-run -d $FIXTURES/umockdev/$UNDER.umockdev --"
  # shellcheck disable=SC2086
  env $vars KILN_SENSORS_CONFIG=/dev/null $wrap "$KILN" list --json "$@" \
    >"$TEST_TMP/$name.json" 2>"$TEST_TMP/$name.list.err"
  rc=0
  # shellcheck disable=SC2086
  env $vars KILN_SENSORS_CONFIG=/dev/null $wrap "$KILN" run \
    --profile "$TEST_TMP/all.ini" --report-dir "$TEST_TMP/$name" "$@" \
    >"$TEST_TMP/$name.out" 2>&1 || rc=$?
  "$PYTHON" "$TEST_TMP/agree.py" "$TEST_TMP/$name.json" \
    "$TEST_TMP/$name/results.tap" "$TEST_TMP/$name.seen" \
    >"$TEST_TMP/$name.bad" 2>&1 || echo "agree.py failed" >>"$TEST_TMP/$name.bad"
  is "$name: list and run agree on every module" "$(cat "$TEST_TMP/$name.bad")" ""
  n=$(wc -w <"$TEST_TMP/$name.seen" 2>/dev/null || echo 0)
  ok "$([ "$n" -ge "$MIN" ] && echo 0 || echo 1)" \
    "$name: the run covered the modules compared ($n)"
}

# listed NAME MODULE REGEX: in scenario NAME, list's JSON says of MODULE
# "<available> <verdict> <reason>" matching REGEX.
listed() {
  got=$("$PYTHON" -c 'import json, sys
m = [m for m in json.load(open(sys.argv[1]))["modules"] if m["name"] == sys.argv[2]][0]
print(m["available"], m["verdict"], m["reason"])' "$TEST_TMP/$1.json" "$2")
  if echo "$got" | grep -Eq -- "$3"; then
    ok 0 "$1: kiln list says of $2: $got"
  else
    ok 1 "$1: kiln list says of $2: $got"
    echo "#  want: $3"
  fi
}

MIN=12
UNDER=
# ---- this machine as it is ----
agree here --
listed here inventory.check "^False SKIP no station spec"
listed here gpu.p2p "^False SKIP needs at least 2 GPUs; this machine has 0$"

# ---- a station spec that expects fans: inventory.check runs ----
printf '[fans]\ncount = 2\n' >"$TEST_TMP/fans-spec.ini"
agree spec -- --spec "$TEST_TMP/fans-spec.ini"
listed spec inventory.check "^True None station spec "

# ---- an HGX capture and its spec: pcie.link has links to judge ----
agree hgx KILN_SYSROOT="$FIXTURES/sysroot/hgx" -- \
  --pci-dump "$FIXTURES/pci/hgx-healthy.lspci" --spec "$FIXTURES/spec/hgx.ini"
listed hgx pcie.link "^True None [0-9]+ PCI devices, [0-9]+ with a link"

# ---- fake GPUs on the bus without a driver: one, then two ----
mkdir -p "$TEST_TMP/pci1" "$TEST_TMP/pci2"
fake_gpu_bus "$TEST_TMP/pci1" 0x2330 0000:1b:00.0
fake_gpu_bus "$TEST_TMP/pci2" 0x2330 0000:1b:00.0 0000:3a:00.0
agree gpu1 KILN_SYSFS_PCI="$TEST_TMP/pci1" \
  KILN_NVML_LIB=/nonexistent/libnvidia-ml.so.1 --
listed gpu1 gpu.query "^False ERROR "
agree gpu2 KILN_SYSFS_PCI="$TEST_TMP/pci2" \
  KILN_NVML_LIB=/nonexistent/libnvidia-ml.so.1 --

# ---- umockdev's hwmon and EDAC: fans, thermal and edac present ----
if command -v umockdev-run >/dev/null 2>&1; then
  UNDER=healthy
  agree healthy --
  listed healthy fans "^True None [0-9]+ fan reading"
  UNDER=edac
  agree edac --
  listed edac edac "^True None"
else
  skip 6 "umockdev-run is not installed"
fi
done_testing
