#!/bin/sh
# kiln serve refuses bad uploads with the right status and a one-line JSON
# reason naming the value, and keeps what was good: no or a wrong token,
# a garbage body, a bad line in a good batch (every good line kept),
# bodies over their bound, file names that are paths or unknown, unknown
# runs, wrong methods; a hostile serial comes back intact and escaped.
. tests/e2e/lib.sh

STREAM=$FIXTURES/ocp/line-sdc.ocp.jsonl
plan 36

# refused DESC STATUS REGEX: the last reply had STATUS and one line of JSON
# whose "error" matches REGEX.
refused() {
  got=$(json_get "$TEST_TMP/body" 'j["error"]')
  if [ "$status" = "$2" ] && [ "$(wc -l <"$TEST_TMP/body")" -eq 1 ] &&
    echo "$got" | grep -Eq -- "$3"; then
    ok 0 "$1"
  else
    ok 1 "$1"
    echo "#   got: $status $(cat "$TEST_TMP/body")"
    echo "#  want: $2 with an error matching $3"
  fi
}

printf 's3cret\n' >"$TEST_TMP/token"
AUTH="Authorization: Bearer s3cret"
start_serve "$TEST_TMP/serve" --db "sqlite:$TEST_TMP/line.db" \
  --token-file "$TEST_TMP/token" --max-body 4096 --max-file 8192
url=$serve_url
check "kiln serve listens" test -n "$url"

# The token.
post_lines "$url" r1 "$STREAM" 0 3
refused "no token: 401" 401 'Authorization: Bearer'
post_lines "$url" r1 "$STREAM" 0 3 -H "Authorization: Bearer wrong"
refused "a wrong token: 401" 401 'token is wrong'
http GET "$url/api/v1/runs/r1"
is "nothing refused was stored" "$status" 404
post_lines "$url" r1 "$STREAM" 0 3 -H "$AUTH"
is "the right token: 200" "$status" 200

# Bodies.
printf 'garbage\n' >"$TEST_TMP/garbage"
http POST "$url/api/v1/runs/r2/ocp?first=0" -H "$AUTH" \
  --data-binary @"$TEST_TMP/garbage"
refused "a garbage body: 400 naming its line" 400 \
  '^run r2: line 1 of the batch \(sequence 0\): not JSON'
{
  sed -n 1,4p "$STREAM"
  echo '{"sequenceNumber":4,'
  sed -n 6,10p "$STREAM"
} >"$TEST_TMP/bad5"
http POST "$url/api/v1/runs/r3/ocp?first=0" -H "$AUTH" \
  --data-binary @"$TEST_TMP/bad5"
refused "a bad line 5: 400 naming line 5" 400 'line 5 of the batch \(sequence 4\)'
is "the reply acknowledges lines 1-4, stores the 9 good ones, refuses 1" \
  "$(json_get "$TEST_TMP/body" 'j["last_contiguous"], j["stored"], j["refused"]')" \
  "(3, 9, 1)"
http GET "$url/api/v1/runs/r3/ocp.jsonl"
sed -n '1,4p;6,10p' "$STREAM" >"$TEST_TMP/good9"
check "lines 1-4 and 6-10 of the bad batch are stored" cmp "$TEST_TMP/body" \
  "$TEST_TMP/good9"
sed -n 5p "$STREAM" >"$TEST_TMP/line5"
http POST "$url/api/v1/runs/r3/ocp?first=4" -H "$AUTH" \
  --data-binary @"$TEST_TMP/line5"
is "the good line 5 closes the gap: lines 1-10 acknowledged" \
  "$status $(json_get "$TEST_TMP/body" 'j["last_contiguous"]')" "200 9"
sed -n 1,4p "$STREAM" >"$TEST_TMP/first4"
head -c 3000 "$STREAM" | head -n 3 >"$TEST_TMP/nonl"
printf '{"sequenceNumber":3' >>"$TEST_TMP/nonl"
http POST "$url/api/v1/runs/r4/ocp?first=0" -H "$AUTH" \
  --data-binary @"$TEST_TMP/nonl"
refused "a last line without its newline: 400 naming it, the lines before kept" \
  400 'line 4 of the batch \(sequence 3\): .*newline'
is "the lines before it are acknowledged" \
  "$(json_get "$TEST_TMP/body" 'j["last_contiguous"]')" 2
http POST "$url/api/v1/runs/r1/ocp" -H "$AUTH" --data-binary @"$TEST_TMP/first4"
refused "no ?first=: 400" 400 'first= missing'
http POST "$url/api/v1/runs/r1/ocp?first=-1" -H "$AUTH" \
  --data-binary @"$TEST_TMP/first4"
refused "?first=-1: 400 naming it" 400 'first=-1'

