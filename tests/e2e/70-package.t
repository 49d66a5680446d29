#!/bin/sh
# The Debian package: built by dpkg-buildpackage from a copy of the working
# tree in $TEST_TMP (so that the .deb, .buildinfo and .changes land in
# $TEST_TMP, never beside the repository), lintian-clean of errors, with
# the files the issue names and its dependencies from shlibs; unpacked
# (dpkg-deb -x), the installed kiln runs a short profile from its installed
# paths, the station's unit passes systemd-analyze verify and the station's
# script runs kiln with /etc/default/kiln's settings.
# The build is without CUDA (DEB_BUILD_OPTIONS=nocuda) unless
# KILN_DEB_BUILD_OPTIONS says otherwise (e.g. empty: GPU modules where nvcc
# is; minutes more).
. tests/e2e/lib.sh

for tool in dpkg-buildpackage dh lintian dpkg-checkbuilddeps git; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "1..0 # SKIP $tool is not installed (sh scripts/install-deps.sh --test: debhelper, lintian)"
    exit 0
  fi
done
if ! git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  echo "1..0 # SKIP not a git checkout: the package is built from the tracked files"
  exit 0
fi
if ! unmet=$(dpkg-checkbuilddeps 2>&1); then
  echo "1..0 # SKIP the package's build dependencies are not installed: $unmet"
  exit 0
fi

plan 31

VERSION=$(cat VERSION)
DEB=$TEST_TMP/pkg/kiln_${VERSION}_amd64.deb
ROOT=$TEST_TMP/root

is "debian/changelog's version is VERSION's ($VERSION; a native package)" \
  "$(dpkg-parsechangelog -SVersion)" "$VERSION"

