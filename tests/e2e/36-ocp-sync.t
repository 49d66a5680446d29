#!/bin/sh
# ocp.jsonl is fsynced at every step start and end (a power cut loses at
# most what came since), seen with strace on the parent; and a parent
# killed with SIGKILL right after a step ended leaves that end on disk, in
# whole lines.
. tests/e2e/lib.sh
plan 6
P="$FIXTURES/profiles/fast.ini"

d="$TEST_TMP/traced"
if ! command -v strace >/dev/null; then
  skip 3 "strace is not installed (scripts/install-deps.sh installs it)"
elif ! strace -o /dev/null true 2>"$TEST_TMP/strace.err"; then
  skip 3 "strace cannot trace here: $(head -n 1 "$TEST_TMP/strace.err")"
else
  rc=0
  strace -o "$TEST_TMP/trace" -s 80 -e trace=openat,pwrite64,write,fsync \
    -e signal=none "$KILN" run --profile "$P" --only cpu.compute,dram.patterns \
    --report-dir "$d" >"$TEST_TMP/traced.out" 2>&1 || rc=$?
  is "traced run: exit 0" "$rc" 0
  # Each testStepStart or testStepEnd line is followed by an fsync of
  # ocp.jsonl before anything else is written to it.
  "$PYTHON" - "$TEST_TMP/trace" >"$TEST_TMP/sync.out" 2>&1 <<'PY'
import re, sys
fd, waiting, seen, bad = None, None, 0, []
for line in open(sys.argv[1]):
    m = re.match(r'openat\(.*ocp\.jsonl".*\) = (\d+)', line)
    if m:
        fd = m.group(1)
        continue
    m = re.match(r'(pwrite64|write|fsync)\((\d+)', line)
    if not m or m.group(2) != fd:
        continue
    if m.group(1) == "fsync":
        waiting = None
        continue
    if waiting:
        bad.append("written to ocp.jsonl after %s without an fsync" % waiting)
    kind = re.search(r'"(testStepStart|testStepEnd)', line.replace('\\"', '"'))
    if kind:
        waiting = kind.group(1)
        seen += 1
if fd is None:
    bad.append("ocp.jsonl was never opened")
if waiting:
    bad.append("no fsync after the last %s" % waiting)
if seen != 4:
    bad.append("%d step starts and ends seen, 4 expected" % seen)
if bad:
    print("\n".join(bad))
sys.exit(1 if bad else 0)
PY
  ok $? "every step start and end is fsynced before the next line"
  [ -s "$TEST_TMP/sync.out" ] && sed "s/^/# /" "$TEST_TMP/sync.out"
  need_shared tools/ocp-validate 1 &&
    check "traced run: ocp.jsonl passes ocp-validate" \
      "$SHARED/tools/ocp-validate" "$d/ocp.jsonl"
fi

# SIGKILL of the parent right after cpu.compute ended.
d="$TEST_TMP/killed"
"$KILN" run --profile "$P" --only cpu.compute,dram.bandwidth \
  --report-dir "$d" >"$TEST_TMP/killed.out" 2>&1 &
pid=$!
for _ in $(seq 1 200); do
  grep -q 'PASS *cpu.compute' "$TEST_TMP/killed.out" && break
  sleep 0.05
done
kids=$(ps -o pid= --ppid "$pid")
kill -KILL "$pid"
wait "$pid" 2>/dev/null
sleep 0.5
like "killed: the step's end is in ocp.jsonl" "$d/ocp.jsonl" \
  '"testStepId":"0","testStepEnd":\{"status":"COMPLETE"\}'
if need_shared tools/ocp-validate 1; then
  "$SHARED/tools/ocp-validate" "$d/ocp.jsonl" >"$TEST_TMP/killed.val" 2>&1
  is "killed: ocp.jsonl is whole lines; only testRunEnd is missing" \
    "$(grep -c . "$TEST_TMP/killed.val")/$(grep -c 'no testRunEnd' "$TEST_TMP/killed.val")" "1/1"
fi
left=0
# A killed child may stay a zombie until init reaps it: that is no process.
for k in $kids; do
  ps -o stat= -p "$k" | grep -qv '^Z' && left=1
done
ok "$left" "killed: no step outlives the parent"
done_testing
