#!/usr/bin/env bash
# Stops the speech engines scripts/speech-start.sh started (by their pid files).
#
#   scripts/speech-stop.sh [DIR]     # DIR defaults to build/speech-run
set -uo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
run="${1:-$root/build/speech-run}"
for name in stt tts; do
  f="$run/$name.pid"
  [ -f "$f" ] || continue
  kill "$(cat "$f")" 2>/dev/null
  rm -f "$f"
done
