#!/usr/bin/env bash
# What the Prometheus recorder costs the auth route over HTTP: the same example-axum build
# twice, one process with METRICS_ADDR (the recorder installed, every request recorded) and one
# without, each logged in, measured with wrk in interleaved rounds in one run.
#
#   bash bench/metrics.sh            # ROUNDS=5 DURATION=8 WARMUP=2 CONNECTIONS=64 PIN=1
#
# Prints each round and the median req/s of each, and the ratio with / without.
# FEATURE_OFF_BIN=path adds a third process: example-axum built without the `metrics` feature
# (edit its beams-axum line, build, copy the binary out), to show what the feature costs
# with no recorder installed.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
# shellcheck source=bench/lib.sh
source bench/lib.sh

ROUNDS="${ROUNDS:-5}"
DURATION="${DURATION:-8}"
WARMUP="${WARMUP:-2}"
CONNECTIONS="${CONNECTIONS:-64}"
PIN="${PIN:-1}"
export RUST_LOG="${RUST_LOG:-warn}"
USER_ID="bench-user"
WORK="$(mktemp -d -t beams-metrics.XXXXXX)"
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT

command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
SERVER_PIN=(); LOAD_PIN=()
if [[ "$PIN" == 1 ]]; then SERVER_PIN=(taskset -c 0); LOAD_PIN=(taskset -c 1); fi

cargo build --release --quiet -p example-axum
BIN="$(cargo metadata --format-version 1 --no-deps | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')/release/example-axum"

# start NAME [ENV…]: the app with PORT=0 and the given environment; sets URL_<NAME>, COOKIE_<NAME>.
start() {
  local name="$1"; shift
  env -u BEAMS_INSTANCE_ID -u BEAMS_SECRET_KEY -u BEAMS_ENDPOINT PORT=0 "$@" \
    "${SERVER_PIN[@]}" "$BIN" >"$WORK/$name.out" 2>"$WORK/$name.err" &
  PIDS+=("$!")
  local url
  url="$(wait_listening "$WORK/$name.out" "$!")" || { cat "$WORK/$name.err" >&2; exit 1; }
  printf -v "URL_$name" '%s' "$url"
  printf -v "COOKIE_$name" '%s' "$(login_cookie "$url" "$USER_ID")"
}

metrics_port=$(( 20000 + RANDOM % 10000 ))
start plain
start recorded METRICS_ADDR="127.0.0.1:$metrics_port"
NAMES=(plain recorded)
if [[ -n "${FEATURE_OFF_BIN:-}" ]]; then
  BIN="$FEATURE_OFF_BIN" start nofeature
  NAMES=(nofeature plain recorded)
fi

rps() { # URL COOKIE SECONDS
  "${LOAD_PIN[@]}" wrk -t2 -c"$CONNECTIONS" -d"$3s" -H "Cookie: $2" "$1" |
    sed -n 's/^Requests\/sec: *\([0-9.]*\).*/\1/p'
}
route="/pusher/beams-auth?user_id=$USER_ID"
declare -A got
for round in $(seq 1 "$ROUNDS"); do
  for name in "${NAMES[@]}"; do
    url_var="URL_$name"; cookie_var="COOKIE_$name"
    rps "${!url_var}$route" "${!cookie_var}" "$WARMUP" >/dev/null
    r="$(rps "${!url_var}$route" "${!cookie_var}" "$DURATION")"
    got[$name]+="$r "
    printf 'round %s %-8s %s req/s\n' "$round" "$name" "$r"
  done
done
# Every token request was recorded: the exporter counts them.
curl -sS "http://127.0.0.1:$metrics_port/metrics" | grep -m1 '^beams_auth_requests_total{outcome="issued"}' >&2
median() { tr ' ' '\n' | grep . | sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
plain="$(median <<<"${got[plain]}")"
recorded="$(median <<<"${got[recorded]}")"
awk -v p="$plain" -v r="$recorded" 'BEGIN {
  printf "median: without a recorder %.0f req/s, with the Prometheus recorder %.0f req/s: %.1f%%\n", p, r, 100 * r / p }'
if [[ -n "${FEATURE_OFF_BIN:-}" ]]; then
  off="$(median <<<"${got[nofeature]}")"
  awk -v o="$off" -v p="$plain" 'BEGIN {
    printf "median: without the metrics feature %.0f req/s; with it and no recorder: %.1f%%\n", o, 100 * p / o }'
fi
