#!/bin/sh
# The line page in headless Chromium (tests/e2e/linepage.py, selenium and
# Debian's chromium-driver): three DUTs uploading at once show live on the
# same page object, then their verdicts; a hostile serial and host render
# as text; /runs/<id> and /serials/<serial> show the right runs; a run 5%
# under its 10 siblings is marked an outlier on the page and in the API; a
# DUT silent for 3 minutes is marked silent; three real `kiln run --upload`
# at once show live, then their verdicts.
# Writes the screenshot docs/line-page.png when KILN_SCREENSHOT=1.
. tests/e2e/lib.sh

if ! "$PYTHON" -c 'import selenium' 2>/dev/null ||
  [ ! -x /usr/bin/chromedriver ] || [ ! -x /usr/bin/chromium ]; then
  echo "1..0 # SKIP chromium, chromium-driver or python3-selenium is not installed (scripts/install-deps.sh)"
  exit 0
fi

start_serve "$TEST_TMP/serve.out" --db "sqlite:$TEST_TMP/line.db"
if [ -z "$serve_url" ]; then
  plan 1
  ok 1 "kiln serve starts"
  sed 's/^/# /' "$TEST_TMP/serve.out"
  exit 1
fi
shot=
[ "${KILN_SCREENSHOT:-0}" = 1 ] && shot=docs/line-page.png
# Chromium's own files go to the test's directory.
# shellcheck disable=SC2097,SC2098 # the driver reads them from its environment
HOME=$TEST_TMP KILN=$KILN TEST_TMP=$TEST_TMP "$PYTHON" tests/e2e/linepage.py "$serve_url" \
  "$FIXTURES/ocp/line-sdc.ocp.jsonl" "$TEST_TMP/line.db" $shot
