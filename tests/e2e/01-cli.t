#!/bin/sh
# The command line: list, version, and bad input refused with one clear
# line and the right exit code.
. tests/e2e/lib.sh
plan 26

run_kiln "$TEST_TMP/list" list
is "kiln list exits 0" "$rc" 0
for m in cpu.compute dram.bandwidth dram.patterns gpu.query; do
  like "kiln list shows $m" "$TEST_TMP/list" "^  $m +(ok|no) "
done
like "gpu.query says why it cannot run" "$TEST_TMP/list" \
  "^  gpu.query +no .*\(SKIP: no NVIDIA GPU found on the PCI bus\)"
like "kiln list shows the faults" "$TEST_TMP/list" "^  step.hang "

run_kiln "$TEST_TMP/v" version
like "kiln version" "$TEST_TMP/v" "^kiln [0-9]+\.[0-9]+\.[0-9]+$"

# usage_error DESCRIPTION REGEX ARGS...: exit 64 with exactly one line.
usage_error() {
  desc=$1
  want=$2
  shift 2
  run_kiln "$TEST_TMP/err" "$@"
  is "$desc: exit 64" "$rc" 64
  lines=$(wc -l <"$TEST_TMP/err")
  if [ "$lines" -eq 1 ] && grep -Eq -- "$want" "$TEST_TMP/err"; then
    ok 0 "$desc: one clear line"
  else
    ok 1 "$desc: one clear line"
    sed 's/^/#  | /' "$TEST_TMP/err"
  fi
}

printf '[profile]\nphase.1 = cpu.compute\n[cpu.compute]\nkernel auto\n' \
  >"$TEST_TMP/garbled.ini"
printf '[profile]\nphase.1 = cpu.compute, gpu.teleport\n' >"$TEST_TMP/unknown.ini"

usage_error "unknown option" "^kiln: unknown option '--frobnicate'" \
  run --frobnicate
usage_error "negative duration" "^kiln: --duration '-5s' is not a duration" \
  run --duration -5s
usage_error "missing profile" "^kiln: $TEST_TMP/nope.ini: No such file" \
  run --profile "$TEST_TMP/nope.ini"
usage_error "garbled profile names file and line" \
  "^kiln: $TEST_TMP/garbled.ini:4: syntax error" run --profile "$TEST_TMP/garbled.ini"
usage_error "unknown module in a profile" \
  "^kiln: $TEST_TMP/unknown.ini:2: unknown module 'gpu.teleport'" \
  run --profile "$TEST_TMP/unknown.ini"
usage_error "unknown module in --only" "^kiln: --only 'cpu.compte' matches no module" \
  run --only cpu.compte
usage_error "unknown fault" "^kiln: unknown fault 'cpu.melt'" run --inject cpu.melt
usage_error "unknown command" "^kiln: unknown command 'rn'" rn

mkdir -p "$TEST_TMP/ro"
chmod 555 "$TEST_TMP/ro"
if [ "$(id -u)" -eq 0 ]; then
  # root writes anywhere: a path under a regular file cannot be created
  : >"$TEST_TMP/file"
  bad_dir="$TEST_TMP/file/reports"
else
  bad_dir="$TEST_TMP/ro/reports"
fi
run_kiln "$TEST_TMP/err" run --only cpu.compute --duration 1s --report-dir "$bad_dir"
is "unwritable report dir: exit 2" "$rc" 2
like "unwritable report dir: named" "$TEST_TMP/err" "^kiln: cannot (create|write to) report dir $TEST_TMP/"
done_testing
