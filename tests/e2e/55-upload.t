#!/bin/sh
# `kiln run --upload` and `kiln upload` into a real `kiln serve`: the stored
# stream equals the local ocp.jsonl byte for byte and the report files are
# stored; three DUTs at once; a directory sent twice is stored once; a
# refused token leaves the run's verdict alone and says so; bad input is one
# line and exit 64 before any step.
. tests/e2e/lib.sh
plan 39

# A short CPU profile whose monitors write telemetry.csv: all five files.
P=$FIXTURES/profiles/upload.ini
FILES="junit.xml results.tap summary.txt report.html telemetry.csv"

# run_id OUTFILE: the run id the upload's last word names.
run_id() {
  sed -n 's/^kiln: upload: .* sent to .* (run \([^)]*\))$/\1/p' "$1"
}

# stored_equals_local URL ID DIR: the stored stream and every report file
# of DIR are byte for byte the local ones; says which differ.
stored_equals_local() {
  sel_bad=0
  curl -sS -o "$TEST_TMP/stored" "$1/api/v1/runs/$2/ocp.jsonl" || sel_bad=1
  cmp "$TEST_TMP/stored" "$3/ocp.jsonl" || sel_bad=1
  for f in $FILES; do
    curl -sS -o "$TEST_TMP/stored" "$1/api/v1/runs/$2/files/$f" || sel_bad=1
    cmp "$TEST_TMP/stored" "$3/$f" || sel_bad=1
  done
  return $sel_bad
}

start_serve "$TEST_TMP/serve.out" --db "sqlite:$TEST_TMP/line.db"
[ -n "$serve_url" ] || sed 's/^/# /' "$TEST_TMP/serve.out"
url=$serve_url

# ---- one run, uploaded as it goes ----
d=$TEST_TMP/one
run_kiln "$TEST_TMP/one.out" run --profile "$P" --serial UP-ONE \
  --report-dir "$d" --upload "$url"
is "kiln run --upload: the verdict's exit 0" "$rc" 0
like "it says all was sent, with the run id" "$TEST_TMP/one.out" \
  "^kiln: upload: $(wc -l <"$d/ocp.jsonl") lines and 5 files sent to $url \(run [0-9TZ]+-[0-9a-f]{16}\)$"
is "the last line still states the exit code" "$(tail -n 1 "$TEST_TMP/one.out")" \
  "verdict: PASS (exit 0); reports in $d"
id=$(run_id "$TEST_TMP/one.out")
check "the stored stream and the five files equal the local ones" \
  stored_equals_local "$url" "$id" "$d"
http GET "$url/api/v1/runs/$id"
is "the server has the run's serial" "$(json_get "$TEST_TMP/body" 'j["serial"]')" \
  UP-ONE
is "the server has the run's verdict" \
  "$(json_get "$TEST_TMP/body" 'j["verdict"], j["exit_code"]')" "('PASS', 0)"
is "the server lists the five files" \
  "$(json_get "$TEST_TMP/body" 'sorted(f["name"] for f in j["files"])')" \
  "['junit.xml', 'report.html', 'results.tap', 'summary.txt', 'telemetry.csv']"

# ---- sent again with kiln upload, twice: stored once ----
lines=$(wc -l <"$d/ocp.jsonl")
for i in 1 2; do
  run_kiln "$TEST_TMP/again$i.out" upload "$d" "$url"
  is "kiln upload of a sent directory (#$i): exit 0" "$rc" 0
done
like "kiln upload names the same run" "$TEST_TMP/again2.out" \
  "^kiln: upload: $lines lines and 5 files sent to $url \(run $id\)$"
http GET "$url/api/v1/runs/$id"
is "stored once: ocp_lines equals the file's line count" \
  "$(json_get "$TEST_TMP/body" 'j["ocp_lines"], j["last_contiguous"]')" \
  "($lines, $((lines - 1)))"
http GET "$url/api/v1/runs?serial=UP-ONE"
is "one run of that serial" "$(json_get "$TEST_TMP/body" 'len(j["runs"])')" 1
check "still byte for byte the local one" stored_equals_local "$url" "$id" "$d"

# ---- three DUTs at once ----
for n in 1 2 3; do
  start_kiln "$TEST_TMP/dut$n.out" run --profile "$P" --serial "UP-DUT-$n" \
    --report-dir "$TEST_TMP/dut$n" --upload "$url"
  eval "dut_pid$n=\$pid"
done
for n in 1 2 3; do
  rc=0
  eval "wait \$dut_pid$n" || rc=$?
  is "DUT $n: exit 0" "$rc" 0
  id=$(run_id "$TEST_TMP/dut$n.out")
  check "DUT $n: stored complete, byte for byte" \
    stored_equals_local "$url" "$id" "$TEST_TMP/dut$n"
done

kill -TERM "$serve_pid"
wait "$serve_pid" 2>/dev/null

# ---- a token the server refuses ----
printf 'line-token\n' >"$TEST_TMP/token"
printf 'not-the-token\n' >"$TEST_TMP/wrong"
start_serve "$TEST_TMP/serve-tok.out" --db "sqlite:$TEST_TMP/tok.db" \
  --token-file "$TEST_TMP/token"
d=$TEST_TMP/wrong-token
run_kiln "$TEST_TMP/wrong.out" run --profile "$P" --only cpu.compute \
  --inject cpu.sdc --serial UP-TOKEN --report-dir "$d" --upload "$serve_url" \
  --upload-token-file "$TEST_TMP/wrong"
