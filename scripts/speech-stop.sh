#!/usr/bin/env bash
# Stops the speech engines scripts/speech-start.sh started, by their pid files
# (and only if each pid is still a Wyoming server, never another process that
# inherited the number).
#
#   scripts/speech-stop.sh [DIR]     # DIR defaults to build/speech-run
set -uo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
run="${1:-$root/build/speech-run}"
for name in stt tts; do
  f="$run/$name.pid"
  [ -f "$f" ] || continue
  pid="$(cat "$f")"
  if tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q 'wyoming_'; then
    kill "$pid" 2>/dev/null
  fi
  rm -f "$f"
done
