#!/bin/sh
# The bash completion (scripts/completion/kiln) with the built kiln on
# PATH: subcommands, each one's options, and the values kiln knows (from
# `kiln list --json`): module names for --only/--skip (the last of a
# comma-separated list completes), faults for --inject, profiles and .ini
# files for --profile, files and directories where they are wanted.
. tests/e2e/lib.sh
plan 17
COMPLETION=scripts/completion/kiln
BIN_DIR=$(cd "$(dirname "$KILN")" && pwd)
if [ "$(basename "$KILN")" != kiln ]; then
  mkdir -p "$TEST_TMP/bin"
  ln -s "$BIN_DIR/$(basename "$KILN")" "$TEST_TMP/bin/kiln"
  BIN_DIR=$TEST_TMP/bin
fi

# completes WORD...: what <TAB> offers after the words (the last is the one
# being completed), sorted, on one line.
completes() {
  PATH=$BIN_DIR:$PATH bash -c '
    . "$1" || exit 1
    shift
    COMP_WORDS=("$@")
    COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
    COMPREPLY=()
    _kiln 2>/dev/null
    printf "%s\n" "${COMPREPLY[@]}" | sort | tr "\n" " "' \
    sh "$COMPLETION" "$@"
}

# The module, fault and profile names kiln lists, from its JSON.
known() {
  "$KILN" list --json | "$PYTHON" -c 'import json, sys
names = sorted(x["name"] for x in json.load(sys.stdin)[sys.argv[1]]
               if x["name"].startswith(sys.argv[2]))
print(" ".join(names), end=" ")' "$1" "$2"
}

is "complete -p: kiln completes with _kiln" \
  "$(bash -c '. "$1"; complete -p kiln' sh "$COMPLETION")" \
  "complete -F _kiln kiln"
is "a subcommand: ru -> run" "$(completes kiln ru)" "run "
like_words() { echo "$2" | tr ' ' '\n' >"$TEST_TMP/words"; like "$1" "$TEST_TMP/words" "$3"; }
like_words "every subcommand from the usage" "$(completes kiln '')" '^fleet$'
is "--only g -> every gpu.* module" "$(completes kiln run --only g)" \
  "$(known modules gpu.)"
case "$(known modules gpu.)" in
*gpu.query*) ok 0 "... gpu.query is among them" ;;
*) ok 1 "... gpu.query is among them" ;;
esac
is "--only cpu.compute,dr -> the last element completes" \
  "$(completes kiln run --only cpu.compute,dr)" \
  "cpu.compute,dram.bandwidth cpu.compute,dram.patterns "
is "--skip likewise" "$(completes kiln run --skip gpu.mem)" \
  "gpu.membw gpu.memtest "
is "--inject -> every fault" "$(completes kiln run --inject '')" \
  "$(known faults '')"
is "--profile q -> quick" "$(completes kiln run --profile q)" "quick "
: >"$TEST_TMP/qa.ini"
: >"$TEST_TMP/qb.txt"
is "--profile also completes .ini files, and only those" \
  "$(completes kiln run --profile "$TEST_TMP/q")" "$TEST_TMP/qa.ini "
: >"$TEST_TMP/station.ini"
is "--spec completes a file" "$(completes kiln run --spec "$TEST_TMP/stat")" \
  "$TEST_TMP/station.ini "
mkdir -p "$TEST_TMP/reports-a"
is "--report-dir completes directories only" \
  "$(completes kiln run --report-dir "$TEST_TMP/re")" "$TEST_TMP/reports-a "
is "--tap-version -> 13 14" "$(completes kiln run --tap-version '')" "13 14 "
like_words "run's options from kiln --help" "$(completes kiln run --)" \
  '^--bmc-credentials$'
is "list's options" "$(completes kiln list --)" \
  "--help --json --pci-dump --spec "
is "kiln fleet -> run status submit" "$(completes kiln fleet '')" \
  "run status submit "
is "after fleet run --, a run's options and values" \
  "$(completes kiln fleet run -N 2 -- --only cpu.c)" "cpu.compute "
done_testing
