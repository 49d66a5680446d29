#!/bin/sh
# One rounding rule for figures people read: a measurement that fails its
# limit reads the same, digit for digit, in the log, summary.txt,
# report.html, junit.xml and results.tap of one real run (four significant
# digits, as kiln_figure_text gives it), and beside its limit by the same
# rule; ocp.jsonl keeps the figure at full precision.
. tests/e2e/lib.sh
plan 7
P=$TEST_TMP/figures.ini
cat >"$P" <<'INI'
[profile]
name = figures
duration = 2s
phase.1 = cpu.compute
[cpu.compute]
gflops_per_core.min = 1000000000
INI
d=$TEST_TMP/run
run_kiln "$TEST_TMP/run.out" run --profile "$P" --report-dir "$d"
is "a limit no core meets: exit 1 (FAIL)" "$rc" 1
shown=$(sed -n 's/^\[ *[0-9.]*s\] FAIL    cpu\.compute: \(gflops_per_core on [a-z0-9]* = [^,]*\), limit x >= 1000000000$/\1/p' \
  "$TEST_TMP/run.out")
[ -n "$shown" ] || shown="(the log shows no figure)"
[ "$rc" -eq 1 ] || sed 's/^/# /' "$TEST_TMP/run.out"
check "the log's FAIL line shows the figure by the rule, beside its limit" \
  "$PYTHON" -c '
import json, re, sys
shown, ocp = sys.argv[1], sys.argv[2]
m = re.fullmatch(r"gflops_per_core on cpu\d+ = ([0-9.]+) GFLOP/s", shown)
assert m, shown
text = m.group(1)
exact = None
for line in open(ocp):  # the first core is the first to fail
    meas = json.loads(line).get("testStepArtifact", {}).get("measurement")
    if meas and meas["name"] == "gflops_per_core" and exact is None:
        exact = meas["value"]
assert "e" not in text and float(text) == float("%.4g" % exact), (text, exact)
# ocp.jsonl is not rounded: it holds more digits than people are shown.
assert len(repr(exact)) > len(text), (exact, text)
' "$shown" "$d/ocp.jsonl"
pattern=$(printf '%s' "$shown" | sed 's/[.]/[.]/g')
for f in summary.txt report.html junit.xml results.tap; do
  like "$f reads it the same: $shown" "$d/$f" "$pattern"
done
like "results.tap's YAML value is the same figure" "$d/results.tap" \
  "^      value: $(printf "%s" "${shown#* = }" | sed "s/ GFLOP.*//; s/[.]/[.]/")$"
