#!/bin/sh
# A node that dies mid-step leaves its steps' running figures: every stress
# module publishes them (kiln_emit_running) at least every publish_every
# (30 s by default; 1 s here), as OCP measurement series of its step. kiln
# is killed with SIGKILL mid-step; ocp.jsonl must already hold several
# interim figures of each running step and be a valid stream up to its
# missing end. A run that ends has the same figures, its series ended.
. tests/e2e/lib.sh
plan 16
P=$TEST_TMP/interim.ini
cat >"$P" <<'INI'
[profile]
name = interim
duration = 30s
publish_every = 1s
phase.1 = cpu.compute, dram.bandwidth, dram.patterns
[dram.bandwidth]
array_size = 4M
[dram.patterns]
mem = 4M
INI

# ---- every stress module publishes running figures ----
missing=
for f in $(grep -l '\.stress = true' stress/*.c); do
  loop=$f
  # gpu.power's loop lives in its host C judge.
  [ "$f" = stress/gpu_power.c ] && loop=stress/gpu_power_judge.c
  grep -q 'kiln_emit_running' "$loop" || missing="$missing $f"
done
is "every stress module calls kiln_emit_running" "$missing" ""

# ---- killed mid-step ----
d=$TEST_TMP/killed
"$KILN" run --profile "$P" --report-dir "$d" >"$TEST_TMP/killed.out" 2>&1 &
kiln=$!
sleep 5
kill -KILL "$kiln"
wait "$kiln" 2>/dev/null
# elements SERIES: how many elements of that series ocp.jsonl holds.
elements() {
  grep -c "\"measurementSeriesElement\":{[^}]*\"measurementSeriesId\":\"$1\"" \
    "$d/ocp.jsonl"
}
for s in cpu.compute/gflops dram.bandwidth/triad_gbps dram.patterns/errors; do
  n=$(elements "$s")
  ok "$([ "${n:-0}" -ge 3 ] && echo 0 || echo 1)" \
    "5 s into a 30 s step, $s has $n interim figures (1 a second)"
done
like "... each a series of its step, with its unit" "$d/ocp.jsonl" \
  '"measurementSeriesStart":\{"measurementSeriesId":"cpu.compute/gflops","name":"gflops \(cpu.compute, running\)","unit":"GFLOP/s"\}'
like "no step had ended" "$d/ocp.jsonl" '"testStepStart"'
ok "$(grep -q '"testStepEnd"' "$d/ocp.jsonl" && echo 1 || echo 0)" \
  "... none had (they were killed mid-step)"
if need_shared tools/ocp-validate 1; then
  "$SHARED/tools/ocp-validate" "$d/ocp.jsonl" >"$TEST_TMP/validate" 2>&1
  is "ocp.jsonl is a valid stream but for its missing end" \
    "$(sed 's/^[^:]*:[0-9]*: //' "$TEST_TMP/validate")" \
    "no testRunEnd: the run never finished"
fi

# ---- a run that ends: the figures are there, their series ended ----
d=$TEST_TMP/done
cat >"$TEST_TMP/limit.ini" <<'INI'
[profile]
name = interim-limit
duration = 3s
publish_every = 1s
phase.1 = cpu.compute
INI
run_kiln "$TEST_TMP/done.out" run --profile "$TEST_TMP/limit.ini" \
  --report-dir "$d"
is "a run with running figures: exit 0" "$rc" 0
like "its running figures were published" "$d/ocp.jsonl" \
  '"measurementSeriesElement":\{[^}]*"measurementSeriesId":"cpu.compute/gflops"'
like "... and their series ended" "$d/ocp.jsonl" \
  '"measurementSeriesEnd":\{"measurementSeriesId":"cpu.compute/gflops"'
check_reports "$d" pass
done_testing
