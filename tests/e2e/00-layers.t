#!/bin/sh
# The tree's layers (README, Layout): no lower layer includes a higher one,
# checked over this tree; and the check itself catches each kind of wrong
# include in a small tree made to break it.
. tests/e2e/lib.sh
plan 8

check "every include in this tree runs downward" sh scripts/check-layers.sh .

# A minimal tree: a core header and files of three layers.
mini() {
  rm -rf "$TEST_TMP/t" && mkdir -p "$TEST_TMP/t/include/kiln" \
    "$TEST_TMP/t/src/core" "$TEST_TMP/t/src/run" "$TEST_TMP/t/stress" \
    "$TEST_TMP/t/reports"
  printf '/* A core header.\n * Layer: core (src/core/). */\n' \
    >"$TEST_TMP/t/include/kiln/a.h"
  printf '#include "kiln/a.h"\n' >"$TEST_TMP/t/src/core/a.c"
  printf '#include "kiln/a.h"\n#include "core/b.h"\n#include "run.h"\n' \
    >"$TEST_TMP/t/src/run/run.c"
  : >"$TEST_TMP/t/src/core/b.h"
  : >"$TEST_TMP/t/src/run/run.h"
  printf '#include "run/run.h"\n' >"$TEST_TMP/t/stress/m.c"
  printf '#include "run/run.h"\n' >"$TEST_TMP/t/reports/r.c"
}

mini
check "a tree whose includes run downward passes" \
  sh scripts/check-layers.sh "$TEST_TMP/t"

# broken DESCRIPTION REGEX: the check fails and its output matches REGEX.
broken() {
  if sh scripts/check-layers.sh "$TEST_TMP/t" >"$TEST_TMP/out" 2>&1; then
    ok 1 "$1 (the check passed)"
  else
    like "$1" "$TEST_TMP/out" "$2"
  fi
}

printf '#include "run/run.h"\n' >>"$TEST_TMP/t/src/core/a.c"
broken "core including run is caught, with file and line" \
  '^src/core/a\.c:2: core includes "run/run\.h" of layer run, above it$'

mini
printf '#include "../../stress/m.h"\n' >>"$TEST_TMP/t/reports/r.c"
broken "reports including stress (same rank, other folder) is caught" \
  '^reports/r\.c:2: reports includes "\.\./\.\./stress/m\.h" of layer stress'

mini
printf '/* An API header of the run layer.\n * Layer: run. */\n' \
  >"$TEST_TMP/t/include/kiln/r.h"
printf '#include "kiln/r.h"\n' >>"$TEST_TMP/t/src/core/a.c"
broken "an API header is judged by the layer it names" \
  '^src/core/a\.c:2: core includes "kiln/r\.h" of layer run'

mini
printf '/* A header without a layer. */\n' >"$TEST_TMP/t/include/kiln/x.h"
broken "an API header that names no layer is caught" \
  '^include/kiln/x\.h: its opening comment names no layer'

mini
printf '#include "gui/w.h"\n' >>"$TEST_TMP/t/src/run/run.c"
broken "an include from an unknown folder is caught" \
  '^src/run/run\.c:4: includes "gui/w\.h", whose layer is unknown'

mini
printf '#include "kiln/a.h"\n' >"$TEST_TMP/t/include/kiln/b.h"
sed -i '1i /* B.\n * Layer: core. */' "$TEST_TMP/t/include/kiln/b.h"
printf '#include "ui/d.h"\n' >>"$TEST_TMP/t/include/kiln/b.h"
broken "a header's own includes are judged too" \
  '^include/kiln/b\.h:4: core includes "ui/d\.h" of layer ui'

done_testing