# The binary package's Depends: substitution variables alone, no library
# named by hand.
hand_listed=$(awk '/^Package:/ { bin = 1 }
  bin && /^Depends:/ { dep = 1; sub(/^Depends:/, ""); print; next }
  dep && /^[ \t]/ { print; next }
  { dep = 0 }' debian/control | sed 's/\${[a-z]*:Depends}//g; s/[ ,\t]//g')
is "debian/control's Depends lists no package by hand" "$hand_listed" ""

# The working tree's files (tracked, and new ones git does not ignore),
# symlinks kept; no build outputs. dpkg-buildpackage writes into the
# tree's parent, $PKG.
PKG=$TEST_TMP/pkg
mkdir -p "$PKG/src"
git ls-files -z --cached --others --exclude-standard |
  tar --null -T - -cf - | tar -xf - -C "$PKG/src"

build_rc=0
(cd "$PKG/src" &&
  DEB_BUILD_OPTIONS=${KILN_DEB_BUILD_OPTIONS-nocuda} \
    dpkg-buildpackage -b -us -uc) >"$TEST_TMP/build.log" 2>&1 || build_rc=$?
ok $build_rc "dpkg-buildpackage -b -us -uc builds"
[ $build_rc -eq 0 ] || tail -30 "$TEST_TMP/build.log" | sed 's/^/# /'
is "beside the tree it writes the .deb, .buildinfo and .changes alone" \
  "$(ls "$PKG" | tr '\n' ' ')" \
  "kiln_${VERSION}_amd64.buildinfo kiln_${VERSION}_amd64.changes kiln_${VERSION}_amd64.deb src "
check "it builds kiln_${VERSION}_amd64.deb" test -s "$DEB"

check "lintian: no errors" lintian --fail-on error "$DEB"
grep -E '^[EW]: ' "$TEST_TMP/out" | sed 's/^/# /'

dpkg-deb -c "$DEB" | awk '{ print $NF }' | sed 's|^\./|/|' >"$TEST_TMP/files"
has_file() {
  grep -qxF "$1" "$TEST_TMP/files"
}
check "it installs /usr/bin/kiln" has_file /usr/bin/kiln
missing=""
for f in profiles/*.ini profiles/sku/*.ini; do
  has_file "/usr/share/kiln/$f" || missing="$missing $f"
done
is "it installs every profile and SKU file under /usr/share/kiln" "$missing" ""
check "it installs the unit in /lib/systemd/system (Debian 12)" \
  has_file /lib/systemd/system/kiln-burnin.service
check "it installs /etc/default/kiln" has_file /etc/default/kiln
check "it installs the unit's script /usr/libexec/kiln/kiln-burnin" \
  has_file /usr/libexec/kiln/kiln-burnin
pages=$(ls docs/man/*.scd 2>/dev/null)
if [ -n "$pages" ]; then
  missing=""
  for scd in $pages; do
    page=$(basename "$scd" .scd)
    has_file "/usr/share/man/man${page##*.}/$page.gz" || missing="$missing $page"
  done
  is "it installs every man page of docs/man" "$missing" ""
else
  skip 1 "it installs every man page of docs/man: no docs/man/*.scd in this tree"
fi
if [ -f scripts/completion/kiln ]; then
  check "it installs the bash completion" \
    has_file /usr/share/bash-completion/completions/kiln
else
  skip 1 "it installs the bash completion: no scripts/completion/kiln in this tree"
fi

dpkg-deb -e "$DEB" "$TEST_TMP/control"
check "/etc/default/kiln is a conffile (a station's settings survive upgrades)" \
  grep -qxF /etc/default/kiln "$TEST_TMP/control/conffiles"
# dh_installsystemd --no-enable: the unit is enabled again on upgrade only
# where it was (debian-installed); --no-start: nothing starts or stops it.
check "installing does not enable the unit" \
  grep -q 'deb-systemd-helper debian-installed' "$TEST_TMP/control/postinst"
check "installing or upgrading neither starts nor stops the unit" \
  sh -c "! cat '$TEST_TMP/control/'*inst '$TEST_TMP/control/'*rm | grep -q deb-systemd-invoke"

depends=$(dpkg-deb -f "$DEB" Depends)
shlibs=$(sed -n 's/^shlibs:Depends=//p' "$PKG/src/debian/kiln.substvars")
is "its Depends are dpkg-shlibdeps' (shlibs:Depends)" "$depends" "$shlibs"
like "they name the libraries kiln links, e.g. libjansson4" \
  "$PKG/src/debian/kiln.substvars" '^shlibs:Depends=.*libjansson4'

# The installed kiln, from its installed paths.
dpkg-deb -x "$DEB" "$ROOT"
is "the installed kiln says VERSION" \
  "$("$ROOT/usr/bin/kiln" version 2>&1 | head -1 | grep -o "$VERSION")" "$VERSION"
KILN=$ROOT/usr/bin/kiln run_kiln "$TEST_TMP/run.out" run --no-tui \
  --profile "$ROOT/usr/share/kiln/profiles/quick.ini" --only cpu.compute \
  --duration 2s --serial SN-PKG --report-dir "$TEST_TMP/reports"
is "it runs the installed quick profile (cpu.compute, 2s): exit 0" "$rc" 0
like "the run's verdict is PASS" "$TEST_TMP/run.out" '^verdict: PASS \(exit 0\)'
check "it wrote its reports" test -s "$TEST_TMP/reports/summary.txt"

# The unit as installed, its paths pointed into the unpacked tree (and its
# man page looked up there); systemd-analyze verify also checks that
# ExecStart is an executable.
sed -e "s|^ExecStart=/usr/|ExecStart=$ROOT/usr/|" \
  -e "s|^EnvironmentFile=-/etc/|EnvironmentFile=-$ROOT/etc/|" \
  "$ROOT/lib/systemd/system/kiln-burnin.service" >"$TEST_TMP/kiln-burnin.service"
if command -v systemd-analyze >/dev/null 2>&1; then
  # Documentation=man:kiln(1) is looked up among the package's pages; a
  # tree without docs/man/kiln.1.scd has none to look up.
  man_check="--man=yes" man_says="its man page is the package's"
  if [ ! -f docs/man/kiln.1.scd ]; then
    man_check="--man=no" man_says="no docs/man/kiln.1.scd: Documentation= not checked"
  fi
  verify_rc=0
  MANPATH="$ROOT/usr/share/man" systemd-analyze verify "$man_check" \
    "$TEST_TMP/kiln-burnin.service" >"$TEST_TMP/verify" 2>&1 || verify_rc=$?
  # Its exit code, and its word on our unit (an unknown key is a warning
  # alone); what it says of the system's own units is shown.
  is "systemd-analyze verify: the unit is clean ($man_says)" \
    "$verify_rc $(grep kiln-burnin "$TEST_TMP/verify")" "0 "
  grep -v kiln-burnin "$TEST_TMP/verify" | sed 's/^/# /'
else
  skip 1 "systemd-analyze verify: systemd-analyze is not installed (Debian: systemd)"
fi

# The unit's script, with /etc/default/kiln's settings as systemd passes
# them (the environment), its kiln the unpacked one.
sed "s|^kiln=/usr/bin/kiln\$|kiln=$ROOT/usr/bin/kiln|" \
  "$ROOT/usr/libexec/kiln/kiln-burnin" >"$TEST_TMP/kiln-burnin"
# station KILN_ARGS: the unit's script as systemd runs it (its process,
# once exec'd, is kiln: the unit's main process), in the background; sets
# $pid.
station() {
  (
    set -a
    . "$ROOT/etc/default/kiln"
    KILN_PROFILE=$ROOT/usr/share/kiln/profiles/quick.ini
    KILN_REPORT_DIR=$TEST_TMP/state
    KILN_ARGS="--only cpu.compute --serial SN-STATION $1"
    exec sh "$TEST_TMP/kiln-burnin"
  ) >"$TEST_TMP/station.out" 2>&1 &
  pid=$!
}
station_runs() {
  ls -d "$TEST_TMP"/state/kiln-reports/SN-STATION-*/ 2>/dev/null | wc -l
}
rc=0
station "--duration 2s"
wait $pid || rc=$?
is "the station's run (the default file's empty spec and upload: no option): exit 0" "$rc" 0
[ "$rc" -eq 0 ] || sed 's/^/# /' "$TEST_TMP/station.out" | tail -10
is "its reports are in KILN_REPORT_DIR/kiln-reports/<serial>-<UTC time>/" \
  "$(station_runs)" 1
rc=0
station "--duration 2s --inject cpu.sdc"
wait $pid || rc=$?
is "a FAIL is the unit's result: exit 1" "$rc" 1
like "the log says FAIL" "$TEST_TMP/station.out" '^verdict: FAIL \(exit 1\)'
is "each run has its own report directory" "$(station_runs)" 2

# systemctl stop (KillMode=mixed): SIGTERM to the main process alone.
rc=0
station "--duration 5m"
for _ in $(seq 1 300); do
  grep -q 'start *cpu.compute' "$TEST_TMP/station.out" && break
  sleep 0.1
done
kill -TERM $pid
wait $pid || rc=$?
is "systemctl stop's SIGTERM reaches kiln: ABORTED, exit 2" "$rc" 2
like "the log says ABORTED" "$TEST_TMP/station.out" '^verdict: ABORTED \(exit 2\)'
check "the stopped run's reports are written" \
  grep -q 'ABORTED' "$(ls -d "$TEST_TMP"/state/kiln-reports/SN-STATION-*/ | tail -1)summary.txt"