sed -n 1,40p "$STREAM" >"$TEST_TMP/big"
http POST "$url/api/v1/runs/r5/ocp?first=0" -H "$AUTH" \
  --data-binary @"$TEST_TMP/big"
refused "a batch over --max-body: 413" 413 'over the bound of 4096 \(--max-body\)'
http POST "$url/api/v1/runs/r5/ocp?first=0" -H "$AUTH" \
  -H "Transfer-Encoding: chunked" --data-binary @"$TEST_TMP/big"
refused "a chunked batch over --max-body: 413" 413 'over the bound of 4096'
http GET "$url/api/v1/runs/r5"
is "nothing of an oversized batch is stored" "$status" 404
head -c 9000 /dev/zero | tr '\0' x >"$TEST_TMP/bigfile"
http PUT "$url/api/v1/runs/r1/files/summary.txt" -H "$AUTH" \
  --data-binary @"$TEST_TMP/bigfile"
refused "a file over --max-file: 413" 413 'over the bound of 8192 \(--max-file\)'
http POST "$url/api/v1/runs/r1/ocp?first=0" --data-binary @"$TEST_TMP/big"
refused "an oversized upload without its token: 401 before its body" \
  401 'Authorization: Bearer'

# File names.
printf 'summary\n' >"$TEST_TMP/summary"
for name in ../x a%2Fb ocp.jsonl x.txt; do
  http PUT "$url/api/v1/runs/r1/files/$name" -H "$AUTH" --path-as-is \
    --data-binary @"$TEST_TMP/summary"
  shown=$(echo "$name" | sed 's,%2F,/,')
  refused "file name $shown: 400 naming it" 400 "file '?$(echo "$shown" | sed 's/\./\\./g')"
done
http GET "$url/api/v1/runs/r1"
is "no file was stored" "$(json_get "$TEST_TMP/body" 'j["files"]')" "[]"
http PUT "$url/api/v1/runs/r1/files/summary.txt" -H "$AUTH" \
  --data-binary @"$TEST_TMP/summary"
is "a known file: 200 with its size" \
  "$status $(json_get "$TEST_TMP/body" 'j["file"], j["size"]')" \
  "200 ('summary.txt', 8)"
http GET "$url/api/v1/runs/r1/files/summary.txt"
check "it comes back as sent" cmp "$TEST_TMP/body" "$TEST_TMP/summary"

# Unknown runs, paths, methods.
http GET "$url/api/v1/runs/nope"
refused "an unknown run: 404" 404 'no run nope'
http GET "$url/api/v1/runs/nope/ocp.jsonl"
refused "an unknown run's stream: 404" 404 'no run nope'
http PUT "$url/api/v1/runs/nope/files/summary.txt" -H "$AUTH" \
  --data-binary @"$TEST_TMP/summary"
refused "a file for an unknown run: 404" 404 'no run nope: send its OCP stream first'
http GET "$url/api/v1/nothing"
refused "an unknown path: 404" 404 'no such path: /api/v1/nothing'
http DELETE "$url/api/v1/runs/r1"
refused "a wrong method: 405" 405 'method DELETE is not allowed on /api/v1/runs/r1'
http GET "$url/api/v1/runs/r1/ocp"
refused "GET on the upload path: 405" 405 'only POST'

# The hostile serial.
"$PYTHON" - "$STREAM" "$TEST_TMP/hostile" <<'PY'
import json, sys
lines = open(sys.argv[1]).read().splitlines()
start = json.loads(lines[1])
dut = start["testRunArtifact"]["testRunStart"]["dutInfo"]
dut["dutInfoId"] = dut["metadata"]["serial"] = "A<&>\"'B\x01Z"
lines[1] = json.dumps(start, separators=(",", ":"))
open(sys.argv[2], "w").write("\n".join(lines[:3]) + "\n")
PY
http POST "$url/api/v1/runs/hostile/ocp?first=0" -H "$AUTH" \
  --data-binary @"$TEST_TMP/hostile"
is "the hostile serial's stream is taken" "$status" 200
http GET "$url/api/v1/runs/hostile"
is "the hostile serial comes back intact" \
  "$(json_get "$TEST_TMP/body" 'j["serial"] == "A<&>\"'"'"'B\x01Z"')" True
like "the hostile serial is escaped in the JSON" "$TEST_TMP/body" \
  '"serial":"A<&>\\"'"'"'B\\u0001Z"'
http GET "$url/api/v1/runs?serial=A%3C%26%3E%22%27B%01Z"
is "the runs of the hostile serial are found by it" \
  "$(json_get "$TEST_TMP/body" '[r["id"] for r in j["runs"]]')" "['hostile']"

kill -TERM "$serve_pid"
wait "$serve_pid"
done_testing
