#!/bin/sh
# kiln serve's /metrics in Prometheus text format, parsed line by line
# (each sample `name{labels} value`, each metric with its TYPE), and its
# values checked against what the test uploaded: a finished run (FAIL) and
# one in progress, then the second finished too.
. tests/e2e/lib.sh

STREAM=$FIXTURES/ocp/line-sdc.ocp.jsonl
LINES=$(wc -l <"$STREAM")
plan 14

# metrics: GET /metrics parsed into $TEST_TMP/samples, one "name{labels}
# value" a line, labels as written; fails naming a line that is not the
# text format.
metrics() {
  http GET "$serve_url/metrics"
  "$PYTHON" - "$TEST_TMP/body" >"$TEST_TMP/samples" 2>"$TEST_TMP/parse" <<'PY'
import re, sys
name = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
label = r'[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\["\\n])*"'
sample = re.compile(r"^(%s)(\{%s(?:,%s)*\})? (-?[0-9.]+(?:[eE][-+]?[0-9]+)?|NaN|[-+]Inf)$" % (name, label, label))
typed = set()
for n, line in enumerate(open(sys.argv[1]).read().split("\n")[:-1], 1):
    m = re.match(r"^# (HELP|TYPE) (%s) (.+)$" % name, line)
    if m:
        if m.group(1) == "TYPE":
            assert m.group(3) in ("gauge", "counter"), "line %d: %s" % (n, line)
            typed.add(m.group(2))
        continue
    m = sample.match(line)
    assert m, "line %d is not a sample: %r" % (n, line)
    assert m.group(1) in typed, "line %d: %s has no TYPE before it" % (n, m.group(1))
    print("%s%s %s" % (m.group(1), m.group(2) or "", m.group(3)))
PY
}

# value SAMPLE: its value in the last parse ("absent" when not there).
value() {
  awk -v k="$1" '$1 == k { print $2; f = 1 } END { if (!f) print "absent" }' \
    "$TEST_TMP/samples"
}

start_serve "$TEST_TMP/serve" --db "sqlite:$TEST_TMP/line.db"
post_lines "$serve_url" "done" "$STREAM" 0 "$LINES"
post_lines "$serve_url" live "$STREAM" 0 100
metrics
check "/metrics parses as the text format, line by line" test ! -s "$TEST_TMP/parse"
sed 's/^/# /' "$TEST_TMP/parse"
is "one run in progress" "$(value kiln_runs_in_progress)" 1
is "runs by verdict: the finished one is a FAIL" \
  "$(for v in PASS SKIP FAIL ERROR ABORTED; do value "kiln_runs_total{verdict=\"$v\"}"; done | tr '\n' ' ')" \
  "0 0 1 0 0 "
is "every OCP line received is counted" \
  "$(value kiln_ocp_lines_received_total)" $((LINES + 100))
is "the schema version" "$(value kiln_store_schema_version)" 1
lag=$(value 'kiln_upload_lag_seconds{run="live"}')
ok "$(awk -v l="$lag" 'BEGIN { exit !(l != "absent" && l >= 0 && l < 60) }' && echo 0 || echo 1)" \
  "the run in progress has its upload lag ($lag s)"
is "the finished run has none" "$(value 'kiln_upload_lag_seconds{run="done"}')" absent

sleep 1.2
metrics
lag2=$(value 'kiln_upload_lag_seconds{run="live"}')
ok "$(awk -v a="$lag" -v b="$lag2" 'BEGIN { exit !(b >= a + 1) }' && echo 0 || echo 1)" \
  "the lag grows while nothing comes ($lag s, then $lag2 s)"

post_lines "$serve_url" live "$STREAM" 100 "$LINES"
metrics
check "/metrics still parses" test ! -s "$TEST_TMP/parse"
is "no run in progress once both ended" "$(value kiln_runs_in_progress)" 0
is "two FAILs" "$(value 'kiln_runs_total{verdict="FAIL"}')" 2
is "no lag series for ended runs" "$(grep -c '^kiln_upload_lag_seconds' "$TEST_TMP/samples")" 0
is "the lines of both streams" "$(value kiln_ocp_lines_received_total)" $((2 * LINES))
kill -TERM "$serve_pid"
src=0
wait "$serve_pid" || src=$?
is "kiln serve stops with exit 0" "$src" 0
done_testing
