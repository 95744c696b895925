#!/usr/bin/env bash
# The outbox under chaos: three outbox_replica processes drain a 100 000-user fan-out and
# 1 000 single publishes through a beams-emulator that allows Beams' 100 requests per second,
# sharing one RedisRateLimiter, while a random replica is SIGKILLed and restarted every 2–3 s,
# the emulator answers three bursts of 40 5xx, and Redis (appendonly, fsync every second) is
# stopped with SIGTERM and started again on its directory once. Before that: enqueue
# throughput from one process. Reports every id published or dead, every user delivered,
# duplicates and their causes, 429s, the drain rate, and how long a killed replica's entries
# took to be published by another (claim_idle 5 s). About a minute; needs redis-server.
# Writes bench/results/outbox_chaos.md.
#
#   bash bench/outbox_chaos.sh                 # defaults below
#   RATE=98 bash bench/outbox_chaos.sh         # the replicas' shared budget (default: RedisRateLimiter::beams, 75/s)
#   SEED=42 bash bench/outbox_chaos.sh         # the same kill schedule again
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-bench/results/outbox_chaos.md}
command -v redis-server >/dev/null || { echo "redis-server is missing (apt-get install redis-server)" >&2; exit 1; }

cargo build --release -q -p beams-emulator -p beams-tests --features beams-emulator/cli \
  --bin beams-emulator --example outbox_replica --example outbox_chaos
target=${CARGO_TARGET_DIR:-target}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
extra=()
[ -n "${RATE:-}" ] && extra+=(--rate "$RATE")
[ -n "${SEED:-}" ] && extra+=(--seed "$SEED")
[ -n "${USERS:-}" ] && extra+=(--users "$USERS")
[ -n "${SINGLES:-}" ] && extra+=(--singles "$SINGLES")

{
  echo "# Outbox chaos ($(date -u '+%Y-%m-%d %H:%M UTC'))"
  echo
  echo "\`${RATE:+RATE=$RATE }${SEED:+SEED=$SEED }bash bench/outbox_chaos.sh\`, release builds."
  echo
  echo '```text'
  "$target/release/examples/outbox_chaos" --emulator "$target/release/beams-emulator" \
    --replica "$target/release/examples/outbox_replica" --work "$work" "${extra[@]}"
  echo '```'
} | tee "$OUT"
