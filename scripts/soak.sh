#!/usr/bin/env bash
# Soak test of the Beams auth route of both example apps.
#
#   scripts/soak.sh [seconds] [connections]        (defaults: 60 s, 256 connections)
#
# For each of example-axum and example-actix: builds it in release, starts it in emulator mode
# on a free port, logs in once (POST /login) to get a session cookie, then runs wrk against
# GET /pusher/beams-auth?user_id=<that user> with the cookie for the given time and number of
# connections. Reports requests, requests/s, latency, socket errors, non-200 answers and the
# process's RSS (VmRSS, and the high-water mark VmHWM) before and after. Exits non-zero on any
# socket error or any answer other than 200, or if an app dies.
#
# Load tool: wrk (Debian package `wrk`; installed with apt-get when missing). Traffic stays
# on 127.0.0.1. Not part of the test command.
set -euo pipefail

seconds="${1:-60}"
connections="${2:-256}"
threads=2
user="soak-user"
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

if ! command -v wrk >/dev/null 2>&1; then
    echo "soak.sh: installing wrk" >&2
    apt-get update -qq && apt-get install -y -qq wrk >/dev/null
fi
for tool in curl wrk; do
    command -v "$tool" >/dev/null || { echo "soak.sh: $tool is required" >&2; exit 2; }
done

echo "soak.sh: building the examples (release)" >&2
cargo build --release -q -p example-axum -p example-actix
target_dir="$(cargo metadata --format-version 1 --no-deps | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')"

work="$(mktemp -d)"
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT

# Counts answers other than 200 across wrk's threads.
cat >"$work/count.lua" <<'LUA'
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) non200 = 0 end
function response(status, headers, body)
  if status ~= 200 then non200 = non200 + 1 end
end
function done(summary, latency, requests)
  local total = 0
  for _, t in ipairs(threads) do total = total + t:get("non200") end
  io.write(string.format("non-200 answers: %d\n", total))
end
LUA

rss() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status"; }

failed=0
report=()
for app in example-axum example-actix; do
    out="$work/$app.out"
    env -u BEAMS_INSTANCE_ID -u BEAMS_SECRET_KEY -u BEAMS_ENDPOINT PORT=0 RUST_LOG=warn \
        "$target_dir/release/$app" >"$out" 2>"$work/$app.err" &
    pid=$!
    pids+=("$pid")
    for _ in $(seq 1 100); do
        grep -q '^listening on ' "$out" 2>/dev/null && break
        sleep 0.1
    done
    base="$(sed -n 's/^listening on //p' "$out" | head -1)"
    [ -n "$base" ] || { echo "soak.sh: $app did not start" >&2; cat "$work/$app.err" >&2; exit 1; }

    jar="$work/$app.jar"
    curl -fsS -c "$jar" -d "username=$user" "$base/login" >/dev/null
    # curl writes HttpOnly cookies as "#HttpOnly_<domain> …" lines.
    cookie="$(awk '{ sub(/^#HttpOnly_/, "") } !/^#/ && NF >= 7 { printf "%s%s=%s", sep, $6, $7; sep = "; " }' "$jar")"
    url="$base/pusher/beams-auth?user_id=$user"
    curl -fsS -H "Cookie: $cookie" "$url" | grep -q '"token"' \
        || { echo "soak.sh: $app issued no token before the run" >&2; exit 1; }

    # Warm up, then measure.
    wrk -t"$threads" -c"$connections" -d2s -H "Cookie: $cookie" "$url" >/dev/null
    rss_before="$(rss "$pid" VmRSS)"
    hwm_before="$(rss "$pid" VmHWM)"
    echo "soak.sh: $app: ${seconds}s, $connections connections, $threads wrk threads" >&2
    wrk -t"$threads" -c"$connections" -d"${seconds}s" --latency --timeout 10s \
        -s "$work/count.lua" -H "Cookie: $cookie" "$url" | tee "$work/$app.wrk"
    sleep 1
    if ! kill -0 "$pid" 2>/dev/null; then
        echo "soak.sh: $app died during the run" >&2
        failed=1
        continue
    fi
    rss_after="$(rss "$pid" VmRSS)"
    hwm_after="$(rss "$pid" VmHWM)"
    kill "$pid"

    w="$work/$app.wrk"
    requests="$(awk '/requests in/ { print $1 }' "$w")"
    rps="$(awk '/^Requests\/sec:/ { print $2 }' "$w")"
    p50="$(awk '$1 == "50%" { print $2 }' "$w")"
    p99="$(awk '$1 == "99%" { print $2 }' "$w")"
    socket_errors="$(awk '/Socket errors:/ { gsub(",", ""); print $4 + $6 + $8 + $10 }' "$w")"
    socket_errors="${socket_errors:-0}"
    non2xx="$(awk '/Non-2xx or 3xx responses:/ { print $NF }' "$w")"
    non2xx="${non2xx:-0}"
    non200="$(awk '/^non-200 answers:/ { print $3 }' "$w")"
    if [ "$socket_errors" != 0 ] || [ "$non2xx" != 0 ] || [ "${non200:-1}" != 0 ]; then
        failed=1
    fi
    report+=("$(printf '%-14s %10s req %10s req/s  p50 %-8s p99 %-8s errors %s  non-2xx %s  non-200 %s  RSS %s -> %s kB  (HWM %s -> %s kB)' \
        "$app" "$requests" "$rps" "$p50" "$p99" "$socket_errors" "$non2xx" "${non200:-?}" \
        "$rss_before" "$rss_after" "$hwm_before" "$hwm_after")")
done

echo
echo "soak: ${seconds}s per app, $connections connections, GET /pusher/beams-auth with a session cookie"
printf '%s\n' "${report[@]}"
if [ "$failed" != 0 ]; then
    echo "soak.sh: FAILED (errors, non-200 answers or a dead app)" >&2
fi
exit "$failed"
