#!/bin/sh
# Every test judges only what it started, so that the suite passes under
# prove -j2 and beside another kiln on the machine: no test lists or
# signals processes by name (ps without -p/--ppid/--sid, pgrep, pkill,
# killall, pidof), writes a fixed path under /tmp, or binds a fixed port.
# Checked over tests/e2e; and the check catches each kind in a file made
# to break it.
. tests/e2e/lib.sh
plan 7

# machine_wide DIR: prints FILE:LINE: WHY for each such line of DIR's *.t
# and lib.sh (comment lines aside; this file, whose samples are made to be
# caught, aside); exits 1 when there is one.
machine_wide() {
  "$PYTHON" - "$1" "$(basename "$0")" <<'PY'
import glob, os, re, sys

rules = [
    (re.compile(r"(^|[\s;&|(`])ps(\s|$)"),
     re.compile(r"\s(-p|--pid|--ppid|--sid)[\s=]"),
     "ps lists the whole machine: select by -p, --ppid or --sid"),
    (re.compile(r"(^|[\s;&|(`])(pgrep|pkill|killall|pidof)(\s|$)"), None,
     "finds processes by name: use the pid or session the test started"),
    (re.compile(r"(?<![\w$}])/tmp/"), None,
     "a fixed path under /tmp: use $TEST_TMP"),
    (re.compile(r"(127\.0\.0\.1|localhost|\[::1\]):([1-9][0-9]{0,3}|[1-5][0-9]{4}|6[0-5][0-9]{3})\b(?!\d)"),
     None, "a fixed port: listen on port 0 and read the one given"),
]
bad = 0
root = sys.argv[1]
files = sorted(p for p in glob.glob(os.path.join(root, "*.t"))
               if os.path.basename(p) != sys.argv[2])
if os.path.exists(os.path.join(root, "lib.sh")):
    files.append(os.path.join(root, "lib.sh"))
for path in files:
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            if line.lstrip().startswith("#"):
                continue
            for match, unless, why in rules:
                if match.search(line) and not (unless and unless.search(line)):
                    print("%s:%d: %s" % (os.path.relpath(path, root), number, why))
                    bad = 1
sys.exit(bad)
PY
}

check "no test in tests/e2e judges or binds anything machine-wide" \
  machine_wide tests/e2e

# broken DESCRIPTION LINE REGEX: a test made of LINE is caught, and the
# check's output matches REGEX.
broken() {
  rm -rf "$TEST_TMP/t" && mkdir "$TEST_TMP/t"
  printf '#!/bin/sh\n. tests/e2e/lib.sh\n%s\n' "$2" >"$TEST_TMP/t/99-x.t"
  if machine_wide "$TEST_TMP/t" >"$TEST_TMP/out" 2>&1; then
    ok 1 "$1 (the check passed)"
  else
    like "$1" "$TEST_TMP/out" "$3"
  fi
}

broken "ps over the whole machine is caught, with file and line" \
  "ps -eo comm= | grep -q kiln/cpu.comput" '^99-x\.t:3: ps lists the whole machine'
broken "pgrep by name is caught" 'pid=$(pgrep -f kiln)' \
  '^99-x\.t:3: finds processes by name'
broken "pkill by name is caught" 'pkill -TERM kiln' \
  '^99-x\.t:3: finds processes by name'
broken "a fixed path under /tmp is caught" 'd=/tmp/kiln-test' \
  '^99-x\.t:3: a fixed path under /tmp'
broken "a fixed port is caught" \
  '"$KILN" serve --listen 127.0.0.1:8470 &' '^99-x\.t:3: a fixed port'

rm -rf "$TEST_TMP/t" && mkdir "$TEST_TMP/t"
cat >"$TEST_TMP/t/99-x.t" <<'EOF'
# ps -e in a comment says nothing
ps -o comm= --ppid "$pid"
ps -o comm= --sid "$pid"
"$KILN" serve --listen 127.0.0.1:0 &
refused "a port out of range" --listen 127.0.0.1:70000
d=$(mktemp -d "${TMPDIR:-/tmp}/kiln-e2e.XXXXXX")
EOF
check "selecting by pid or session, port 0 and mktemp pass" \
  machine_wide "$TEST_TMP/t"
done_testing
