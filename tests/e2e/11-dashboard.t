#!/bin/sh
# The ncurses dashboard, driven in tmux panes (send-keys) and read back
# with capture-pane: the header and step table, a progress bar moving, a
# FAIL row from an injected fault, the details of a step, the full log, a
# resize to 80x24, the telemetry panel's fans with sparklines (umockdev),
# `q` asking first and then aborting with every report complete (exit 2),
# a crashed step shown as ERROR while the rest goes on, and the ASCII and
# monochrome fallbacks. The dashboard is a sink like the reports: every
# run here must leave valid reports.
. tests/e2e/lib.sh
if ! command -v tmux >/dev/null 2>&1; then
  echo "1..0 # SKIP tmux is not installed"
  exit 0
fi
plan 67

KILN_ABS=$(cd "$(dirname "$KILN")" && pwd)/$(basename "$KILN")
UMD=$PWD/$FIXTURES/umockdev
SOCK=kiln-e2e-$$
cat >"$TEST_TMP/tmux.conf" <<'EOF'
set -g default-terminal screen
set -g status off
set -g remain-on-exit on
EOF
# A tmux server of this test's own, whatever the user runs.
tm() { tmux -L "$SOCK" -f "$TEST_TMP/tmux.conf" "$@"; }
trap 'tm kill-server >/dev/null 2>&1; rm -rf "$TEST_TMP"' EXIT

# start NAME COLS ROWS SCRIPT: runs the shell SCRIPT in a new session.
start() {
  printf '%s\n' "$4" >"$TEST_TMP/$1.sh"
  tm new-session -d -s "$1" -x "$2" -y "$3" "sh '$TEST_TMP/$1.sh'"
}
# screen NAME: the pane's text now, into $TEST_TMP/screen.
screen() { tm capture-pane -p -t "$1" >"$TEST_TMP/screen" 2>/dev/null; }
# wait_for NAME REGEX [SECONDS]: until a line of the pane matches.
wait_for() {
  n=$((${3:-20} * 5))
  while [ "$n" -gt 0 ]; do
    screen "$1"
    grep -Eq -- "$2" "$TEST_TMP/screen" && return 0
    sleep 0.2
    n=$((n - 1))
  done
  return 1
}
# shows DESCRIPTION NAME REGEX [SECONDS]: a test that the pane shows it.
shows() {
  if wait_for "$2" "$3" "${4:-20}"; then
    ok 0 "$1"
  else
    ok 1 "$1"
    echo "#  the pane never showed: $3"
    sed 's/^/#  | /' "$TEST_TMP/screen"
  fi
}
# wait_rc NAME [SECONDS]: kiln's exit status, once it has exited.
wait_rc() {
  n=$((${2:-60} * 5))
  while [ ! -s "$TEST_TMP/$1.rc" ] && [ "$n" -gt 0 ]; do
    sleep 0.2
    n=$((n - 1))
  done
  cat "$TEST_TMP/$1.rc" 2>/dev/null || echo "none (kiln did not exit)"
}
# pct NAME STEP: the percentage in the step's row.
pct() {
  screen "$1"
  grep -F -- "$2 " "$TEST_TMP/screen" |
    sed -n 's/.* \([0-9][0-9]*\)%.*/\1/p' | head -1
}

P=$TEST_TMP/dash.ini
cat >"$P" <<'INI'
[profile]
name = dash-test
duration = 6s
grace = 10s
hang_timeout = 5s
phase.1 = cpu.compute
phase.2 = dram.patterns
[cpu.compute]
gflops_per_core.min = 0.1
[dram.patterns]
mem = 64M
errors.max = 0
INI

# ---- a run with an injected fault: table, progress, FAIL, details ----
d=$TEST_TMP/sdc
serial=$(printf 'SN\033[2JX')
start sdc 120 40 "LC_ALL=C.UTF-8 '$KILN_ABS' run --tui --profile '$P' \
  --inject cpu.sdc --serial '$serial' --report-dir '$d'; echo \$? >'$TEST_TMP/sdc.rc'"
shows "the step table's heading" sdc "MODULE +TARGET +STATE +PROGRESS"
shows "cpu.compute runs on the host" sdc "cpu\.compute +host +running +[^ ]+ +[0-9]+%"
like "dram.patterns waits its phase" "$TEST_TMP/screen" \
  "dram\.patterns +host +pending"
