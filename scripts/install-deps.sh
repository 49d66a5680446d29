#!/bin/sh
# Installs the Debian packages kiln's build, tests and benchmarks need.
# Idempotent; run as root (or through sudo).
set -eu

packages="
  build-essential pkg-config
  libinih-dev libjansson-dev libyajl-dev libxml2-dev libcmocka-dev
  libpci-dev libsensors-dev libncurses-dev libcsv-dev libsqlite3-dev libpq-dev
  libmicrohttpd-dev gnutls-bin curl chromium chromium-driver python3-selenium
  libcurl4-gnutls-dev
  libxml2-utils python3-jsonschema python3-junitparser python3-yaml
  perl tmux procps pciutils umockdev strace
  libipmimonitoring-dev libfreeipmi-dev freeipmi-tools openipmi
  libopenblas-dev clang-format chromium postgresql
  slurmctld slurmd slurm-client munge
  scdoc
  groff-base
  libcurl4-gnutls-dev
"

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
