#!/bin/sh
# A BMC the operator asked for (--bmc HOST) that cannot be read is an ERROR
# of the thermal monitor naming the host and the cause, never a SKIP and a
# PASS: an unused loopback port (no answer) and ipmi_sim refusing wrong
# credentials. Without --bmc, no BMC stays a SKIP as before.
. tests/e2e/lib.sh
need_ipmi_sim
plan 19
P=$TEST_TMP/bmc.ini
cat >"$P" <<'INI'
[profile]
name = bmc-unreachable
duration = 1s
monitors = thermal
phase.1 = cpu.compute
INI
# No in-band BMC either: /dev/ipmi0 is looked for under $KILN_SYSROOT.
mkdir "$TEST_TMP/sysroot"
export KILN_SYSROOT=$TEST_TMP/sysroot

start_ipmi_sim
ok "$([ -n "$port" ] && echo 0 || echo 1)" "ipmi_sim is up on 127.0.0.1:$port"

# A UDP port on loopback that nothing listens on.
unused=$("$PYTHON" -c '
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])')
umask 077
printf 'user=kiln\npassword=kiln-sim-pass\n' >"$TEST_TMP/good.cred"
printf 'user=kiln\npassword=not-the-password\n' >"$TEST_TMP/wrong.cred"

d=$TEST_TMP/silent
run_kiln "$TEST_TMP/silent.out" run --profile "$P" \
  --bmc "127.0.0.1:$unused" --bmc-credentials "$TEST_TMP/good.cred" \
  --report-dir "$d"
is "--bmc on a port nothing answers: exit 2" "$rc" 2
like "thermal ERRORs naming the host and the cause" "$TEST_TMP/silent.out" \
  "ERROR +thermal: the BMC given with --bmc cannot be read: BMC 127\.0\.0\.1:$unused: connection timeout"
like "the last line states the exit code" "$TEST_TMP/silent.out" \
  "^verdict: ERROR \(exit 2\)"
check_reports "$d" fail

d=$TEST_TMP/wrong
run_kiln "$TEST_TMP/wrong.out" run --profile "$P" \
  --bmc "127.0.0.1:$port" --bmc-credentials "$TEST_TMP/wrong.cred" \
  --report-dir "$d"
is "--bmc with the wrong password: exit 2" "$rc" 2
like "thermal ERRORs: invalid password" "$d/results.tap" \
  "^not ok [0-9]+ - thermal$"
like "... naming the host and the cause" "$TEST_TMP/wrong.out" \
  "ERROR +thermal: the BMC given with --bmc cannot be read: BMC 127\.0\.0\.1:$port: invalid password"

d=$TEST_TMP/none
run_kiln "$TEST_TMP/none.out" run --profile "$P" --report-dir "$d"
ok "$(grep -q 'ERROR *thermal' "$TEST_TMP/none.out" && echo 1 || echo 0)" \
  "without --bmc, no BMC is no ERROR"
like "... the thermal step says there is no BMC" "$d/junit.xml" \
  "ipmi: no BMC: /dev/ipmi0 absent and no --bmc HOST given"
# The BMC is read in a thread of its own; the fans module still waits for
# its first readings before it decides whether there are fans at all.
cat >"$TEST_TMP/fans.ini" <<'INI'
[profile]
name = bmc-fans
duration = 3s
phase.1 = fans
INI
d=$TEST_TMP/fans
run_kiln "$TEST_TMP/fans.out" run --profile "$TEST_TMP/fans.ini" \
  --bmc "127.0.0.1:$port" --bmc-credentials "$TEST_TMP/good.cred" \
  --report-dir "$d"
is "fans on the BMC's sensors: exit 0" "$rc" 0
like "... it PASSes on the BMC's fans" "$d/results.tap" "^ok [0-9]+ - fans$"

# --bmc on a run that reads no BMC: said before any step, not ignored.
d=$TEST_TMP/nothermal
run_kiln "$TEST_TMP/nothermal.out" run --profile "$P" --only cpu.compute \
  --bmc "127.0.0.1:$port" --bmc-credentials "$TEST_TMP/good.cred" \
  --report-dir "$d"
is "--bmc with no step that reads it: exit 64" "$rc" 64
like "... one line naming the host and the fix" "$TEST_TMP/nothermal.out" \
  "^kiln: --bmc 127\.0\.0\.1:$port: no step of this run reads the BMC \(the thermal monitor or fans\): add \`monitors = thermal\` to the profile, or drop --bmc$"
ok "$([ ! -e "$d/ocp.jsonl" ] && echo 0 || echo 1)" "... and no report is started"
done_testing