is "wrong token: the run exits with its verdict's code (FAIL, 1)" "$rc" 1
like "wrong token: it says the server refused the token and what is unsent" \
  "$TEST_TMP/wrong.out" \
  "^kiln: upload: $(wc -l <"$d/ocp.jsonl") lines and 4 files unsent to $serve_url \(the server refused the token \(HTTP 401.*; send them with: kiln upload --token-file $TEST_TMP/wrong $d $serve_url$"
is "wrong token: said once" "$(grep -c 'refused the token' "$TEST_TMP/wrong.out")" 1
is "wrong token: the last line states exit 1" \
  "$(tail -n 1 "$TEST_TMP/wrong.out")" "verdict: FAIL (exit 1); reports in $d"
run_kiln "$TEST_TMP/right.out" upload --token-file "$TEST_TMP/token" "$d" \
  "$serve_url"
is "the right token: kiln upload sends it (exit 0)" "$rc" 0
kill -TERM "$serve_pid"
wait "$serve_pid" 2>/dev/null

# ---- HTTPS to a server whose certificate is the line's own ----
if command -v certtool >/dev/null 2>&1; then
  printf 'cn = "127.0.0.1"\nip_address = "127.0.0.1"\nexpiration_days = 2\ntls_www_server\nsigning_key\nencryption_key\n' \
    >"$TEST_TMP/cert.cfg"
  certtool --generate-privkey --key-type ecdsa --outfile "$TEST_TMP/key.pem" \
    >/dev/null 2>&1
  certtool --generate-self-signed --load-privkey "$TEST_TMP/key.pem" \
    --template "$TEST_TMP/cert.cfg" --outfile "$TEST_TMP/cert.pem" \
    >/dev/null 2>&1
  start_serve "$TEST_TMP/serve-tls.out" --db "sqlite:$TEST_TMP/tls.db" \
    --tls-cert "$TEST_TMP/cert.pem" --tls-key "$TEST_TMP/key.pem"
  d=$TEST_TMP/tls-untrusted
  run_kiln "$TEST_TMP/tls-untrusted.out" run --profile "$P" --only cpu.compute \
    --serial UP-TLS --report-dir "$d" --upload "$serve_url" --upload-wait 3s
  is "https, its certificate not trusted: the verdict's exit 0" "$rc" 0
  like "https, not trusted: it says what is unsent, why, and the command" \
    "$TEST_TMP/tls-untrusted.out" \
    "^kiln: upload: $(wc -l <"$d/ocp.jsonl") lines and 4 files unsent to $serve_url \(.*certificate.*\); send them with: kiln upload $d $serve_url$"
  d=$TEST_TMP/tls
  run_kiln "$TEST_TMP/tls.out" run --profile "$P" --only cpu.compute \
    --serial UP-TLS --report-dir "$d" --upload "$serve_url" \
    --upload-ca-file "$TEST_TMP/cert.pem"
  id=$(run_id "$TEST_TMP/tls.out")
  curl -sS --cacert "$TEST_TMP/cert.pem" -o "$TEST_TMP/stored" \
    "$serve_url/api/v1/runs/$id/ocp.jsonl"
  ok "$([ -n "$id" ] && cmp -s "$TEST_TMP/stored" "$d/ocp.jsonl" && echo 0 || echo 1)" \
    "--upload-ca-file: sent over https, stored equals local"
  run_kiln "$TEST_TMP/tls-again.out" upload --ca-file "$TEST_TMP/cert.pem" \
    "$TEST_TMP/tls-untrusted" "$serve_url"
  is "kiln upload --ca-file completes the untrusted one (exit 0)" "$rc" 0
  kill -TERM "$serve_pid"
  wait "$serve_pid" 2>/dev/null
else
  for _ in 1 2 3 4; do skip "certtool is not installed (Debian: gnutls-bin)"; done
fi

# ---- bad input: one line, before any step ----
d=$TEST_TMP/bad
run_kiln "$TEST_TMP/bad-url.out" run --profile "$P" --report-dir "$d" \
  --upload "ftp://line:8470"
is "--upload ftp://...: exit 64" "$rc" 64
is "--upload ftp://...: one line naming the URL" \
  "$(cat "$TEST_TMP/bad-url.out")" \
  "kiln: --upload 'ftp://line:8470': the server's URL starts with http:// or https://"
run_kiln "$TEST_TMP/no-token.out" run --profile "$P" --report-dir "$d" \
  --upload "$url" --upload-token-file "$TEST_TMP/missing"
is "a missing token file: exit 64" "$rc" 64
like "a missing token file: one line naming it" "$TEST_TMP/no-token.out" \
  "^kiln: --upload-token-file $TEST_TMP/missing: .*No such file"
is "a missing token file: one line" "$(wc -l <"$TEST_TMP/no-token.out")" 1
ok "$([ ! -e "$d" ] && echo 0 || echo 1)" "no report directory: no step ran"
run_kiln "$TEST_TMP/bad-ca.out" run --profile "$P" --report-dir "$d" \
  --upload "$url" --upload-ca-file "$P"
is "a CA file holding no certificate: exit 64" "$rc" 64
is "... one line naming it" "$(cat "$TEST_TMP/bad-ca.out")" \
  "kiln: --upload-ca-file $P: no PEM certificate in it (-----BEGIN CERTIFICATE-----)"
ok "$([ ! -e "$d" ] && echo 0 || echo 1)" "a bad CA file: no step ran"
mkdir "$TEST_TMP/empty"
run_kiln "$TEST_TMP/no-ocp.out" upload "$TEST_TMP/empty" "$url"
is "kiln upload of a DIR without ocp.jsonl: exit 64" "$rc" 64
is "... one line naming it" "$(cat "$TEST_TMP/no-ocp.out")" \
  "kiln: upload: $TEST_TMP/empty: not a report directory (no ocp.jsonl)"
done_testing
