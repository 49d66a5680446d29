#!/bin/sh
# SIGTERM and SIGINT mid-run: children stopped, running steps ABORTED,
# reports complete and valid, exit 2, no child left behind.
. tests/e2e/lib.sh
plan 20
P="$FIXTURES/profiles/fast.ini"

# No process of the run's session is left (its children keep it).
no_children() { [ -z "$(session_procs "$1")" ]; }

for sig in TERM INT; do
  d="$TEST_TMP/$sig"
  start_kiln "$TEST_TMP/$sig.out" run --profile "$P" --duration 60s \
    --report-dir "$d"
  for _ in $(seq 1 150); do
    session_procs "$pid" | grep -qx 'kiln/cpu.comput' && break
    sleep 0.1
  done
  sleep 0.5
  kill -"$sig" "$pid"
  start=$(date +%s)
  rc=0
  wait "$pid" || rc=$?
  took=$(($(date +%s) - start))
  is "SIG$sig: exit 2" "$rc" 2
  ok "$([ "$took" -le 10 ] && echo 0 || echo 1)" "SIG$sig: stopped in ${took}s"
  sleep 0.2
  check "SIG$sig: no kiln child left" no_children "$pid"
  like "SIG$sig: running steps are ABORTED" "$TEST_TMP/$sig.out" \
    "ABORTED +cpu.compute: aborted: SIG$sig received"
  like "SIG$sig: later phases are ABORTED too" "$d/results.tap" \
    "^not ok [0-9]+ - dram.bandwidth"
  check_reports "$d" fail
done
done_testing
