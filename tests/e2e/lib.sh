# Shared helpers for the end-to-end tests: TAP output and report checks.
# Tests run from the repository root (make test does that).
KILN=${KILN:-build/kiln}
# Debian's python3, which has python3-junitparser and python3-yaml.
PYTHON=${KILN_PYTHON:-/usr/bin/python3}
SHARED=${KILN_SHARED:-../shared}
FIXTURES=tests/fixtures
TEST_TMP=$(mktemp -d "${TMPDIR:-/tmp}/kiln-e2e.XXXXXX")
trap 'rm -rf "$TEST_TMP"' EXIT
t_count=0
t_failed=0

plan() { echo "1..$1"; }

# ok STATUS DESCRIPTION: STATUS 0 passes.
ok() {
  t_count=$((t_count + 1))
  if [ "$1" -eq 0 ]; then
    echo "ok $t_count - $2"
  else
    echo "not ok $t_count - $2"
    t_failed=$((t_failed + 1))
  fi
}

# skip N REASON: N test points that cannot run here, with the reason.
skip() {
  for _ in $(seq 1 "$1"); do
    t_count=$((t_count + 1))
    echo "ok $t_count # SKIP $2"
  done
}

# check DESCRIPTION CMD...: passes when CMD exits 0; shows its output if not.
check() {
  desc=$1
  shift
  if "$@" >"$TEST_TMP/out" 2>&1; then
    ok 0 "$desc"
  else
    ok 1 "$desc"
    sed 's/^/# /' "$TEST_TMP/out" | head -40
  fi
}

# is DESCRIPTION GOT WANT
is() {
  if [ "$2" = "$3" ]; then
    ok 0 "$1"
  else
    ok 1 "$1"
    echo "#   got: '$2'"
    echo "#  want: '$3'"
  fi
}

# like DESCRIPTION FILE REGEX: FILE has a line matching the extended regex.
like() {
  if grep -Eq -- "$3" "$2"; then
    ok 0 "$1"
  else
    ok 1 "$1"
    echo "#  no line of $2 matches: $3"
    sed 's/^/#  | /' "$2" | head -30
  fi
}

# run_kiln OUTFILE ARGS...: runs kiln, stores stdout+stderr, sets $rc.
run_kiln() {
  out=$1
  shift
  rc=0
  "$KILN" "$@" >"$out" 2>&1 || rc=$?
}

# start_kiln OUTFILE ARGS...: kiln in the background, in a session of its
# own, so that its children can be told from any other kiln's on the
# machine (a test judges only what it started); sets $pid (= the session).
start_kiln() {
  out=$1
  shift
  setsid "$KILN" "$@" >"$out" 2>&1 &
  pid=$!
}

# session_procs SID: the command names of the processes in session SID.
session_procs() {
  ps -eo sid=,comm= | awk -v s="$1" '$1 == s { print $2 }'
}

# Every report of DIR valid for its real consumer. TAP_EXPECT: pass|fail.
check_reports() {
  dir=$1
  tap_expect=$2
  check "ocp.jsonl passes ocp-validate" "$SHARED/tools/ocp-validate" "$dir/ocp.jsonl"
  check "junit.xml validates against junit-10.xsd" \
    xmllint --noout --schema "$SHARED/schemas/junit-10.xsd" "$dir/junit.xml"
  check "junit.xml loads in junitparser" "$PYTHON" -c '
import sys
from junitparser import JUnitXml
xml = JUnitXml.fromfile(sys.argv[1])
assert sum(1 for s in xml for c in s) > 0, "no testcases"
' "$dir/junit.xml"
  prc=0
  prove -e cat "$dir/results.tap" >"$TEST_TMP/prove" 2>&1 || prc=$?
  if [ "$tap_expect" = pass ]; then
    is "prove accepts results.tap" "$prc" 0
  else
    ok "$([ "$prc" -ne 0 ] && echo 0 || echo 1)" "prove fails results.tap"
  fi
  check "summary.txt written" test -s "$dir/summary.txt"
}

done_testing() {
  [ "$t_failed" -eq 0 ]
}
