#!/bin/sh
# `kiln fleet` on a real 4-node Slurm (../shared/tools/minicluster): a
# healthy fleet merges into one valid JUnit of 4 nodes; a node that FAILs
# (--inject cpu.sdc on n2 by a --kiln wrapper) makes exit 1 naming n2 and
# the core; a node's kiln SIGKILLed mid-run is lost with Slurm's reason
# while the others are judged; scancel and Ctrl-C end every node ABORTED
# with its reports, exit 2; submit and status; bad input is one line and
# exit 64 before anything is submitted.
. tests/e2e/lib.sh

MC=$SHARED/tools/minicluster
if [ ! -x "$MC" ]; then
  echo "1..0 # SKIP $MC not found (set KILN_SHARED)"
  exit 0
elif [ "$(id -u)" -ne 0 ]; then
  echo "1..0 # SKIP the minicluster needs root"
  exit 0
elif ! command -v slurmd >/dev/null 2>&1 || ! command -v srun >/dev/null 2>&1; then
  echo "1..0 # SKIP slurm is not installed (Debian: slurmctld slurmd slurm-client munge)"
  exit 0
fi
plan 44

KILN_ABS=$(realpath "$KILN")
CLUSTER=$TEST_TMP/cluster
# A port range of this test's own (another test may run a cluster too).
export MC_PORT=$((20000 + ($$ % 4000) * 8))
trap '"$MC" down "$CLUSTER" >/dev/null 2>&1; rm -rf "$TEST_TMP"' EXIT
chmod 755 "$TEST_TMP" # munged's socket directory must be searchable by all
if ! "$MC" up 4 "$CLUSTER" >"$TEST_TMP/mc.out" 2>&1; then
  sed 's/^/# /' "$TEST_TMP/mc.out"
  echo "Bail out! the minicluster did not come up"
  exit 1
fi
. "$CLUSTER/env.sh"
RUN="--only cpu.compute --duration 2s"

# wait_for FILE REGEX [SECONDS]: until FILE has a line matching REGEX.
wait_for() {
  for _ in $(seq 1 $((${3:-30} * 10))); do
    grep -Eq -- "$2" "$1" 2>/dev/null && return 0
    sleep 0.1
  done
  return 1
}

# ---- healthy ----
D=$TEST_TMP/healthy
run_kiln "$TEST_TMP/healthy.out" fleet run -N 4 --fleet-dir "$D" -- $RUN
is "healthy fleet: exit 0" "$rc" 0
check "merged junit.xml validates against junit-10.xsd" \
  xmllint --noout --schema "$SHARED/schemas/junit-10.xsd" "$D/junit.xml"
nodes_in_junit=0
for n in n1 n2 n3 n4; do
  grep -q "$n" "$D/junit.xml" && nodes_in_junit=$((nodes_in_junit + 1))
done
is "merged junit.xml holds the 4 nodes" "$nodes_in_junit" 4
is "merged junit.xml holds a testcase per node" \
  "$(grep -c '<testcase' "$D/junit.xml")" 4
like "each node's line says it is done, PASS" "$TEST_TMP/healthy.out" \
  '^\[ *[0-9.]+s\] n4 +done +- +verdict PASS$'
like "a node's line said its running step" "$TEST_TMP/healthy.out" \
  '^\[ *[0-9.]+s\] n1 +running +cpu\.compute'
is "the last line states the exit code" "$(tail -n 1 "$TEST_TMP/healthy.out")" \
  "verdict: PASS (exit 0); merged reports in $D"
check "summary.txt, report.html and results.tap merged" \
  test -s "$D/summary.txt" -a -s "$D/report.html" -a -s "$D/results.tap"
job=$(sed -n 's/^\[ *[0-9.]*s\] job \([0-9]*\) on .*/\1/p' "$TEST_TMP/healthy.out")
run_kiln "$TEST_TMP/status.out" fleet status "$job"
is "kiln fleet status JOBID of the ended job: its exit 0" "$rc" 0
is "status shows the 4 nodes done" \
  "$(grep -Ec '^n[1-4] +done +- +verdict PASS$' "$TEST_TMP/status.out")" 4
like "status ends with the merge's exit" "$TEST_TMP/status.out" \
  "^merged: exit 0; reports in $D\$"