like "the header names the profile" "$TEST_TMP/screen" "profile dash-test"
like "the header shows the serial with its escape byte escaped" \
  "$TEST_TMP/screen" 'serial SN\\x1b\[2JX'
like "the header counts elapsed time" "$TEST_TMP/screen" \
  "elapsed 0:00:0[0-9]"
like "the event pane is there" "$TEST_TMP/screen" "Events: diagnoses"
like "the footer lists the keys" "$TEST_TMP/screen" "Enter details +l log"
p1=$(pct sdc cpu.compute)
sleep 1.5
p2=$(pct sdc cpu.compute)
ok "$([ -n "$p1" ] && [ -n "$p2" ] && [ "$p1" != "$p2" ] && echo 0 || echo 1)" \
  "the progress bar moves ($p1% then $p2%)"
like "the bar is drawn in block characters" "$TEST_TMP/screen" \
  "running +█+"
shows "the silent data corruption is in the event pane, naming the CPU" sdc \
  "FAIL +cpu\.compute: cpu[0-9]+ computed a wrong"
shows "cpu.compute's row ends FAIL, marked" sdc \
  "^!!cpu\.compute +host +FAIL .*cpu[0-9]+ computed a wrong" 15
like "the header's verdict so far is FAIL" "$TEST_TMP/screen" "so far: FAIL"
tm capture-pane -e -p -t sdc >"$TEST_TMP/colour"
like "the FAIL row is in red" "$TEST_TMP/colour" \
  "(\[|;)(31|41)(;[0-9;]*)?m.*cpu\.compute|cpu\.compute.*(\[|;)41(;[0-9;]*)?m *FAIL"

tm send-keys -t sdc Up Enter
shows "Enter opens the step's details" sdc "Step details"
# Checks of a view wait for their own line: a capture may fall between
# two repaints.
shows "the details name the step and its verdict" sdc \
  "^cpu\.compute +FAIL"
shows "the details list the measurements with their limits" sdc \
  "gflops_per_core = [0-9.]+ GFLOP/s +limit x >= 0\.1 +on cpu[0-9]"
shows "the details list the diagnosis" sdc \
  "FAIL +\[ *[0-9.]+s\] cpu-sdc: cpu[0-9]+ computed a wrong"
shows "the details show the step's log" sdc "^Log \([0-9]+\)"
tm send-keys -t sdc Escape
shows "Esc goes back to the table" sdc "MODULE +TARGET +STATE"
tm send-keys -t sdc l
shows "l shows the full log" sdc "Full log: every step"
shows "the full log has the steps' starts and log lines" sdc \
  "start +cpu\.compute: phase 1"
tm send-keys -t sdc BSpace
shows "Backspace goes back to the table" sdc "MODULE +TARGET +STATE"

