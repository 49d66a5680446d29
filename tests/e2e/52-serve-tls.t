#!/bin/sh
# kiln serve over HTTPS: a self-signed certificate made by certtool in the
# test's directory; curl trusting only it uploads a batch and reads it
# back; plain HTTP to the HTTPS port gets no reply; a certificate that is
# not one is refused in one line before anything listens or the store
# is made.
. tests/e2e/lib.sh

if ! command -v certtool >/dev/null 2>&1; then
  echo "1..0 # SKIP certtool is not installed (Debian: gnutls-bin)"
  exit 0
fi
STREAM=$FIXTURES/ocp/line-sdc.ocp.jsonl
plan 9

cat >"$TEST_TMP/cert.cfg" <<'CFG'
cn = "127.0.0.1"
ip_address = "127.0.0.1"
expiration_days = 2
tls_www_server
signing_key
encryption_key
CFG
certtool --generate-privkey --key-type ecdsa --outfile "$TEST_TMP/key.pem" \
  >/dev/null 2>&1
certtool --generate-self-signed --load-privkey "$TEST_TMP/key.pem" \
  --template "$TEST_TMP/cert.cfg" --outfile "$TEST_TMP/cert.pem" \
  >"$TEST_TMP/certtool.log" 2>&1
check "certtool made a self-signed certificate" test -s "$TEST_TMP/cert.pem"

start_serve "$TEST_TMP/serve" --db "sqlite:$TEST_TMP/line.db" \
  --tls-cert "$TEST_TMP/cert.pem" --tls-key "$TEST_TMP/key.pem"
like "kiln serve says it listens on https" "$TEST_TMP/serve" \
  '^kiln serve: listening on https://127\.0\.0\.1:[0-9]+ \(store sqlite:'
post_lines "$serve_url" tls "$STREAM" 0 50 --cacert "$TEST_TMP/cert.pem"
is "a batch uploads over https" \
  "$status $(json_get "$TEST_TMP/body" 'j["last_contiguous"]')" "200 49"
http GET "$serve_url/api/v1/runs/tls/ocp.jsonl" --cacert "$TEST_TMP/cert.pem"
sed -n 1,50p "$STREAM" >"$TEST_TMP/want"
check "and reads back as sent" cmp "$TEST_TMP/body" "$TEST_TMP/want"
http GET "$serve_url/api/v1/runs/tls"
ok "$([ "$status" = 000 ] && echo 0 || echo 1)" \
  "curl without the certificate is refused by TLS (got $status)"
http GET "$(echo "$serve_url" | sed 's/^https/http/')/api/v1/runs/tls"
ok "$([ "$status" != 200 ] && echo 0 || echo 1)" \
  "plain HTTP to the HTTPS port gets no run (got $status)"
kill -TERM "$serve_pid"
wait "$serve_pid"

rc=0
"$KILN" serve --listen 127.0.0.1:0 --db "sqlite:$TEST_TMP/other.db" \
  --tls-cert "$TEST_TMP/cert.cfg" --tls-key "$TEST_TMP/key.pem" \
  >"$TEST_TMP/bad" 2>&1 || rc=$?
is "a certificate that is not one: exit 2" "$rc" 2
is "in one line naming it, before listening" \
  "$(wc -l <"$TEST_TMP/bad") $(grep -c "cert.cfg" "$TEST_TMP/bad")" "1 1"
sed 's/^/# /' "$TEST_TMP/bad"
check "and before the store is made" test ! -e "$TEST_TMP/other.db"
done_testing
