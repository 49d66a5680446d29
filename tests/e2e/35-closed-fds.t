#!/bin/sh
# kiln started with stdout (or all of fds 0-2) closed: the first file it
# opens must not become its stdout, so the log never lands in ocp.jsonl.
. tests/e2e/lib.sh
plan 14
P="$FIXTURES/profiles/fast.ini"
ARGS="--profile $P --only cpu.compute"

d="$TEST_TMP/stdout"
rc=0
# shellcheck disable=SC2086
"$KILN" run $ARGS --report-dir "$d" >&- 2>"$TEST_TMP/stdout.err" || rc=$?
is "stdout closed: exit 0" "$rc" 0
ok "$(grep -q '^verdict:\|\] start ' "$d/ocp.jsonl" && echo 1 || echo 0)" \
  "stdout closed: no log line in ocp.jsonl"
check_reports "$d" pass

d="$TEST_TMP/all"
rc=0
# shellcheck disable=SC2086
"$KILN" run $ARGS --report-dir "$d" <&- >&- 2>&- || rc=$?
is "fds 0-2 closed: exit 0" "$rc" 0
ok "$(grep -q '^verdict:\|\] start ' "$d/ocp.jsonl" && echo 1 || echo 0)" \
  "fds 0-2 closed: no log line in ocp.jsonl"
check_reports "$d" pass
done_testing