tm resize-window -t sdc -x 80 -y 24
shows "at 80x24 the table is still drawn" sdc "MODULE +TARGET +STATE"
shows "at 80x24 the header keeps the verdict so far" sdc "so far: FAIL"
shows "at 80x24 the FAIL row is still there" sdc "^!!cpu\.compute +host +FAIL"
shows "at 80x24 the events are still there" sdc "Events"
wide=$("$PYTHON" -c 'import sys
print(sum(len(l.rstrip("\n")) > 80 for l in open(sys.argv[1], encoding="utf-8")))' \
  "$TEST_TMP/screen")
is "at 80x24 no line is wider than 80" "$wide" 0
is "at 80x24 the screen has 24 lines" "$(wc -l <"$TEST_TMP/screen")" 24

is "a run with a FAIL exits 1" "$(wait_rc sdc 40)" 1
shows "the summary follows on the plain screen" sdc \
  "verdict: FAIL \(exit 1\); reports in"
check_reports "$d" fail

# ---- telemetry under umockdev, then q: ask, decline, ask, confirm ----
if ! command -v umockdev-run >/dev/null 2>&1; then
  for i in $(seq 18); do echo "ok $((t_count + i)) # SKIP umockdev-run missing"; done
  t_count=$((t_count + 18))
else
  T=$TEST_TMP/thermal.ini
  cat >"$T" <<'INI'
[profile]
name = dash-thermal
duration = 60s
grace = 10s
hang_timeout = 10s
monitors = thermal
phase.1 = cpu.compute
phase.2 = dram.patterns
[dram.patterns]
mem = 64M
INI
  d=$TEST_TMP/quit
  start quit 120 40 "LC_ALL=C.UTF-8 umockdev-run -d '$UMD/healthy.umockdev' -- \
    '$KILN_ABS' run --tui --profile '$T' --report-dir '$d'; echo \$? >'$TEST_TMP/quit.rc'"
  shows "the telemetry panel has the fans" quit "^Fans"
  shows "each fan has its RPM, its minimum and a sparkline" quit \
    "^SYS_FAN2 +[0-9]+ RPM +≥400 +[▁▂▃▄▅▆▇█]{3,}" 15
  shows "temperatures have their limit" quit \
    "^Package id 0 +52 C +≤100 +[▁▂▃▄▅▆▇█]+"
  shows "the thermal monitor is a row of the table" quit \
    "thermal +host +running +monitor"
  tm send-keys -t quit t
  shows "t lists every series by its full name" quit \
    "^SYS_FAN4 \(sensors/nct6798-isa-[0-9a-f]+/fan6\) +[0-9]+ RPM"
  tm send-keys -t quit Escape
  sleep 0.3
  tm send-keys -t quit q
  shows "q asks first" quit "Abort the run\? \(y/n\)"
  tm send-keys -t quit n
  sleep 1
  screen quit
  ok "$(grep -q 'Abort the run' "$TEST_TMP/screen" && echo 1 || echo 0)" \
    "n closes the question"
  like "and the run goes on" "$TEST_TMP/screen" "cpu\.compute +host +running"
  ok "$([ ! -s "$TEST_TMP/quit.rc" ] && echo 0 || echo 1)" "kiln has not exited"
  tm send-keys -t quit q
  shows "q asks again" quit "Abort the run\? \(y/n\)"
  tm send-keys -t quit y
  is "y aborts the run: exit 2" "$(wait_rc quit 30)" 2
  shows "the summary names the operator's quit" quit \
    "aborted +operator quit from the dashboard"
  check_reports "$d" fail
  like "the TAP report has cpu.compute ABORTED by the operator" \
    "$d/results.tap" "reason: \"aborted: operator quit from the dashboard\""
fi

# ---- a crashed step, ASCII and monochrome at 80x24 ----
C=$TEST_TMP/crash.ini
cat >"$C" <<'INI'
[profile]
name = dash-crash
duration = 5s
grace = 10s
hang_timeout = 5s
phase.1 = cpu.compute, dram.patterns
[dram.patterns]
mem = 64M
INI
d=$TEST_TMP/crash
start crash 80 24 "LC_ALL=C NO_COLOR=1 '$KILN_ABS' run --tui --profile '$C' \
  --inject step.crash:cpu.compute --report-dir '$d'; echo \$? >'$TEST_TMP/crash.rc'"
shows "the crashed step is ERROR, saying why" crash \
  "^! cpu\.compute +host +ERROR .*crashed: killed by signal 11"
shows "the other step goes on running" crash \
  "dram\.patterns +host +running +#+\.* +[0-9]+%"
shows "the crash is in the event pane" crash \
  "ERROR +cpu\.compute: crashed"
like "the verdict so far is ERROR" "$TEST_TMP/screen" "so far: ERROR"
LC_ALL=C grep -q "$(printf '[\200-\377]')" "$TEST_TMP/screen"
ok "$([ $? -ne 0 ] && echo 0 || echo 1)" \
  "outside a UTF-8 locale the screen is ASCII"
tm capture-pane -e -p -t crash >"$TEST_TMP/mono"
ok "$(grep -Eq '\[[0-9;]*3[0-7](;[0-9;]*)?m' "$TEST_TMP/mono" && echo 1 || echo 0)" \
  "NO_COLOR: no colour, attributes only"
is "a crash and no FAIL: exit 2" "$(wait_rc crash 30)" 2
like "the other step passed" "$d/results.tap" "^ok [0-9]+ - dram\.patterns$"
check_reports "$d" fail
done_testing
