# Shared helpers for the end-to-end tests: TAP output, report checks and
# fixtures (a fake GPU bus, the fake NVML, the IPMI simulator).
# Tests run from the repository root (make test does that).
KILN=${KILN:-build/kiln}
# Debian's python3, which has python3-junitparser and python3-yaml.
PYTHON=${KILN_PYTHON:-/usr/bin/python3}
# The validators, schemas and real lspci captures the tests check against
# (../shared beside the clone, or $KILN_SHARED); see need_shared.
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

# need_shared WHAT N: true when $SHARED/WHAT is here (e.g. tools/ocp-validate);
# otherwise N skipped test points naming the path, and false:
#   need_shared tools/ocp-validate 1 && check "..." "$SHARED/tools/ocp-validate" F
need_shared() {
  [ -e "$SHARED/$1" ] && return 0
  skip "$2" "$SHARED/$1 not found (set KILN_SHARED)"
  return 1
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

# session_procs SID: the command names of the processes in session SID
# (ps selects them: no other process on the machine is listed).
session_procs() {
  ps -o comm= --sid "$1" || true
}

# fake_gpu_bus DIR DEVICE BUS...: a fixture PCI bus for $KILN_SYSFS_PCI: an
# NVIDIA 3D controller (vendor 0x10de, class 0x030200) at each BUS under
# DIR, with PCI device id DEVICE (e.g. 0x2330, an H100 SXM5); an empty
# DEVICE leaves the device file out.
fake_gpu_bus() {
  fgb_dir=$1
  fgb_device=$2
  shift 2
  for fgb_bus in "$@"; do
    mkdir -p "$fgb_dir/$fgb_bus"
    echo 0x10de >"$fgb_dir/$fgb_bus/vendor"
    [ -z "$fgb_device" ] || echo "$fgb_device" >"$fgb_dir/$fgb_bus/device"
    echo 0x030200 >"$fgb_dir/$fgb_bus/class"
  done
}

# build_fake_nvml SO [CC_FLAG...]: the fake libnvidia-ml
# (tests/fixtures/nvml/fake_nvml.c, knobs as FAKE_* env vars) built as SO,
# for $KILN_NVML_LIB; -DOLD builds a driver of an older generation.
build_fake_nvml() {
  bfn_so=$1
  shift
  cc -shared -fPIC -w "$@" -o "$bfn_so" "$FIXTURES/nvml/fake_nvml.c"
}

# need_ipmi_sim: the whole test is a SKIP where ipmi_sim is not installed.
# Call it before plan.
need_ipmi_sim() {
  if ! command -v ipmi_sim >/dev/null 2>&1; then
    echo "1..0 # SKIP ipmi_sim is not installed (Debian: openipmi)"
    exit 0
  fi
}

# start_ipmi_sim: OpenIPMI's ipmi_sim on loopback, as the test BMC
# (tests/fixtures/ipmi_sim/start-sim.sh). Sets $port (its IPMI LAN UDP
# port), $console (its console's TCP port), $pgid, $sim_dir (with
# $sim_dir/credentials) and $simpid (the simulator's own pid, e.g. for
# SIGSTOP); empty where it did not come up. The simulator stops with this
# test's process (--owner) or at its exit, by its group.
start_ipmi_sim() {
  sh "$FIXTURES/ipmi_sim/start-sim.sh" --owner $$ --lifetime 120 \
    >"$TEST_TMP/sim" 2>"$TEST_TMP/sim.err" &
  for _ in $(seq 1 100); do
    [ -s "$TEST_TMP/sim" ] && break
    sleep 0.1
  done
  read -r port console pgid sim_dir <"$TEST_TMP/sim" || true
  simpid=$(cat "$sim_dir/sim.pid" 2>/dev/null)
  # A stopped simulator must be continued before it can take its SIGTERM.
  trap 'kill -CONT "$simpid" 2>/dev/null; kill -TERM "-$pgid" 2>/dev/null;
    rm -rf "$TEST_TMP"' EXIT
}

# Every report of DIR valid for its real consumer. TAP_EXPECT: pass|fail.
check_reports() {
  dir=$1
  tap_expect=$2
  need_shared tools/ocp-validate 1 &&
    check "ocp.jsonl passes ocp-validate" "$SHARED/tools/ocp-validate" "$dir/ocp.jsonl"
  need_shared schemas/junit-10.xsd 1 &&
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

# ---- the line server (kiln serve) ----

# start_serve OUTFILE ARGS...: `kiln serve --listen 127.0.0.1:0 ARGS...` in
# the background; waits for its "listening on" line. Sets $serve_pid and
# $serve_url (empty when it did not come up: its output is in OUTFILE).
# The test's exit kills the last one started.
start_serve() {
  ss_out=$1
  shift
  "$KILN" serve --listen 127.0.0.1:0 "$@" >"$ss_out" 2>&1 &
  serve_pid=$!
  serve_url=
  trap serve_cleanup EXIT
  for _ in $(seq 1 100); do
    serve_url=$(sed -n 's/^kiln serve: listening on \([^ ]*\) .*/\1/p' "$ss_out")
    [ -n "$serve_url" ] && return 0
    kill -0 "$serve_pid" 2>/dev/null || return 0
    sleep 0.1
  done
}

# http METHOD URL [CURL_ARG...]: curl; the reply's body in $TEST_TMP/body,
# its status in $status (000: no reply).
http() {
  h_method=$1
  h_url=$2
  shift 2
  status=$(curl -sS -o "$TEST_TMP/body" -w '%{http_code}' -X "$h_method" \
    "$@" "$h_url" 2>"$TEST_TMP/curl.err") || true
}

# post_lines URL RUN FILE FROM TO [CURL_ARG...]: POSTs lines FROM..TO-1 of
# FILE (sequence numbers FROM..TO-1) as one batch of RUN, as http does.
post_lines() {
  pl_url=$1
  pl_run=$2
  sed -n "$(($4 + 1)),$5p" "$3" >"$TEST_TMP/batch"
  pl_first=$4
  shift 5
  http POST "$pl_url/api/v1/runs/$pl_run/ocp?first=$pl_first" \
    --data-binary @"$TEST_TMP/batch" "$@"
}

# json_get FILE EXPR: a Python expression over the JSON object j of FILE,
# printed (None as "null").
json_get() {
  "$PYTHON" -c '
import json, sys
j = json.load(open(sys.argv[1]))
v = eval(sys.argv[2])
print("null" if v is None else v)
' "$1" "$2" 2>&1
}

# At exit: the last kiln serve started is killed, the PostgreSQL server
# stopped and removed.
serve_cleanup() {
  [ -z "${serve_pid:-}" ] || kill -KILL "$serve_pid" 2>/dev/null
  if [ -n "${pg_dir:-}" ]; then
    (cd "$pg_dir" && $pg_as "$PG_BIN/pg_ctl" -D "$pg_dir/data" -m immediate \
      -w -s stop >/dev/null 2>&1)
    rm -rf "$pg_dir"
  fi
  rm -rf "$TEST_TMP"
}

# pg_start_server: a PostgreSQL server of the test's own in a new
# temporary directory $pg_dir (initdb and pg_ctl, a unix socket there, as
# nobody when root: postgres refuses root), as tests/unit/test_store.c
# starts one; sets $pg_url to its database postgres; it stops at exit.
# Returns 1 when it did not start (its logs in $pg_dir).
PG_BIN=${KILN_PG_BIN:-/usr/lib/postgresql/15/bin}
pg_installed() { [ -x "$PG_BIN/initdb" ] && [ -x "$PG_BIN/pg_ctl" ]; }
pg_start_server() {
  pg_dir=$(mktemp -d "${TMPDIR:-/tmp}/kiln-pg.XXXXXX")
  trap serve_cleanup EXIT
  pg_as=
  if [ "$(id -u)" -eq 0 ]; then
    chown nobody "$pg_dir" || return 1
    pg_as="runuser -u nobody --"
  fi
  (cd "$pg_dir" && $pg_as "$PG_BIN/initdb" -D "$pg_dir/data" -A trust \
    -U kiln --no-sync -E UTF8 >"$pg_dir/initdb.log" 2>&1) || return 1
  (cd "$pg_dir" && $pg_as "$PG_BIN/pg_ctl" -D "$pg_dir/data" \
    -l "$pg_dir/server.log" -w -s -o "-k $pg_dir -c listen_addresses= -F" \
    start) || return 1
  pg_url="postgresql:///postgres?host=$pg_dir&user=kiln"
}
