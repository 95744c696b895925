#!/usr/bin/env bash
# Several replicas, one publish budget: three processes fan out 50 000 users each at once to a
# beams-emulator that enforces Beams' 100 requests per second, sharing a RedisRateLimiter in a
# real redis-server; then the same with each process's own in-process limiter, for contrast.
# Reports, per run: refused (429) batches, the most requests the emulator received in any one
# second, and the wall time. Writes bench/results/replicas.md.
#
#   bash bench/replicas.sh            # USERS=50000 REPLICAS=3 by default
set -euo pipefail
cd "$(dirname "$0")/.."
USERS=${USERS:-50000}
REPLICAS=${REPLICAS:-3}
OUT=${OUT:-bench/results/replicas.md}
command -v redis-server >/dev/null || { echo "redis-server is missing (apt-get install redis-server)" >&2; exit 1; }

cargo build --release -q -p beams-emulator -p beams-tests --features beams-emulator/cli --example replica_fanout --bin beams-emulator
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
INSTANCE=00000000-0000-4000-8000-0000000000aa
SECRET=REPLICA-BENCH-SECRET
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

redis_port=$(free_port)
redis-server --bind 127.0.0.1 --port "$redis_port" --save '' --appendonly no >/dev/null &
pids+=($!)

run() { # $1 = redis|local
  local port; port=$(free_port)
  target/release/beams-emulator --port "$port" --instance-id "$INSTANCE" --secret-key "$SECRET" \
    --rate-limit 100 >"$work/emulator.log" 2>&1 &
  local emu=$!
  pids+=($emu)
  for _ in $(seq 100); do curl -s "http://127.0.0.1:$port/_emulator/info" >/dev/null && break; sleep 0.1; done
  local extra=()
  [ "$1" = redis ] && extra=(--redis "redis://127.0.0.1:$redis_port")
  local started; started=$(date +%s%N)
  local replicas=()
  for i in $(seq 0 $((REPLICAS - 1))); do
    target/release/examples/replica_fanout --endpoint "http://127.0.0.1:$port" --instance-id "$INSTANCE" \
      --secret-key "$SECRET" --users "$USERS" --offset $((i * USERS)) "${extra[@]}" >"$work/replica-$1-$i.json" &
    replicas+=($!)
  done
  wait "${replicas[@]}"
  local ended; ended=$(date +%s%N)
  curl -s "http://127.0.0.1:$port/_emulator/publishes" >"$work/publishes-$1.json"
  kill "$emu"; wait "$emu" 2>/dev/null || true
  python3 - "$1" "$work" $(( (ended - started) / 1000000 )) <<'PY'
import json, sys, glob
mode, work, wall = sys.argv[1], sys.argv[2], int(sys.argv[3])
reports = [json.load(open(f)) for f in sorted(glob.glob(f"{work}/replica-{mode}-*.json"))]
arrivals = sorted(p["receivedAtMs"] for p in json.load(open(f"{work}/publishes-{mode}.json")))
busiest = max(sum(1 for u in arrivals if t <= u < t + 1000) for t in arrivals) if arrivals else 0
print(f"| {mode} | {sum(r['batches'] for r in reports)} | {sum(r['ok'] for r in reports)} | "
      f"{sum(r['rateLimited'] for r in reports)} | {busiest} | {wall} | "
      f"{arrivals[-1] - arrivals[0] if arrivals else 0} |")
PY
}

{
  echo "# Several replicas, one budget ($(date -u '+%Y-%m-%d %H:%M UTC'))"
  echo
  echo "\`bash bench/replicas.sh\`: $REPLICAS processes × $USERS users, emulator \`--rate-limit 100\`, release builds."
  echo
  echo "| limiter | requests | accepted | refused (429) | most in any 1 s | wall ms (all processes) | first→last arrival ms |"
  echo "|---|---:|---:|---:|---:|---:|---:|"
  run redis
  run local
} | tee "$OUT"
