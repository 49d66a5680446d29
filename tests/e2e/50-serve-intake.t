#!/bin/sh
# kiln serve takes a run's OCP stream in batches (overlapping, repeated,
# out of order) and gives it back byte for byte; killed with SIGKILL in the
# middle of a series of batches and restarted on the same store, a sender
# that resumes from the run's last_contiguous + 1 leaves the stored stream
# equal to the file, nothing missing and nothing twice. On SQLite, and on
# a PostgreSQL server the test starts (skipped, with the reason, where
# PostgreSQL is not installed).
. tests/e2e/lib.sh

STREAM=$FIXTURES/ocp/line-sdc.ocp.jsonl
LINES=$(wc -l <"$STREAM")
plan 30

# ack_is DESC LAST STORED: the last reply was 200 with these figures.
ack_is() {
  is "$1" "$status $(json_get "$TEST_TMP/body" 'j["last_contiguous"]') $(json_get "$TEST_TMP/body" 'j["stored"]')" "200 $2 $3"
}

# batches DB TAG: the stream in overlapping, repeated, out-of-order batches.
batches() {
  start_serve "$TEST_TMP/serve-$2" --db "$1"
  check "$2: kiln serve says where it listens" test -n "$serve_url"
  post_lines "$serve_url" "b-$2" "$STREAM" 0 100
  ack_is "$2: lines 0-99 acknowledged up to 99" 99 100
  post_lines "$serve_url" "b-$2" "$STREAM" 50 200
  ack_is "$2: an overlapping batch 50-199 stores only its new lines" 199 100
  post_lines "$serve_url" "b-$2" "$STREAM" 50 200
  ack_is "$2: the same batch again stores nothing" 199 0
  post_lines "$serve_url" "b-$2" "$STREAM" 400 "$LINES"
  ack_is "$2: a batch after a gap is kept, the acknowledgement stays before the gap" 199 $((LINES - 400))
  post_lines "$serve_url" "b-$2" "$STREAM" 200 400
  ack_is "$2: the gap filled, the whole stream is acknowledged" $((LINES - 1)) 200
  http GET "$serve_url/api/v1/runs/b-$2/ocp.jsonl"
  is "$2: GET ocp.jsonl answers 200" "$status" 200
  check "$2: the stored stream equals the file byte for byte" \
    cmp "$TEST_TMP/body" "$STREAM"
  kill -TERM "$serve_pid"
  src=0
  wait "$serve_pid" || src=$?
  is "$2: SIGTERM stops kiln serve with exit 0" "$src" 0
}

# killed DB TAG: a series of 20-line batches, the server SIGKILLed after the
# fifth acknowledgement, restarted, the sender resuming.
killed() {
  start_serve "$TEST_TMP/serve-$2-1" --db "$1"
  url=$serve_url
  : >"$TEST_TMP/acks-$2"
  (
    i=0
    while [ "$i" -lt "$LINES" ]; do
      j=$((i + 20))
      sed -n "$((i + 1)),${j}p" "$STREAM" >"$TEST_TMP/series-$2"
      curl -sf --data-binary @"$TEST_TMP/series-$2" \
        "$url/api/v1/runs/k-$2/ocp?first=$i" >>"$TEST_TMP/acks-$2" || exit 0
      echo >>"$TEST_TMP/acks-$2"
      i=$j
      sleep 0.2
    done
  ) &
  sender=$!
  for _ in $(seq 1 1000); do
    [ "$(grep -c last_contiguous "$TEST_TMP/acks-$2")" -ge 5 ] && break
    sleep 0.02
  done
  kill -KILL "$serve_pid"
  wait "$serve_pid" 2>/dev/null
  wait "$sender"
  acked=$(grep -c last_contiguous "$TEST_TMP/acks-$2")
  ok "$([ "$acked" -ge 5 ] && [ "$acked" -lt $((LINES / 20)) ] && echo 0 || echo 1)" \
    "$2: killed in the middle of the series ($acked batches acknowledged)"

  start_serve "$TEST_TMP/serve-$2-2" --db "$1"
  check "$2: restarted on the same store" test -n "$serve_url"
  http GET "$serve_url/api/v1/runs/k-$2"
  last=$(json_get "$TEST_TMP/body" 'j["last_contiguous"]')
  # Every acknowledged batch is kept, and a batch is stored whole or not at
  # all (one in flight at the kill may have been stored unacknowledged).
  ok "$([ "$status" = 200 ] && [ $(((last + 1) % 20)) -eq 0 ] &&
    [ "$last" -ge $((acked * 20 - 1)) ] && [ "$last" -le $((acked * 20 + 19)) ] &&
    echo 0 || echo 1)" \
    "$2: the run resumes after whole batches, every acknowledged one kept (last_contiguous $last)"
  i=$((last + 1))
  stored=0
  while [ "$i" -lt "$LINES" ]; do
    post_lines "$serve_url" "k-$2" "$STREAM" "$i" $((i + 20))
    [ "$status" = 200 ] || break
    stored=$((stored + $(json_get "$TEST_TMP/body" 'j["stored"]')))
    i=$((i + 20))
  done
  is "$2: every line resent after the restart is new to the store" "$stored" \
    $((LINES - last - 1))
  http GET "$serve_url/api/v1/runs/k-$2/ocp.jsonl"
  diff "$STREAM" "$TEST_TMP/body" >"$TEST_TMP/diff" 2>&1
  ok $? "$2: the stored stream equals the file line for line"
  sed 's/^/# /' "$TEST_TMP/diff" | head -10
  http GET "$serve_url/api/v1/runs/k-$2"
  is "$2: the run has every line once, and its verdict" \
    "$(json_get "$TEST_TMP/body" 'j["ocp_lines"], j["last_contiguous"], j["verdict"], j["exit_code"]')" \
    "($LINES, $((LINES - 1)), 'FAIL', 1)"
  kill -TERM "$serve_pid"
  wait "$serve_pid"
}

batches "sqlite:$TEST_TMP/line.db" sqlite
killed "sqlite:$TEST_TMP/line.db" sqlite

if ! pg_installed; then
  skip 15 "PostgreSQL is not installed (no $PG_BIN/initdb, pg_ctl): apt-get install postgresql"
elif ! pg_start_server; then
  ok 1 "PostgreSQL starts in $pg_dir"
  cat "$pg_dir"/*.log | sed 's/^/# /' | tail -20
  skip 14 "PostgreSQL did not start"
else
  batches "$pg_url" postgresql
  killed "$pg_url" postgresql
fi

done_testing