# ---- one node FAILs: a --kiln wrapper injects cpu.sdc on n2 ----
W=$TEST_TMP/kiln-wrapper
cat >"$W" <<EOF
#!/bin/sh
# kiln on the nodes, SDC injected on n2, its pid kept (exec keeps it)
echo \$\$ >"$TEST_TMP/pid.\$SLURMD_NODENAME"
[ "\$SLURMD_NODENAME" = n2 ] && set -- "\$@" --inject cpu.sdc
exec "$KILN_ABS" "\$@"
EOF
chmod +x "$W"
D=$TEST_TMP/sdc
run_kiln "$TEST_TMP/sdc.out" fleet run -N 4 --kiln "$W" --fleet-dir "$D" -- $RUN
is "one node FAILs: exit 1" "$rc" 1
like "n2's line says FAIL" "$TEST_TMP/sdc.out" '^\[ *[0-9.]+s\] n2 +done +- +verdict FAIL$'
like "n1's line says PASS" "$TEST_TMP/sdc.out" '^\[ *[0-9.]+s\] n1 +done +- +verdict PASS$'
like "summary.txt names n2 and the core in a FAIL" "$D/summary.txt" \
  'n2.*cpu[0-9]+|cpu[0-9]+.*n2'
like "junit.xml has n2's failure naming the core" "$D/junit.xml" 'cpu[0-9]+'
check "the merged junit.xml still validates" \
  xmllint --noout --schema "$SHARED/schemas/junit-10.xsd" "$D/junit.xml"

# ---- n2's kiln SIGKILLed mid-run ----
D=$TEST_TMP/killed
rm -f "$TEST_TMP"/pid.*
cat >"$W" <<EOF
#!/bin/sh
echo \$\$ >"$TEST_TMP/pid.\$SLURMD_NODENAME"
exec "$KILN_ABS" "\$@"
EOF
start_kiln "$TEST_TMP/killed.out" fleet run -N 4 --kiln "$W" --fleet-dir "$D" \
  -- --only cpu.compute --duration 8s
fleet_pid=$pid
wait_for "$TEST_TMP/killed.out" '\] n2 +running +cpu\.compute'
victim=$(cat "$TEST_TMP/pid.n2" 2>/dev/null)
is "n2's task is the kiln this test started" \
  "$(ps -o comm= -p "${victim:-0}" 2>/dev/null)" kiln
[ -n "$victim" ] && kill -KILL "$victim"
wait "$fleet_pid"
rc=$?
is "a node lost: exit 2" "$rc" 2
like "n2 is lost with Slurm's reason" "$TEST_TMP/killed.out" \
  '\] n2 +lost +no complete report from n2: srun: n2: task [0-9]+: Killed'
judged=$(grep -Ec '\] n[134] +done +- +verdict PASS$' "$TEST_TMP/killed.out")
is "the other three are judged PASS" "$judged" 3
like "summary.txt has n2 as an ERROR with the reason" "$D/summary.txt" \
  'n2.*Killed'
check "the merged junit.xml validates" \
  xmllint --noout --schema "$SHARED/schemas/junit-10.xsd" "$D/junit.xml"

# aborted_everywhere DIR: every node's record ends ABORTED, reports written.
aborted_everywhere() {
  for n in n1 n2 n3 n4; do
    grep -q '"run-aborted"' "$1/$n/ocp.jsonl" &&
      tail -n 1 "$1/$n/ocp.jsonl" | grep -q '"testRunEnd"' || {
      echo "$n: $(tail -n 1 "$1/$n/ocp.jsonl")"
      return 1
    }
    [ -s "$1/$n/junit.xml" ] || { echo "$n: no junit.xml" && return 1; }
  done
}

# ---- scancel from elsewhere ----
D=$TEST_TMP/scancel
start_kiln "$TEST_TMP/scancel.out" fleet run -N 4 --fleet-dir "$D" \
  -- --only cpu.compute --duration 60s
fleet_pid=$pid
running=0
for _ in $(seq 1 300); do
  running=$(grep -Ec '\] n[1-4] +running +cpu\.compute' "$TEST_TMP/scancel.out")
  [ "$running" -ge 4 ] && break
  sleep 0.1
done
job=$(sed -n 's/^\[ *[0-9.]*s\] job \([0-9]*\) on .*/\1/p' "$TEST_TMP/scancel.out")
t0=$(date +%s)
scancel "$job"
wait "$fleet_pid"
rc=$?
is "scancel mid-run: exit 2" "$rc" 2
check "every node's run ended ABORTED with its reports" aborted_everywhere "$D"
is "every node's line says ABORTED" \
  "$(grep -Ec '\] n[1-4] +done +- +verdict ABORTED$' "$TEST_TMP/scancel.out")" 4
