#!/bin/sh
# The line server away: down for a whole run (the run exits with its own
# verdict's code and says, within --upload-wait, what is unsent and the
# command that sends it; that command completes it once a server is up),
# and killed with SIGKILL mid-run and restarted on the same store and port
# (the uploader resumes; the stored stream equals the local one line for
# line, nothing missing, nothing twice), on SQLite and on a PostgreSQL the
# test starts.
. tests/e2e/lib.sh
plan 27

P=$FIXTURES/profiles/upload.ini

# port_of URL: its port.
port_of() { echo "${1##*:}"; }

# stored_equals_local URL SERIAL DIR: the server's one run of SERIAL has
# DIR's ocp.jsonl byte for byte, each line once.
stored_equals_local() {
  curl -sS -o "$TEST_TMP/runs" "$1/api/v1/runs?serial=$2" || return 1
  sel_id=$(json_get "$TEST_TMP/runs" 'j["runs"][0]["id"] if len(j["runs"]) == 1 else "not one run"')
  curl -sS -o "$TEST_TMP/stored" "$1/api/v1/runs/$sel_id/ocp.jsonl" || return 1
  cmp "$TEST_TMP/stored" "$3/ocp.jsonl" || return 1
  curl -sS -o "$TEST_TMP/run" "$1/api/v1/runs/$sel_id" || return 1
  [ "$(json_get "$TEST_TMP/run" 'j["ocp_lines"]')" = "$(wc -l <"$3/ocp.jsonl")" ]
}

# A port nothing listens on: one a server of this test had, now stopped.
start_serve "$TEST_TMP/gone.out" --db "sqlite:$TEST_TMP/line.db"
dead_url=$serve_url
kill -TERM "$serve_pid"
wait "$serve_pid" 2>/dev/null
port=$(port_of "$dead_url")

# ---- the server down for the whole run ----
for fault in none cpu.sdc; do
  d=$TEST_TMP/down-$fault
  inject=
  want=0
  [ "$fault" = none ] || {
    inject="--inject $fault"
    want=1
  }
  start=$(date +%s)
  # shellcheck disable=SC2086
  run_kiln "$TEST_TMP/down-$fault.out" run --profile "$P" --only cpu.compute \
    $inject --serial "UP-DOWN-$fault" --report-dir "$d" --upload "$dead_url" \
    --upload-wait 2s
  took=$(($(date +%s) - start))
  is "server down, fault $fault: exit $want, the verdict's own" "$rc" "$want"
  like "server down, fault $fault: it names what is unsent and the command" \
    "$TEST_TMP/down-$fault.out" \
    "^kiln: upload: $(wc -l <"$d/ocp.jsonl") lines and 4 files unsent to $dead_url \(.*(connect|Connect).*\); send them with: kiln upload $d $dead_url$"
  ok "$([ "$took" -lt 15 ] && echo 0 || echo 1)" \
    "server down, fault $fault: done within the 2s wait (took ${took}s)"
  is "server down, fault $fault: the last line states exit $want" \
    "$(tail -n 1 "$TEST_TMP/down-$fault.out" |
      sed -n 's/^verdict: [A-Z]* (exit \([0-9]*\)).*/\1/p')" "$want"
done

# The server back on that port: the command kiln named completes both.
start_serve "$TEST_TMP/back.out" --listen "127.0.0.1:$port" \
  --db "sqlite:$TEST_TMP/line.db"
is "the server is back on port $port" "$serve_url" "$dead_url"
for fault in none cpu.sdc; do
  cmd=$(sed -n 's/^kiln: upload: .*; send them with: kiln upload //p' \
    "$TEST_TMP/down-$fault.out")
  rc=0
  # shellcheck disable=SC2086
  "$KILN" upload $cmd >"$TEST_TMP/up-$fault.out" 2>&1 || rc=$?
  is "kiln upload $cmd: exit 0" "$rc" 0
  check "fault $fault: stored equals local, each line once" \
    stored_equals_local "$serve_url" "UP-DOWN-$fault" "$TEST_TMP/down-$fault"
done

# ---- the server killed mid-run and restarted on the same store ----
# Two steps one after the other: lines come while the server is down.
P2=$TEST_TMP/two-steps.ini
cat >"$P2" <<'INI'
[profile]
name = upload-two-steps
duration = 3s
monitors = thermal, edac
phase.1 = cpu.compute
phase.2 = dram.bandwidth
[dram.bandwidth]
triad_gbps.min = 0.1
INI
kill -TERM "$serve_pid"
wait "$serve_pid" 2>/dev/null

# killed_mid_run DB LABEL: a run uploading to a server on store DB, the
# server killed with SIGKILL once lines have arrived, kept down while the
# run writes more, restarted on the same store and port (7 tests).
killed_mid_run() {
  kdb=$1
  d=$TEST_TMP/killed-$2
  serial=UP-KILLED-$2
  start_serve "$TEST_TMP/first-$2.out" --listen "127.0.0.1:$port" --db "$kdb"
  start_kiln "$TEST_TMP/killed-$2.out" run --profile "$P2" --serial "$serial" \
    --report-dir "$d" --upload "$serve_url"
  run_pid=$pid
  stored=0
  for _ in $(seq 1 50); do
    http GET "$serve_url/api/v1/runs?serial=$serial"
    stored=$(json_get "$TEST_TMP/body" 'j["runs"][0]["ocp_lines"] if j.get("runs") else 0')
    [ "$stored" -gt 2 ] 2>/dev/null && break
    sleep 0.1
  done
  ok "$([ "$stored" -gt 2 ] 2>/dev/null && echo 0 || echo 1)" \
    "$2: lines arrive while the run goes ($stored stored)"
  kill -KILL "$serve_pid"
  wait "$serve_pid" 2>/dev/null
  ok "$(kill -0 "$run_pid" 2>/dev/null && echo 0 || echo 1)" \
    "$2: the server is killed mid-run"
  # Down until the run has written more, and the uploader has tried to
  # send it (it tries about once a second).
  local_lines=$(wc -l <"$d/ocp.jsonl")
  grown=1
  for _ in $(seq 1 100); do
    [ "$(wc -l <"$d/ocp.jsonl")" -gt "$local_lines" ] && grown=0 && break
    sleep 0.1
  done
  ok "$grown" "$2: the run writes lines while the server is down"
  sleep 2
  start_serve "$TEST_TMP/again-$2.out" --listen "127.0.0.1:$port" --db "$kdb"
  is "$2: restarted on the same port and store" "$serve_url" "$dead_url"
  rc=0
  wait "$run_pid" || rc=$?
  is "$2: the run exits 0 (its verdict)" "$rc" 0
  like "$2: it says all was sent" "$TEST_TMP/killed-$2.out" \
    "^kiln: upload: $(wc -l <"$d/ocp.jsonl") lines and 5 files sent to $serve_url "
  check "$2: the stored stream equals local line for line, each once" \
    stored_equals_local "$serve_url" "$serial" "$d"
  kill -TERM "$serve_pid"
  wait "$serve_pid" 2>/dev/null
}

killed_mid_run "sqlite:$TEST_TMP/line.db" sqlite
if ! pg_installed; then
  for _ in 1 2 3 4 5 6 7; do
    skip "postgresql: not installed ($PG_BIN/initdb; Debian: postgresql)"
  done
elif ! pg_start_server; then
  for _ in 1 2 3 4 5 6 7; do
    ok 1 "postgresql: the test's own server did not start (logs in $pg_dir)"
  done
else
  killed_mid_run "$pg_url" postgresql
fi
done_testing
