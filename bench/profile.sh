#!/usr/bin/env bash
# Where a request's server CPU goes, by owner, for each example app's Beams route and its bare
# route, to see where the time goes when a target is missed. One command:
#
#   bash bench/profile.sh                   # both apps, route and bare, 10 s each
#   APPS=axum SECONDS_EACH=20 bash bench/profile.sh
#
# Builds both example apps' benchmark binaries (example-*-bench: the app plus GET /bench/bare)
# with the `profiling` profile (release + line tables), starts each in emulator mode
# (RUST_LOG=warn) pinned to CPU 0, logs in, and while wrk
# (pinned to CPU 1, -t2 -c64, the settings of bench/load.sh) loads one target, samples the
# server with `perf record -g --call-graph dwarf` (cpu-clock, 1999 Hz). bench/perf_breakdown.py
# then gives every sample one owner: the kernel (by system call), the route (beams-core and the
# adapter; the token apart), the session layer, the example app, or the HTTP stack. Writes
# bench/results/profile.md and prints it.
#
# The µs column is the share times the server CPU per request measured during the profiled run
# (from /proc). Sampling with DWARF call chains costs the server time: these µs run about
# 10–13% above bench/load.sh's, so compare owners within one run. Needs perf (Debian's
# linux-perf; installed when missing), a kernel that lets it sample your own processes
# (perf_event_paranoid ≤ 2; checked first), python3 ≥ 3.9, and about 250 MB of temp space per
# target while it runs.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# shellcheck source=bench/lib.sh
source bench/lib.sh

