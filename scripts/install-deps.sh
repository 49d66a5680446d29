#!/bin/sh
# Installs the Debian 12 packages kiln needs. Idempotent; run as root (or
# through sudo).
#   sh scripts/install-deps.sh          building, installing and running kiln
#   sh scripts/install-deps.sh --test   that and what the tests, the
#                                       benchmarks and the package build need
set -eu

usage() {
  echo "usage: sh scripts/install-deps.sh [--test]" >&2
  exit 64
}

# The compiler, pkg-config, the libraries kiln links (their -dev packages
# bring the run-time ones), and scdoc for the man pages (make man, make
# install). kiln calls no other program; `kiln fleet` calls Slurm's srun,
# sbatch and scontrol, which a cluster's login node has.
build_packages="
  build-essential pkg-config scdoc
  libinih-dev libjansson-dev libyajl-dev libxml2-dev libpci-dev
  libsensors-dev libncurses-dev libcsv-dev libsqlite3-dev libpq-dev
  libmicrohttpd-dev libcurl4-gnutls-dev libipmimonitoring-dev libfreeipmi-dev
"

# What each is for, in the tests (tests/unit, tests/e2e) and the benchmarks
# (tests/bench).
test_packages="
  libcmocka-dev
  perl procps strace tmux umockdev
  libxml2-utils python3-jsonschema python3-junitparser python3-yaml
  chromium chromium-driver python3-selenium
  curl gnutls-bin
  openipmi
  postgresql
  slurmctld slurmd slurm-client munge
  libopenblas-dev pciutils
  clang-format
  debhelper lintian
  groff-base man-db systemd bash-completion
"
# libcmocka-dev: the unit tests. perl: prove. procps: ps. strace: 36.
# tmux: the dashboard (11). umockdev: the sensor boards. libxml2-utils
# (xmllint), python3-*: the JUnit, OCP and TAP checks. chromium,
# chromium-driver, python3-selenium: report.html's and the line page's
# pictures (12, 57). curl, gnutls-bin (certtool): kiln serve and uploads
# (50-56). openipmi: ipmi_sim, the BMC (10, 40, 42). postgresql: kiln
# serve's PostgreSQL store. slurm*, munge: kiln fleet on ../shared's
# minicluster (62). libopenblas-dev, pciutils (lspci): the benchmarks'
# references. clang-format: make format-check. debhelper, lintian: the
# package (70). groff-base, man-db: the man pages' checks (groff -ww -z;
# systemd-analyze verify looks a unit's Documentation= up with man).
# systemd: systemd-analyze. bash-completion: the completion's test.

case "${1:-}" in
"") packages=$build_packages ;;
--test) packages="$build_packages $test_packages" ;;
*) usage ;;
esac
[ $# -le 1 ] || usage

missing=""
for p in $packages; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$' ||
    missing="$missing $p"
done

if [ -z "$missing" ]; then
  echo "install-deps: all packages present"
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  SUDO=sudo
else
  SUDO=
fi
echo "install-deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
# shellcheck disable=SC2086
$SUDO apt-get install -y -q --no-install-recommends $missing
