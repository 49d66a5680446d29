#!/bin/sh
# SIGHUP (the operator's ssh session drops) must not end a burn-in: the run
# goes on to its end without its terminal, the reports say so and are
# complete. The terminal is a real pseudo-terminal that hangs up (its
# master is closed), once under the line log and once under the dashboard;
# then a plain SIGHUP with the log going to a file, which goes on there.
. tests/e2e/lib.sh
plan 27
P="$FIXTURES/profiles/fast.ini"
ARGS="--profile $P --skip dram.bandwidth --duration 3s"

# hangup.py RCFILE KILN ARGS...: runs kiln as the session leader of a new
# pseudo-terminal, hangs the terminal up once a step runs, and writes
# kiln's exit code (128 + signal when a signal ended it) to RCFILE.
cat >"$TEST_TMP/hangup.py" <<'PY'
import fcntl, os, pty, select, struct, subprocess, sys, termios, time
rcfile, argv = sys.argv[1], sys.argv[2:]
master, slave = pty.openpty()
fcntl.ioctl(master, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
def take_terminal():
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)
kiln = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave,
                        start_new_session=True, preexec_fn=take_terminal,
                        env=dict(os.environ, TERM="xterm"))
os.close(slave)
def step_runs():
    out = subprocess.run(["ps", "-o", "comm=", "--ppid", str(kiln.pid)],
                         capture_output=True, text=True).stdout
    return "kiln/cpu.comput" in out.split()
deadline = time.time() + 20
seen = 0
while time.time() < deadline:
    if select.select([master], [], [], 0.1)[0]:
        try:
            os.read(master, 65536)  # a terminal that nobody reads blocks
        except OSError:
            break
    if step_runs():
        seen += 1
        if seen == 5:  # half a second into the step
            break
os.close(master)  # the terminal hangs up: SIGHUP to its session leader
rc = kiln.wait(timeout=120)
open(rcfile, "w").write(str(rc if rc >= 0 else 128 - rc))
PY

for how in log dashboard; do
  d="$TEST_TMP/$how"
  ui=--no-tui
  [ "$how" = dashboard ] && ui=--tui
  # shellcheck disable=SC2086
  "$PYTHON" "$TEST_TMP/hangup.py" "$TEST_TMP/$how.rc" "$KILN" run $ARGS $ui \
    --report-dir "$d"
  is "$how: the terminal hung up, the run went on: exit 0" \
    "$(cat "$TEST_TMP/$how.rc")" 0
  like "$how: the OCP stream has the warning" "$d/ocp.jsonl" \
    '"severity":"WARNING","message":"SIGHUP: the terminal hung up; the run goes on to its end without it"'
  like "$how: summary.txt has the warning" "$d/summary.txt" \
    "SIGHUP: the terminal hung up"
  like "$how: the step that was running when it hung up passed" "$d/results.tap" \
    "^ok [0-9]+ - cpu.compute"
  like "$how: the run's record ends (testRunEnd)" "$d/ocp.jsonl" \
    '"testRunEnd":\{"status":"COMPLETE","result":"PASS"\}'
  check_reports "$d" pass
done

# A plain SIGHUP, the log going to a file: the log goes on there.
d="$TEST_TMP/file"
# shellcheck disable=SC2086
"$KILN" run $ARGS --report-dir "$d" >"$TEST_TMP/file.out" 2>&1 &
pid=$!
for _ in $(seq 1 150); do
  ps -o comm= --ppid "$pid" | grep -qx kiln/cpu.comput && break
  sleep 0.1
done
sleep 0.5
kill -HUP "$pid"
rc=0
wait "$pid" || rc=$?
is "SIGHUP, log to a file: exit 0" "$rc" 0
like "SIGHUP, log to a file: the log goes on to the last line" "$TEST_TMP/file.out" \
  "^verdict: PASS \(exit 0\); reports in $d$"
check_reports "$d" pass
done_testing