APPS="${APPS:-axum actix}"
SECONDS_EACH="${SECONDS_EACH:-10}"
FREQ="${FREQ:-1999}"
USER_ID="bench-user"
OUT="${OUT:-$ROOT/bench/results/profile.md}"
[[ "$OUT" == /* ]] || OUT="$ROOT/$OUT"
WORK="$(mktemp -d -t beams-profile.XXXXXX)"

PID=""
cleanup() {
  [[ -n "$PID" ]] && kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null
  rm -rf "$WORK"
  true
}
trap cleanup EXIT

for tool in wrk perf; do
  command -v "$tool" >/dev/null && continue
  pkg="$tool"
  [[ "$tool" == perf ]] && pkg=linux-perf
  apt-get update -qq && apt-get install -y -qq "$pkg" >/dev/null
done
command -v taskset >/dev/null || { echo "profile.sh: needs taskset (util-linux)" >&2; exit 1; }
python3 -c 'import sys; sys.exit(sys.version_info < (3, 9))' ||
  { echo "profile.sh: needs python3 >= 3.9 (bench/perf_breakdown.py)" >&2; exit 1; }
if ! perf record -q -o "$WORK/check.data" -- true 2>"$WORK/check.err"; then
  echo "profile.sh: perf cannot sample here (perf_event_paranoid is $(cat /proc/sys/kernel/perf_event_paranoid 2>/dev/null || echo '?')):" >&2
  cat "$WORK/check.err" >&2
  exit 1
fi
LOAD_BEFORE="$(cut -d' ' -f1-3 /proc/loadavg)"

echo "== cargo build --profile profiling $BENCH_BUILD_ARGS" >&2
# shellcheck disable=SC2086
cargo build --profile profiling --quiet $BENCH_BUILD_ARGS
TARGET_DIR="$(cargo metadata --format-version 1 --no-deps |
  sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')"
CLK_TCK="$(getconf CLK_TCK)"

declare -A SHARES US_REQ RPS
for app in $APPS; do
  log="$WORK/$app"
  env -u BEAMS_INSTANCE_ID -u BEAMS_SECRET_KEY -u BEAMS_ENDPOINT \
    PORT=0 RUST_LOG=warn \
    taskset -c 0 "$TARGET_DIR/profiling/example-$app-bench" >"$log.out" 2>"$log.err" &
  PID=$!
  url="$(wait_listening "$log.out" "$PID")" || { cat "$log.err" >&2; exit 1; }
  cookie="$(login_cookie "$url" "$USER_ID")" || { echo "profile.sh: $app: POST /login set no cookie" >&2; exit 1; }
  for target in route bare; do
    if [[ "$target" == route ]]; then path="/pusher/beams-auth?user_id=$USER_ID"; else path="/bench/bare?user_id=$USER_ID"; fi
    echo "== $app $target: warm-up, then perf record for ${SECONDS_EACH}s" >&2
    taskset -c 1 wrk -t2 -c64 -d2s -H "Cookie: $cookie" "$url$path" >/dev/null
    perf record -q -F "$FREQ" -g --call-graph dwarf,12288 -o "$WORK/$app-$target.data" \
      -p "$PID" -- sleep "$SECONDS_EACH" >/dev/null 2>"$WORK/perf.err" &
    perf_pid=$!
    c0="$(cpu_ticks "$PID")"
    res="$(taskset -c 1 wrk -t2 -c64 -d"${SECONDS_EACH}s" -H "Cookie: $cookie" "$url$path")"
    c1="$(cpu_ticks "$PID")"
    wait "$perf_pid" || { echo "profile.sh: perf record failed:" >&2; cat "$WORK/perf.err" >&2; exit 1; }
    n="$(awk '/requests in/ {print $1}' <<<"$res")"
    RPS[$app-$target]="$(awk '/^Requests\/sec:/ {printf "%.0f", $2}' <<<"$res")"
    US_REQ[$app-$target]="$(awk -v d="$((c1 - c0))" -v hz="$CLK_TCK" -v n="$n" 'BEGIN { printf "%.2f", d / hz * 1e6 / n }')"
    SHARES[$app-$target]="$(perf script -i "$WORK/$app-$target.data" -F ip,sym,dso --no-inline 2>/dev/null |
      python3 bench/perf_breakdown.py)"
    rm -f "$WORK/$app-$target.data"
    echo "   ${RPS[$app-$target]} req/s under perf, ${US_REQ[$app-$target]} µs CPU/request" >&2
  done
  kill "$PID"
  wait "$PID" 2>/dev/null || true
  PID=""
done

# table APP: one row per owner, route and bare side by side.
table() {
  python3 - "$1" "${SHARES[$1-route]}" "${SHARES[$1-bare]}" "${US_REQ[$1-route]}" "${US_REQ[$1-bare]}" <<'PY'
import json, sys
app, route, bare, us_r, us_b = sys.argv[1], json.loads(sys.argv[2]), json.loads(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5])
labels = [k for k in route if k != "samples"] + [k for k in bare if k != "samples" and k not in route]
print(f"| {app}: owner | route share | route µs/req | bare share | bare µs/req |")
print("|---|---:|---:|---:|---:|")
for k in labels:
    r, b = route.get(k, 0.0), bare.get(k, 0.0)
    print(f"| {k} | {100 * r:.1f}% | {r * us_r:.2f} | {100 * b:.1f}% | {b * us_b:.2f} |")
print(f"| **all** ({route['samples']} / {bare['samples']} samples) | 100% | **{us_r:.2f}** | 100% | **{us_b:.2f}** |")
PY
}

{
  echo "# Where the server CPU of a request goes (bench/profile.sh)"
  echo
  echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC'); commit $(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git diff --quiet HEAD -- . ':!bench/results' 2>/dev/null || echo ' + uncommitted changes')"
  echo "- server pinned to CPU 0, wrk -t2 -c64 pinned to CPU 1, ${SECONDS_EACH}s per target after a 2 s warm-up; perf cpu-clock at ${FREQ} Hz with DWARF call chains; load average before: $LOAD_BEFORE, after: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "- owners (bench/perf_breakdown.py): kernel samples by the system call on their chain; user-space samples by the innermost frame of a known crate (helpers such as core, alloc, std, http, bytes, serde, sha2 and base64, and shared libraries such as libc's malloc, count for their caller). Framework functions a session layer calls count as HTTP stack (actix-web's \`HttpRequest::cookies\`, say, apart from the cookie crate's parser it calls); the µs run 10–13% above bench/load.sh's because of the sampling."
  echo
  for app in $APPS; do
    echo "req/s while sampled: route ${RPS[$app-route]}, bare ${RPS[$app-bare]}."
    echo
    table "$app"
    echo
  done
} >"$OUT"
cat "$OUT"
