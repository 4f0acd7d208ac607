#!/usr/bin/env bash
# Downloads the official Asterisk 20.20.1 release and builds it like ../shared/asterisk/build.sh
# (same configure and module selection), for machines without the shared folder. Prints the
# install prefix on stdout (progress on stderr). Idempotent: a finished build in PREFIX made from
# the same tarball is reused at once. The test harness (pkg/testkit) runs it when it finds no
# shared folder and no ASTERISK_PREFIX.
#
#   PREFIX=/opt/vg-asterisk scripts/asterisk-download.sh
#
# Checksum: ASTERISK_SHA256 if set; otherwise the pinned sum below, which is that of the shared
# tarball ../shared/asterisk/asterisk-20.20.1.tar.gz. That tarball had its ChangeLogs/ folder
# removed, so the official download very likely has a different sum: check the official one
# (downloads.asterisk.org publishes asterisk-20.20.1.tar.gz.sha256 beside the tarball, and the
# release is signed: .asc) and pass it as ASTERISK_SHA256. The script refuses a mismatch rather
# than build unverified code. Not tested end to end here (no network on the machine it was
# written on); the build steps are build.sh's, which are.
set -euo pipefail
VERSION=20.20.1
URL=${ASTERISK_URL:-https://downloads.asterisk.org/pub/telephony/asterisk/releases/asterisk-$VERSION.tar.gz}
PINNED=6664985f1d6b39e0afe6d66b1f43dcec492f53f451446b4bb01a4cfd95730f8d
SHA256=${ASTERISK_SHA256:-$PINNED}
PREFIX=${PREFIX:-/opt/vg-asterisk}
CACHE=${VG_ASTERISK_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/vg-asterisk}
log() { echo "asterisk-download: $*" >&2; }

if [[ -x $PREFIX/sbin/asterisk && -f $PREFIX/.built-from && $(cat "$PREFIX/.built-from") == "$SHA256" ]]; then
  echo "$PREFIX"; exit 0
fi

mkdir -p "$CACHE"
tarball=$CACHE/asterisk-$VERSION.tar.gz
if [[ ! -f $tarball ]] || [[ $(sha256sum "$tarball" | cut -d' ' -f1) != "$SHA256" ]]; then
  log "downloading $URL"
  curl -fsSL --retry 3 -o "$tarball.part" "$URL"
  mv "$tarball.part" "$tarball"
fi
sum=$(sha256sum "$tarball" | cut -d' ' -f1)
if [[ $sum != "$SHA256" ]]; then
  log "sha256 mismatch: got $sum, want $SHA256"
  log "(the pinned sum is the ChangeLogs-less shared tarball's; if $URL is genuine, check its"
  log " published .sha256/.asc and rerun with ASTERISK_SHA256=$sum)"
  exit 1
fi

# From here on: the steps of shared/asterisk/build.sh.
sudo=""; [[ $(id -u) == 0 ]] || sudo=sudo
pkgs=(build-essential pkg-config libedit-dev libjansson-dev libxml2-dev uuid-dev libsqlite3-dev
  libssl-dev libcurl4-openssl-dev libsrtp2-dev asterisk-core-sounds-en-wav)
missing=()
for p in "${pkgs[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if (( ${#missing[@]} )); then
  log "installing ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/vg-asterisk-build.XXXXXX")
trap 'rm -rf "$work"' EXIT
tar -xzf "$tarball" -C "$work"
cd "$work/asterisk-$VERSION"
log "configure (log: $work/configure.log)"
./configure --prefix="$PREFIX" --without-pjproject-bundled --without-pjproject --with-jansson \
  --without-dahdi --without-pri --without-ss7 --without-gtk2 >"$work/configure.log" 2>&1 \
  || { tail -30 "$work/configure.log" >&2; exit 1; }
make menuselect.makeopts >/dev/null 2>&1
menuselect/menuselect --enable chan_sip --enable app_mixmonitor --enable res_ari \
  --enable chan_audiosocket --enable res_audiosocket --enable app_audiosocket --enable chan_websocket \
  --disable-category MENUSELECT_CORE_SOUNDS --disable-category MENUSELECT_MOH \
  --disable-category MENUSELECT_EXTRA_SOUNDS --disable BUILD_NATIVE menuselect.makeopts >/dev/null
log "make -j$(nproc) (about 5 minutes)"
make -j"$(nproc)" >"$work/make.log" 2>&1 || { tail -40 "$work/make.log" >&2; exit 1; }
rm -rf "$PREFIX"
make install >"$work/install.log" 2>&1 || { tail -30 "$work/install.log" >&2; exit 1; }
mkdir -p "$PREFIX/var/lib/asterisk/sounds/en" "$PREFIX/etc/asterisk"
cp -rn /usr/share/asterisk/sounds/en_US_f_Allison/. "$PREFIX/var/lib/asterisk/sounds/en/"
echo "$SHA256" >"$PREFIX/.built-from"
log "built: $("$PREFIX/sbin/asterisk" -V)"
echo "$PREFIX"
