#!/usr/bin/env bash
# Installs what building and testing voice-gateway needs on a fresh Debian
# machine that has only the Rust toolchain. Idempotent: installs only what is
# missing, so repeated `make test` runs cost nothing.
#
#   scripts/install-deps.sh build   # cmake, perl (libopus and OpenSSL are built from source by their crates)
#   scripts/install-deps.sh test    # build + redis-server, PostgreSQL, baresip, chromium + chromedriver, tansu, Asterisk
#   scripts/install-deps.sh tansu-sqlite  # only the SQLite-storage tansu of the SASL test
#   scripts/install-deps.sh asterisk  # only the real Asterisk of the tests (built once)
#   scripts/install-deps.sh bench   # build + wrk and curl (the API benchmark), sipp (the SIP benchmark)
set -euo pipefail

want=()
need() { # need BINARY PACKAGE
  command -v "$1" >/dev/null 2>&1 || [ -x "$1" ] || want+=("$2")
}

need cmake cmake
need pkg-config pkg-config
# OpenSSL, built from source for librdkafka's TLS (rdkafka ssl-vendored), runs
# a perl Configure that needs more than Debian's minimal perl-base.
perl -MIPC::Cmd -MFindBin -MFile::Spec -e1 >/dev/null 2>&1 || want+=(perl)
if [ "${1:-build}" = test ]; then
  need redis-server redis-server
  ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || want+=(postgresql)
  # The SIP phone of the real-Asterisk tests (tests/asterisk).
  need baresip baresip-core
  # The headless browser and its WebDriver of the console's browser tests
  # (tests/gateway/console.rs).
  need /usr/bin/chromium chromium
  need /usr/bin/chromedriver chromium-driver
fi
if [ "${1:-build}" = bench ]; then
  need wrk wrk
  need curl curl
  # The SIP callers of `make bench-sip` (Debian's SIPp).
  need sipp sip-tester
fi

if [ ${#want[@]} -gt 0 ]; then
  echo "install-deps: installing ${want[*]}"
  sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${want[@]}" >/dev/null
  # Debian starts the packaged services; the tests start their own servers on
  # free ports, so a system-wide instance is not needed.
fi

# The Kafka-protocol broker of the event tests: tansu, a Rust broker (Apache
# Kafka is not packaged), built with SQLite storage (the `libsql` feature) as
# well as in-memory storage: the SASL test (tests/data_path/tls.rs) needs a
# file that a broker without authentication (to create the SCRAM user) and
# one with it can both open, since tansu keeps users in its storage. One build
# serves every Kafka test. Its own root, so a tansu on PATH is left alone.
# Once per machine: 35 minutes measured at `nice -n 10` on two cores shared
# with other builds.
# `scripts/install-deps.sh tansu-sqlite` installs only this.
tansu_sqlite_root="${CARGO_HOME:-$HOME/.cargo}/vg-tansu-sqlite"
if { [ "${1:-build}" = test ] || [ "${1:-build}" = tansu-sqlite ]; } \
  && [ ! -x "$tansu_sqlite_root/bin/tansu" ]; then
  echo "install-deps: installing tansu 0.6.0 with SQLite storage into $tansu_sqlite_root"
  target="${TMPDIR:-/tmp}/vg-tansu-sqlite-install"
  plain="${TMPDIR:-/tmp}/vg-tansu-install"
  [ -d "$target" ] || [ ! -d "$plain" ] || cp -a "$plain" "$target"
  CARGO_TARGET_DIR="$target" nice -n 10 "${CARGO:-cargo}" install tansu \
    --version 0.6.0 --no-default-features --features dynostore,libsql --locked \
    --root "$tansu_sqlite_root"
fi

# The real Asterisk 20.20.1 of the tests (tests/asterisk, pkg/testkit): built from
# source once (about 5 minutes on two cores) into /opt/vg-asterisk, reused after.
# From the platform's shared folder beside this repository when it is there, else
# downloaded from the official release site (scripts/asterisk-download.sh);
# ASTERISK_PREFIX names an existing build instead.
if [ "${1:-build}" = test ] || [ "${1:-build}" = asterisk ]; then
  root=$(cd "$(dirname "$0")/.." && pwd)
  shared=${VG_SHARED_DIR:-$root/../shared}
  if [ -n "${ASTERISK_PREFIX:-}" ]; then
    [ -x "$ASTERISK_PREFIX/sbin/asterisk" ] || { echo "install-deps: ASTERISK_PREFIX=$ASTERISK_PREFIX has no sbin/asterisk" >&2; exit 1; }
  elif [ -f "$shared/asterisk/build.sh" ]; then
    echo "install-deps: Asterisk at $(bash "$shared/asterisk/build.sh")"
  else
    echo "install-deps: Asterisk at $(bash "$root/scripts/asterisk-download.sh")"
  fi
fi
