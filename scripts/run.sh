#!/usr/bin/env bash
# `make run`: builds the gateway, reads its effective configuration, and when
# [speech] selects the local engines ("wyoming") sets them up (first time:
# ~660 MB of Python packages under build/) and starts them on the configured
# addresses; then runs the gateway in the foreground and stops the engines
# when it exits, however it exits.
#
#   scripts/run.sh [--config FILE]      # arguments go to `voice-gateway serve`
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
"${CARGO:-cargo}" build --release -p voice-gateway
bin="${CARGO_TARGET_DIR:-$root/target}/release/voice-gateway"

# An invalid configuration stops here, with the key at fault.
effective="$("$bin" check-config "$@")"
python=python3
command -v python3.11 >/dev/null 2>&1 && python=python3.11
eval "$(printf '%s' "$effective" | "$python" -c '
import shlex, sys, tomllib
c = tomllib.loads(sys.stdin.read())
s = c["speech"]
w = s.get("wyoming", {})
a = c.get("auth", {})
print(f"listen={shlex.quote(c.get('http', {}).get('listen', ''))}")
print(f"auth={'yes' if a.get('jwt_secret') or a.get('jwks_url') else ''}")
for k, v in [("stt", s["stt"]), ("tts", s["tts"]), ("stt_addr", w.get("stt", "")),
             ("tts_addr", w.get("tts", "")), ("voice", w.get("voice", "")),
             ("prompt", w.get("initial_prompt", ""))]:
    print(f"{k}={shlex.quote(v)}")
')"

args=()
if [ "$stt" = wyoming ]; then
  args+=(--stt "$stt_addr")
  [ -z "$prompt" ] || args+=(--initial-prompt "$prompt")
fi
[ "$tts" != wyoming ] || args+=(--tts "$tts_addr" --voice "${voice:-en_US-joe-medium}")
if [ ${#args[@]} -gt 0 ]; then
  run_dir="$root/build/speech-run"
  # Servers left by a run that was killed outright would hold the ports.
  scripts/speech-stop.sh "$run_dir"
  trap 'scripts/speech-stop.sh "$run_dir"' EXIT
  scripts/speech-start.sh "${args[@]}" --run-dir "$run_dir"
fi
# The operator console shares the call API's sign-in (README: "The operator console").
host="${listen%:*}"; port="${listen##*:}"
case "$host" in 0.0.0.0|"[::]"|"") host=127.0.0.1 ;; esac
if [ -n "$auth" ]; then
  echo "run: operator console at http://$host:$port/console (sign in with a JWT holding console:read or calls:read)"
else
  echo "run: operator console off: set auth.jwt_secret or auth.jwks_url (it signs in with the call API's tokens)"
fi
# Not exec: the EXIT trap must outlive the gateway. Ctrl-C reaches the gateway
# (it drains) but not the background servers, which the trap then stops.
"$bin" serve "$@"