ok "$([ $(($(date +%s) - t0)) -lt 15 ] && echo 0 || echo 1)" \
  "it ended within KillWait and the merge"
like "the merge shows ABORTED" "$TEST_TMP/scancel.out" \
  "^verdict: ABORTED \(exit 2\); merged reports in $D\$"
# Slurm signals every process of the step, kiln's step workers too: a
# worker stopped so is ABORTED like its run, never a crash (ERROR).
like "every node's step ABORTED, none an ERROR" "$D/summary.txt" \
  "verdict  ABORTED \(exit 2\): 4 aborted\$"

# ---- Ctrl-C (SIGINT) on kiln fleet run ----
D=$TEST_TMP/sigint
start_kiln "$TEST_TMP/sigint.out" fleet run -N 4 --fleet-dir "$D" \
  -- --only cpu.compute --duration 60s
fleet_pid=$pid
for _ in $(seq 1 300); do
  [ "$(grep -Ec '\] n[1-4] +running +cpu\.compute' "$TEST_TMP/sigint.out")" -ge 4 ] && break
  sleep 0.1
done
kill -INT "$fleet_pid"
wait "$fleet_pid"
rc=$?
is "Ctrl-C mid-run: exit 2" "$rc" 2
check "every node's run ended ABORTED with its reports" aborted_everywhere "$D"
like "the merge is there" "$TEST_TMP/sigint.out" \
  "^verdict: ABORTED \(exit 2\); merged reports in $D\$"

# ---- submit, then status ----
D=$TEST_TMP/submitted
run_kiln "$TEST_TMP/submit.out" fleet submit -N 4 --fleet-dir "$D" -- $RUN
is "kiln fleet submit: exit 0" "$rc" 0
job=$(grep -E '^[0-9]+$' "$TEST_TMP/submit.out")
like "it prints the job id" "$TEST_TMP/submit.out" '^[0-9]+$'
for _ in $(seq 1 300); do
  [ -s "$D/slurm/exit" ] && break
  sleep 0.1
done
sleep 0.5
run_kiln "$TEST_TMP/status2.out" fleet status "$job"
is "status of the submitted job once ended: exit 0" "$rc" 0
is "status shows its 4 nodes done" \
  "$(grep -Ec '^n[1-4] +done +- +verdict PASS$' "$TEST_TMP/status2.out")" 4

# ---- bad input: one line, exit 64, nothing submitted ----
bad() { # bad DESCRIPTION ARGS...
  bd=$1
  shift
  rc=0
  "$@" >"$TEST_TMP/bad.out" 2>&1 || rc=$?
  ok "$([ "$rc" -eq 64 ] && [ "$(wc -l <"$TEST_TMP/bad.out")" -eq 1 ] && echo 0 || echo 1)" \
    "$bd: one line, exit 64"
  [ "$rc" -eq 64 ] || sed 's/^/# /' "$TEST_TMP/bad.out"
}
D=$TEST_TMP/bad
bad "an unknown option" "$KILN" fleet run --bogus --fleet-dir "$D" -- $RUN
bad "no srun on PATH" env PATH=/nonexistent "$KILN_ABS" fleet run \
  --fleet-dir "$D" -- $RUN
: >"$TEST_TMP/not-a-program"
chmod 644 "$TEST_TMP/not-a-program"
bad "--kiln not executable" "$KILN" fleet run --kiln "$TEST_TMP/not-a-program" \
  --fleet-dir "$D" -- $RUN
: >"$TEST_TMP/a-file"
bad "DIR not writable" "$KILN" fleet run --fleet-dir "$TEST_TMP/a-file/d" -- $RUN
bad "a word before --" "$KILN" fleet run --fleet-dir "$D" cpu.compute
ok "$([ ! -e "$D/slurm/srun.log" ] && echo 0 || echo 1)" "nothing was submitted"
run_kiln "$TEST_TMP/help.out" fleet --help
is "kiln fleet --help: exit 0" "$rc" 0
like "kiln fleet --help: the usage" "$TEST_TMP/help.out" '^ +kiln fleet run\|submit '

done_testing
