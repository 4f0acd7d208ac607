#!/usr/bin/env bash
# `make bench-api`: the call API under load on loopback, measured from the
# outside. Starts the Asterisk simulator and the release gateway (fake speech,
# HS256 auth), places one outbound call through the API, then drives
# `GET /v1/calls/{id}` and `GET /v1/calls?limit=20` with wrk and writes
# requests per second and latency percentiles to bench/results/<date>-api.json.
#
#   DURATION=20 CONNECTIONS=64 scripts/bench-api.sh
#
# wrk, the gateway and the simulator share this machine's cores: the figures
# are what one box does with the client on it, a lower bound for the server.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
duration="${DURATION:-20}"
connections="${CONNECTIONS:-64}"
threads="${THREADS:-2}"

"${CARGO:-cargo}" build --release -q -p voice-gateway -p vg-asterisk-sim
target="${CARGO_TARGET_DIR:-$root/target}/release"

work="$(mktemp -d "${TMPDIR:-/tmp}/vg-bench-api.XXXXXX")"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
wait_http() { # wait_http URL WHAT
  for _ in $(seq 1 200); do
    curl -sf -o /dev/null "$1" && return 0
    sleep 0.05
  done
  echo "bench-api: $2 did not come up at $1" >&2
  exit 1
}

sim_port="$(free_port)"
http_port="$(free_port)"
secret="bench-secret-of-at-least-thirty-two-bytes"

"$target/asterisk-sim" --port "$sim_port" >"$work/sim.log" 2>&1 &
pids+=($!)
cat >"$work/gw.toml" <<EOF
[http]
listen = "127.0.0.1:$http_port"
[ari]
url = "http://127.0.0.1:$sim_port"
username = "gw"
password = "gwsecret"
[log]
level = "warn"
[events]
path = "$work/events.jsonl"
[speech]
stt = "fake"
tts = "fake"
[session]
# The call must outlive the benchmark: no reprompt-and-hang-up on silence.
silence_timeout = "1h"
[media]
rtp_port_range = "42000-42099"
[auth]
jwt_secret = "$secret"
EOF
for _ in $(seq 1 100); do
  curl -s -o /dev/null "http://127.0.0.1:$sim_port/" && break
  sleep 0.05
done
"$target/voice-gateway" serve --config "$work/gw.toml" >"$work/gw.log" 2>&1 &
gw_pid=$!
pids+=("$gw_pid")
wait_http "http://127.0.0.1:$http_port/readyz" "the gateway"

token="$(SECRET="$secret" python3 - <<'PY'
import base64, hashlib, hmac, json, os, time
b64 = lambda b: base64.urlsafe_b64encode(b).rstrip(b"=").decode()
head = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
body = b64(json.dumps({"sub": "bench", "tenant_id": "bench", "scope": "calls:read calls:write",
                       "exp": int(time.time()) + 3600}).encode())
sig = hmac.new(os.environ["SECRET"].encode(), f"{head}.{body}".encode(), hashlib.sha256).digest()
print(f"{head}.{body}.{b64(sig)}")
PY
)"
base="http://127.0.0.1:$http_port"
call="$(curl -sf -X POST "$base/v1/calls" -H "Authorization: Bearer $token" \
  -H 'Content-Type: application/json' -d '{"to":"+15550000003","agent_id":"builtin"}')"
id="$(printf '%s' "$call" | python3 -c 'import json,sys; print(json.load(sys.stdin)["call_id"])')"
echo "bench-api: call $id placed; ${duration}s per endpoint, $connections connections, $threads wrk threads"

run_wrk() { # run_wrk NAME PATH
  wrk -t"$threads" -c"$connections" -d"${duration}s" --latency \
    -H "Authorization: Bearer $token" "$base$2" >"$work/$1.wrk"
  cat "$work/$1.wrk" >&2
}
cpu_ticks() { awk '{print $14 + $15}' "/proc/$gw_pid/stat"; }
t0="$(cpu_ticks)"
run_wrk get "/v1/calls/$id"
t1="$(cpu_ticks)"
run_wrk list "/v1/calls?limit=20"
t2="$(cpu_ticks)"
rss_kb="$(awk '/VmHWM/ {print $2}' "/proc/$gw_pid/status")"

mkdir -p bench/results
out="bench/results/$(date -u +%Y-%m-%d)-api.json"
DURATION="$duration" CONNECTIONS="$connections" THREADS="$threads" HZ="$(getconf CLK_TCK)" \
  T0="$t0" T1="$t1" T2="$t2" RSS_KB="$rss_kb" WORK="$work" OUT="$out" python3 - <<'PY'
import json, os, re, platform
def parse(name):
    text = open(os.path.join(os.environ["WORK"], name + ".wrk")).read()
    unit = {"us": 1e-3, "ms": 1.0, "s": 1e3}
    lat = {f"p{p}_ms": float(v) * unit[u]
           for p, v, u in re.findall(r"^\s+(\d+)%\s+([\d.]+)(us|ms|s)$", text, re.M)}
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
    errs = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    sock = re.search(r"Socket errors: (.*)", text)
    return {"requests_per_second": rps, **lat,
            "non_2xx": int(errs.group(1)) if errs else 0,
            "socket_errors": sock.group(1) if sock else None}
hz, d = int(os.environ["HZ"]), float(os.environ["DURATION"])
t0, t1, t2 = (int(os.environ[k]) for k in ("T0", "T1", "T2"))
result = {
    "machine": {"cpus": os.cpu_count(), "kernel": platform.release()},
    "connections": int(os.environ["CONNECTIONS"]), "wrk_threads": int(os.environ["THREADS"]),
    "seconds_per_endpoint": d,
    "get_call": {**parse("get"), "gateway_cpu_cores": (t1 - t0) / hz / d},
    "list_calls": {**parse("list"), "gateway_cpu_cores": (t2 - t1) / hz / d},
    "gateway_peak_rss_mb": int(os.environ["RSS_KB"]) / 1024,
}
json.dump(result, open(os.environ["OUT"], "w"), indent=2)
g, l = result["get_call"], result["list_calls"]
print(f"GET /v1/calls/{{id}}: {g['requests_per_second']:.0f} req/s, p50 {g.get('p50_ms', 0):.2f} ms, "
      f"p99 {g.get('p99_ms', 0):.2f} ms, non-2xx {g['non_2xx']}, gateway {g['gateway_cpu_cores']:.2f} cores")
print(f"GET /v1/calls?limit=20: {l['requests_per_second']:.0f} req/s, p50 {l.get('p50_ms', 0):.2f} ms, "
      f"p99 {l.get('p99_ms', 0):.2f} ms, non-2xx {l['non_2xx']}, gateway {l['gateway_cpu_cores']:.2f} cores")
print(f"written to {os.environ['OUT']}")
PY
