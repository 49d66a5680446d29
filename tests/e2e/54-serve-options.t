#!/bin/sh
# kiln serve's bad options and environments: each one line on stderr and a
# non-zero exit (64 usage, 2 environment) before anything listens and
# before the store is made: an unknown option, values that are not one, a
# token file missing or empty, an address in use.
. tests/e2e/lib.sh

plan 22

# refused DESC WANT_RC REGEX ARGS...: kiln serve ARGS exits WANT_RC with one
# line matching REGEX, says nothing of listening and makes no store.
refused() {
  r_desc=$1
  r_want=$2
  r_regex=$3
  shift 3
  rm -f "$TEST_TMP/never.db"
  run_kiln "$TEST_TMP/out" serve --db "sqlite:$TEST_TMP/never.db" "$@"
  is "$r_desc: exit $r_want" "$rc" "$r_want"
  if [ "$(wc -l <"$TEST_TMP/out")" -eq 1 ] &&
    grep -Eq -- "$r_regex" "$TEST_TMP/out" && [ ! -e "$TEST_TMP/never.db" ]; then
    ok 0 "$r_desc: one line naming it, no store made"
  else
    ok 1 "$r_desc: one line naming it, no store made"
    sed 's/^/#  | /' "$TEST_TMP/out"
  fi
}

refused "an unknown option" 64 "unknown option '--bogus'" --bogus
refused "--listen without a port" 64 "--listen '127.0.0.1': give ADDR:PORT" \
  --listen 127.0.0.1
refused "--listen with port 70000" 64 "port '70000' is not 0 to 65535" \
  --listen 127.0.0.1:70000
refused "--max-body 0" 64 "--max-body '0'" --max-body 0
refused "--max-file 1X" 64 "--max-file '1X'" --max-file 1X
refused "--tls-cert without --tls-key" 64 "--tls-cert and --tls-key go together" \
  --tls-cert "$TEST_TMP/none.pem"
refused "a token file that is not there" 2 "--token-file $TEST_TMP/missing-token" \
  --token-file "$TEST_TMP/missing-token"
: >"$TEST_TMP/empty-token"
refused "an empty token file" 2 "--token-file $TEST_TMP/empty-token: the token file is empty" \
  --token-file "$TEST_TMP/empty-token"
run_kiln "$TEST_TMP/out" serve --listen 127.0.0.1:0 --db "mysql://x"
is "a store url of no known kind: exit 64" "$rc" 64

start_serve "$TEST_TMP/serve" --db "sqlite:$TEST_TMP/line.db"
port=${serve_url##*:}
refused "an address in use" 2 \
  "cannot listen on 127\.0\.0\.1:$port: Address already in use" \
  --listen "127.0.0.1:$port"
http GET "$serve_url/api/v1/runs"
is "the server that holds the address still answers" "$status" 200
kill -TERM "$serve_pid"
wait "$serve_pid"

run_kiln "$TEST_TMP/out" serve --help
is "--help: exit 0" "$rc" 0
like "--help names kiln serve's options" "$TEST_TMP/out" \
  '^  --token-file F +uploads must carry this bearer token'
done_testing
