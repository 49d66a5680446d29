#!/bin/sh
# kiln serve's run list a page at a time: 503 runs stored (pairs of them
# started in the same millisecond, one with no start yet), GET
# /api/v1/runs gives the newest 500 and says it was cut; paging with
# ?before= walks every run once in the list's order (computed here from
# what was uploaded), filters kept; a bad ?limit= or ?before= is a 400
# naming it.
. tests/e2e/lib.sh

STREAM=$FIXTURES/ocp/line-sdc.ocp.jsonl
RUNS=503
plan 15

start_serve "$TEST_TMP/serve" --db "sqlite:$TEST_TMP/line.db"
[ -n "$serve_url" ] || { sed 's/^/# /' "$TEST_TMP/serve"; }

# Run pNNN: the stream's first two lines (its testRunStart), started at
# second NNN/2 of 2020-01-01 (two runs a second: ties broken by id),
# serial SN-A for the even runs, SN-B for the odd; the last run sends line
# 0 only (no start: it is listed by when it was last seen, now, so first).
# Prints the expected order, newest first: "id serial started" a line.
"$PYTHON" - "$serve_url" "$STREAM" "$RUNS" >"$TEST_TMP/expected" \
  2>"$TEST_TMP/upload.err" <<'PY'
import json, sys, urllib.request
url, stream, runs = sys.argv[1], sys.argv[2], int(sys.argv[3])
head = [json.loads(l) for l in open(stream).read().split("\n")[:2]]
listed = []
for i in range(runs):
    rid = "p%03d" % i
    start = json.loads(json.dumps(head[1]))
    started = "2020-01-01T%02d:%02d:%02d.000Z" % (i // 2 // 3600, i // 2 // 60 % 60, i // 2 % 60)
    start["timestamp"] = started
    meta = start["testRunArtifact"]["testRunStart"]["dutInfo"]["metadata"]
    meta["serial"] = "SN-A" if i % 2 == 0 else "SN-B"
    lines = [head[0]] if i == runs - 1 else [head[0], start]
    body = "".join(json.dumps(l, separators=(",", ":")) + "\n" for l in lines)
    req = urllib.request.Request("%s/api/v1/runs/%s/ocp?first=0" % (url, rid),
                                 data=body.encode(), method="POST")
    urllib.request.urlopen(req).read()
    listed.append((started if i < runs - 1 else "now", rid, meta["serial"]))
for started, rid, serial in sorted(listed, key=lambda r: ("9" if r[0] == "now" else r[0], r[1]), reverse=True):
    print(rid, serial, started)
PY
is "the $RUNS runs uploaded" "$(wc -l <"$TEST_TMP/expected")" "$RUNS"
sed 's/^/# /' "$TEST_TMP/upload.err"

# walk QUERY: every page of /api/v1/runs?QUERY&before=..., one id a line
# into $TEST_TMP/walked, the page sizes and truncated flags into
# $TEST_TMP/pages; stops at a page not cut (or after 20).
walk() {
  : >"$TEST_TMP/walked"
  : >"$TEST_TMP/pages"
  before=
  for _ in $(seq 1 20); do
    http GET "$serve_url/api/v1/runs?$1${before:+&before=$before}"
    [ "$status" = 200 ] || { echo "HTTP $status" >>"$TEST_TMP/pages"; return; }
    json_get "$TEST_TMP/body" '"\n".join(r["id"] for r in j["runs"])' \
      >>"$TEST_TMP/walked"
    json_get "$TEST_TMP/body" \
      'str(len(j["runs"])) + " " + str(j["truncated"]) + " " + str(j.get("before"))' \
      >>"$TEST_TMP/pages"
    before=$(json_get "$TEST_TMP/body" 'j.get("before")')
    [ "$before" != null ] || return
  done
}

http GET "$serve_url/api/v1/runs"
is "GET /api/v1/runs: the newest 500, said to be cut, with where to go on" \
  "$(json_get "$TEST_TMP/body" 'len(j["runs"]), j["truncated"], j["before"]')" \
  "(500, True, '$(sed -n '500s/ .*//p' "$TEST_TMP/expected")')"
cut -d' ' -f1 "$TEST_TMP/expected" >"$TEST_TMP/order"
is "newest first, as uploaded" \
  "$(json_get "$TEST_TMP/body" '" ".join(r["id"] for r in j["runs"])')" \
  "$(head -n 500 "$TEST_TMP/order" | tr '\n' ' ' | sed 's/ $//')"

walk "limit=200"
is "pages of 200: 200, 200, 103, the last not cut" "$(cat "$TEST_TMP/pages")" \
  "200 True p303
200 True p103
103 False None"
check "paging walks every run once, in the list's order" \
  cmp "$TEST_TMP/walked" "$TEST_TMP/order"

since=2020-01-01T00:04:00.000Z
walk "limit=1&serial=SN-B&since=$since"
awk -v s="$since" '$2 == "SN-B" && $3 != "now" && $3 >= s { print $1 }' \
  "$TEST_TMP/expected" >"$TEST_TMP/order-b"
check "a page of one at a time keeps the filters: SN-B's runs since 00:04" \
  cmp "$TEST_TMP/walked" "$TEST_TMP/order-b"
is "11 runs, one a page, the last not cut" \
  "$(wc -l <"$TEST_TMP/pages") $(tail -n 1 "$TEST_TMP/pages")" "11 1 False None"

http GET "$serve_url/api/v1/runs?limit=5000"
is "?limit=5000: all $RUNS, not cut" \
  "$(json_get "$TEST_TMP/body" 'len(j["runs"]), j["truncated"], "before" in j')" \
  "($RUNS, False, False)"
http GET "$serve_url/api/v1/runs?limit=$RUNS"
is "?limit= the exact count: not cut" \
  "$(json_get "$TEST_TMP/body" 'len(j["runs"]), j["truncated"]')" "($RUNS, False)"

for bad in 0 5001 ten; do
  http GET "$serve_url/api/v1/runs?limit=$bad"
  is "?limit=$bad: 400 naming it" \
    "$status $(json_get "$TEST_TMP/body" 'j["error"]')" \
    "400 ?limit=$bad: not a count of 1 to 5000"
done
http GET "$serve_url/api/v1/runs?before=nope"
is "?before=nope: 400 naming it" \
  "$status $(json_get "$TEST_TMP/body" 'j["error"].split(":")[0]')" \
  "400 ?before=nope"
http GET "$serve_url/api/v1/runs?before=$(sed -n '1s/ .*//p' "$TEST_TMP/expected")&limit=5000"
is "before the newest run: all the others" \
  "$(json_get "$TEST_TMP/body" 'len(j["runs"]), j["truncated"]')" "($((RUNS - 1)), False)"

kill -TERM "$serve_pid"
src=0
wait "$serve_pid" || src=$?
is "kiln serve stops with exit 0" "$src" 0
done_testing
