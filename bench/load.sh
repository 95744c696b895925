#!/usr/bin/env bash
# HTTP load benchmark of the Beams auth route, one command, one run:
#
#   bash bench/load.sh
#
# Builds both example apps' benchmark binaries in release (example-axum-bench and
# example-actix-bench, feature `bench`: the app, on the same hardened server, plus
# GET /bench/bare), starts each in emulator mode (BEAMS_INSTANCE_ID and BEAMS_SECRET_KEY
# unset), and the express peer (bench/express-peer),
# logs in to each through its own POST /login to get a real session cookie, then measures on
# loopback with wrk, at the same concurrency for every target:
#
#   axum   GET /pusher/beams-auth?user_id=bench-user   (the route)
#   axum   GET /bench/bare?user_id=bench-user          (same app, same session extractor,
#                                                       same request, same-sized JSON and
#                                                       headers; no query check, no token)
#   actix  the same two
#   express GET /pusher/beams-auth?user_id=bench-user  (the Beams docs' route, official Node SDK)
#
# and the example apps' memory: RSS when idle (after start and login) and the peak RSS while
# the load ran (VmHWM, reset through /proc/<pid>/clear_refs after the idle reading).
# Writes bench/results/latest.md (and the raw wrk output to bench/results/latest-raw.txt)
# and prints the table.
#
# Knobs (environment):
#   DURATION=10s WARMUP=2s CONNECTIONS=64 THREADS=2   wrk settings, identical for all targets
#   ROUNDS=3        measure every target this many times, interleaved (round 1: every
#                   target, round 2: every target, …); the table shows each target's best
#                   round (highest req/s; other work on the machine only slows a server
#                   down) and lists every round. ROUNDS=1 for a quick look.
#   PIN=1           pin the servers to CPU $SERVER_CPUS (default 0) and wrk to $LOAD_CPUS
#                   (default 1), so the load tool does not take the server's core; PIN=0 lets
#                   the scheduler place everything (servers then run 2 worker threads)
#   RUST_LOG=warn   the apps' log filter (actix-app's request Logger writes a line per request
#                   at info; the express peer logs nothing)
#   SKIP_BUILD=1    reuse target/release binaries
#   BIN_DIR=…       run the benchmark binaries (example-*-bench) from this directory (e.g.
#                   another build, for a before/after comparison; implies nothing about
#                   SKIP_BUILD)
#   APP_ENV="K=V …" extra environment for the two example apps only (not node, not wrk):
#                   space-separated NAME=value words, values without spaces, e.g.
#                   APP_ENV=LD_PRELOAD=/usr/lib/x86_64-linux-gnu/libjemalloc.so.2 to try
#                   another allocator without rebuilding
#   OUT=bench/results/latest.md   where the table goes (the raw wrk output goes beside it,
#                   with -raw.txt instead of .md)
#
# Loopback only; every server started here is stopped on exit.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# shellcheck source=bench/lib.sh
source bench/lib.sh

DURATION="${DURATION:-10s}"
WARMUP="${WARMUP:-2s}"
CONNECTIONS="${CONNECTIONS:-64}"
THREADS="${THREADS:-2}"
ROUNDS="${ROUNDS:-3}"
PIN="${PIN:-1}"
SERVER_CPUS="${SERVER_CPUS:-0}"
LOAD_CPUS="${LOAD_CPUS:-1}"
export RUST_LOG="${RUST_LOG:-warn}"
USER_ID="bench-user" # example_support::bench::BENCH_USER: /bench/bare's body is as long as this user's token
RESULTS="$ROOT/bench/results"
OUT="${OUT:-$RESULTS/latest.md}"
[[ "$OUT" == /* ]] || OUT="$ROOT/$OUT"
RAW="${OUT%.md}-raw.txt"
mkdir -p "$(dirname "$OUT")"
WORK="$(mktemp -d -t beams-bench.XXXXXX)"

say() { printf '\n== %s\n' "$*" >&2; }
die() { printf 'bench/load.sh: %s\n' "$*" >&2; exit 1; }

PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT

# ---- tools ------------------------------------------------------------------------------------
if ! command -v wrk >/dev/null; then
  say "installing wrk (Debian package)"
  apt-get update -qq && apt-get install -y -qq wrk >/dev/null || die "could not install wrk"
fi
command -v curl >/dev/null || { apt-get update -qq && apt-get install -y -qq curl >/dev/null; }
command -v node >/dev/null || { apt-get update -qq && apt-get install -y -qq nodejs npm >/dev/null; }
if [[ "$PIN" == 1 ]]; then
  command -v taskset >/dev/null || die "PIN=1 needs taskset (util-linux)"
  SERVER_PIN=(taskset -c "$SERVER_CPUS")
  LOAD_PIN=(taskset -c "$LOAD_CPUS")
else
  SERVER_PIN=()
  LOAD_PIN=()
fi

if [[ ! -d bench/express-peer/node_modules ]]; then
  say "npm ci (bench/express-peer, from package-lock.json)"
  (cd bench/express-peer && npm ci --no-audit --no-fund --loglevel=error)
fi

if [[ "${SKIP_BUILD:-0}" != 1 ]]; then
  say "cargo build --release $BENCH_BUILD_ARGS"
  # shellcheck disable=SC2086
  cargo build --release --quiet $BENCH_BUILD_ARGS
fi
TARGET_DIR="$(cargo metadata --format-version 1 --no-deps 2>/dev/null |
  sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')"
TARGET_DIR="${TARGET_DIR:-$ROOT/target}"
BIN_DIR="${BIN_DIR:-$TARGET_DIR/release}"

LOAD_BEFORE="$(cut -d' ' -f1-3 /proc/loadavg)"
busy() { ps -eo comm= | grep -cxE 'rustc|cc1|cc1plus|ld|cargo|rust-lld|cc' || true; }
BUSY_BEFORE="$(busy)"

# ---- servers ----------------------------------------------------------------------------------
# start NAME CMD... : starts a server with PORT=0, waits for "listening on http://…", and sets
# URL_<NAME> and PID_<NAME>.
start() {
  local name="$1"
  shift
  local log="$WORK/$name"
  env -u BEAMS_INSTANCE_ID -u BEAMS_SECRET_KEY -u BEAMS_ENDPOINT \
    PORT=0 "${SERVER_PIN[@]}" "$@" >"$log.out" 2>"$log.err" &
  local pid=$!
  PIDS+=("$pid")
  local url
  url="$(wait_listening "$log.out" "$pid")" || { cat "$log.err" >&2; die "$name did not start (no \"listening on\" line within 20 s)"; }
  printf -v "URL_$name" '%s' "$url"
  printf -v "PID_$name" '%s' "$pid"
}

# login NAME : POST /login username=bench-user, sets COOKIE_<NAME> to the session cookie.
login() {
  local name="$1" url_var="URL_$1"
  local cookie
  cookie="$(login_cookie "${!url_var}" "$USER_ID")" || die "$name: POST /login set no cookie"
  printf -v "COOKIE_$name" '%s' "$cookie"
}

# check URL COOKIE : the target answers 200 with a {"token":"…"} body; prints the body length.
check() {
  local body status
  body="$(curl -sS -H "Cookie: $2" -w '\n%{http_code}' "$1")"
  status="${body##*$'\n'}"
  body="${body%$'\n'*}"
  [[ "$status" == 200 && "$body" == '{"token":"'* ]] || die "$1 answered $status: $body"
  printf '%s' "${#body}"
}

rss_kib() { sed -n "s/^$2:[[:space:]]*\([0-9]*\) kB/\1/p" "/proc/$1/status"; }

say "starting the servers (emulator mode, RUST_LOG=$RUST_LOG, PIN=$PIN)"
read -r -a APP_ENV_ARGS <<<"${APP_ENV:-}"
for word in "${APP_ENV_ARGS[@]}"; do
  [[ "$word" =~ ^[A-Za-z_][A-Za-z0-9_]*= ]] || die "APP_ENV: \"$word\" is not NAME=value"
done
start axum env "${APP_ENV_ARGS[@]}" "$BIN_DIR/example-axum-bench"
start actix env "${APP_ENV_ARGS[@]}" "$BIN_DIR/example-actix-bench"
start express node bench/express-peer/server.js
for app in axum actix express; do login "$app"; done

ROUTE="/pusher/beams-auth?user_id=$USER_ID"
declare -A T_URL T_COOKIE T_BYTES
TARGETS=(axum_route axum_bare actix_route actix_bare express_route)
T_URL[axum_route]="$URL_axum$ROUTE"
T_URL[axum_bare]="$URL_axum/bench/bare?user_id=$USER_ID"
T_URL[actix_route]="$URL_actix$ROUTE"
T_URL[actix_bare]="$URL_actix/bench/bare?user_id=$USER_ID"
T_URL[express_route]="$URL_express$ROUTE"
T_COOKIE[axum_route]="$COOKIE_axum"
T_COOKIE[axum_bare]="$COOKIE_axum"
T_COOKIE[actix_route]="$COOKIE_actix"
T_COOKIE[actix_bare]="$COOKIE_actix"
T_COOKIE[express_route]="$COOKIE_express"
for t in "${TARGETS[@]}"; do T_BYTES[$t]="$(check "${T_URL[$t]}" "${T_COOKIE[$t]}")"; done

# Idle memory after start and login; then reset the peak so VmHWM is the peak under load.
sleep 1
declare -A IDLE_RSS PEAK_RSS
for app in axum actix express; do
  pid_var="PID_$app"
  IDLE_RSS[$app]="$(rss_kib "${!pid_var}" VmRSS)"
  echo 5 >"/proc/${!pid_var}/clear_refs" 2>/dev/null || echo "note: could not reset VmHWM of $app" >&2
done

# ---- load -------------------------------------------------------------------------------------
: >"$RAW"
# to_ms VALUE_WITH_UNIT (wrk prints us, ms or s)
to_ms() {
  awk -v v="$1" 'BEGIN {
    n = v + 0; u = v; sub(/^[0-9.]+/, "", u)
    if (u == "us") n /= 1000; else if (u == "s") n *= 1000; else if (u == "m") n *= 60000
    printf "%.3f", n }'
}
CLK_TCK="$(getconf CLK_TCK)"
declare -A R_RPS R_P50 R_P99 R_ERR R_CPU R_UTIL
LOADS_DURING=()
for round in $(seq 1 "$ROUNDS"); do
  for t in "${TARGETS[@]}"; do
    say "round $round/$ROUNDS: $t (${T_URL[$t]})"
    "${LOAD_PIN[@]}" wrk -t"$THREADS" -c"$CONNECTIONS" -d"$WARMUP" -H "Cookie: ${T_COOKIE[$t]}" \
      "${T_URL[$t]}" >/dev/null
    pid_var="PID_${t%%_*}"
    cpu_before="$(cpu_ticks "${!pid_var}")"
    t0="$(date +%s.%N)"
    res="$("${LOAD_PIN[@]}" wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency \
      -H "Cookie: ${T_COOKIE[$t]}" "${T_URL[$t]}")"
    cpu_after="$(cpu_ticks "${!pid_var}")"
    t1="$(date +%s.%N)"
    LOADS_DURING+=("$(cut -d' ' -f1 /proc/loadavg)")
    printf '### round %s: %s\n%s\n\n' "$round" "$t" "$res" >>"$RAW"
    rps="$(awk '/^Requests\/sec:/ {print $2}' <<<"$res")"
    p50="$(to_ms "$(awk '$1 == "50%" {print $2}' <<<"$res")")"
    p99="$(to_ms "$(awk '$1 == "99%" {print $2}' <<<"$res")")"
    non2xx="$(awk '/Non-2xx/ {print $NF}' <<<"$res")"
    sockerr="$(awk '/Socket errors/ {gsub(/,/, ""); print $4 + $6 + $8 + $10}' <<<"$res")"
    err=$((${non2xx:-0} + ${sockerr:-0}))
    requests="$(awk '/requests in/ {print $1}' <<<"$res")"
    cpu_us="$(awk -v d="$((cpu_after - cpu_before))" -v hz="$CLK_TCK" -v n="$requests" \
      'BEGIN { printf "%.1f", d / hz * 1e6 / n }')"
    # How busy the server was: 100% = one core all the time (below that on one pinned core,
    # the load tool, not the server, set the pace).
    util="$(awk -v d="$((cpu_after - cpu_before))" -v hz="$CLK_TCK" -v a="$t0" -v b="$t1" \
      'BEGIN { printf "%.0f", 100 * d / hz / (b - a) }')"
    printf '%s req/s, p50 %s ms, p99 %s ms, errors %s, server CPU %s us/req, %s%% of a core\n' \
      "$rps" "$p50" "$p99" "$err" "$cpu_us" "$util" >&2
    R_RPS[$t]+="$rps "
    R_P50[$t]+="$p50 "
    R_P99[$t]+="$p99 "
    R_ERR[$t]+="$err "
    R_CPU[$t]+="$cpu_us "
    R_UTIL[$t]+="$util "
  done
done
for app in axum actix express; do
  pid_var="PID_$app"
  PEAK_RSS[$app]="$(rss_kib "${!pid_var}" VmHWM)"
done
LOAD_AFTER="$(cut -d' ' -f1-3 /proc/loadavg)"
BUSY_AFTER="$(busy)"

# The best round of a target (highest req/s): its index among the rounds. Other work on the
# machine only ever slows a server down, so the best round is the closest to its capacity.
best_idx() {
  tr ' ' '\n' <<<"${R_RPS[$1]}" | grep . | awk '{print NR-1, $1}' | sort -k2 -g | tail -1 |
    cut -d' ' -f1
}
nth() { tr ' ' '\n' <<<"$1" | grep . | sed -n "$(($2 + 1))p"; }
declare -A RPS P50 P99 ERR ALL CPU UTIL
for t in "${TARGETS[@]}"; do
  i="$(best_idx "$t")"
  RPS[$t]="$(nth "${R_RPS[$t]}" "$i")"
  P50[$t]="$(nth "${R_P50[$t]}" "$i")"
  P99[$t]="$(nth "${R_P99[$t]}" "$i")"
  UTIL[$t]="$(nth "${R_UTIL[$t]}" "$i")"
  # Likewise the lowest CPU per request of all rounds.
  CPU[$t]="$(tr ' ' '\n' <<<"${R_CPU[$t]}" | grep . | sort -g | head -1)"
  ERR[$t]="$(tr ' ' '\n' <<<"${R_ERR[$t]}" | awk '{s += $1} END {print s + 0}')"
  ALL[$t]="$(sed 's/ *$//; s/ /, /g' <<<"${R_RPS[$t]}")"
done
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
pct() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f%%", 100 * a / b }'; }
mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
mark() { awk -v v="$1" -v lim="$2" -v dir="$3" 'BEGIN {
  ok = (dir == ">=") ? (v >= lim) : (v < lim); print ok ? "met" : "**missed**" }'; }

axum_bare_r="$(awk -v a="${RPS[axum_route]}" -v b="${RPS[axum_bare]}" 'BEGIN {print a / b}')"
actix_bare_r="$(awk -v a="${RPS[actix_route]}" -v b="${RPS[actix_bare]}" 'BEGIN {print a / b}')"
axum_x="$(awk -v a="${RPS[axum_route]}" -v b="${RPS[express_route]}" 'BEGIN {print a / b}')"
actix_x="$(awk -v a="${RPS[actix_route]}" -v b="${RPS[express_route]}" 'BEGIN {print a / b}')"

label() {
  case "$1" in
    axum_route) echo 'axum `GET /pusher/beams-auth`' ;;
    axum_bare) echo 'axum `GET /bench/bare`' ;;
    actix_route) echo 'actix `GET /pusher/beams-auth`' ;;
    actix_bare) echo 'actix `GET /bench/bare`' ;;
    express_route) echo 'express peer `GET /pusher/beams-auth`' ;;
  esac
}

if [[ "$PIN" == 1 ]]; then
  pin_text="servers pinned to CPU $SERVER_CPUS, wrk to CPU $LOAD_CPUS (\`taskset\`; tokio and actix then run 1 worker each, like node)"
else
  pin_text="not pinned: servers and wrk share both cores (tokio and actix run 2 workers)"
fi

{
  echo "# Load benchmark: the Beams auth route (bench/load.sh)"
  echo
  echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC'); commit $(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git diff --quiet HEAD -- . ':!bench/results' 2>/dev/null || echo ' + uncommitted changes')"
  echo "- machine: $(nproc) cores ($(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)), $(awk '/MemTotal/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo); $(rustc --version); node $(node --version); $(wrk --version 2>&1 | head -1 | cut -d' ' -f1-2)"
  echo "- wrk: $THREADS threads, $CONNECTIONS connections, $WARMUP warm-up then $DURATION measured per target; $ROUNDS round(s), interleaved; table = each target's best round (highest req/s; lowest CPU µs/req)"
  echo "- placement: $pin_text"
  echo "- apps: release build, emulator mode, RUST_LOG=$RUST_LOG${APP_ENV:+, $APP_ENV}; session cookie from each app's own POST /login (user \`$USER_ID\`)"
  echo "- load average (1/5/15 min): before $LOAD_BEFORE; after each target ${LOADS_DURING[*]}; after $LOAD_AFTER. Compiler processes running: $BUSY_BEFORE before, $BUSY_AFTER after"
  echo
  echo "| target | body bytes | req/s | p50 ms | p99 ms | errors | server CPU µs/req | server busy | req/s of every round |"
  echo "|---|---:|---:|---:|---:|---:|---:|---:|---|"
  for t in "${TARGETS[@]}"; do
    printf '| %s | %s | %.0f | %s | %s | %s | %s | %s%% | %s |\n' "$(label "$t")" "${T_BYTES[$t]}" \
      "${RPS[$t]}" "${P50[$t]}" "${P99[$t]}" "${ERR[$t]}" "${CPU[$t]}" "${UTIL[$t]}" "${ALL[$t]}"
  done
  echo
  echo "Throughput ratios use the req/s column (the target's definition). The CPU column divides"
  echo "the server's CPU time (user + system, all threads, from /proc) by the requests served; it"
  echo "moves less than req/s when other work shares the machine, so its ratios are a second"
  echo "reading of the same question (bare CPU ÷ route CPU = the route's throughput share at equal"
  echo "CPU). Server busy: the server's CPU time over the run's wall time (100% = one core; below"
  echo "that with PIN=1, something else took the server's core, or wrk set the pace)."
  echo
  echo "| ratio | by req/s | by server CPU per request | target | by req/s | by CPU |"
  echo "|---|---:|---:|---:|---|---|"
  echo "| axum route / axum bare | $(pct "${RPS[axum_route]}" "${RPS[axum_bare]}") | $(pct "${CPU[axum_bare]}" "${CPU[axum_route]}") | ≥ 90% | $(mark "$axum_bare_r" 0.9 '>=') | $(mark "$(ratio "${CPU[axum_bare]}" "${CPU[axum_route]}")" 0.9 '>=') |"
  echo "| actix route / actix bare | $(pct "${RPS[actix_route]}" "${RPS[actix_bare]}") | $(pct "${CPU[actix_bare]}" "${CPU[actix_route]}") | ≥ 90% | $(mark "$actix_bare_r" 0.9 '>=') | $(mark "$(ratio "${CPU[actix_bare]}" "${CPU[actix_route]}")" 0.9 '>=') |"
  echo "| axum route / express peer | $(ratio "${RPS[axum_route]}" "${RPS[express_route]}")× | $(ratio "${CPU[express_route]}" "${CPU[axum_route]}")× | ≥ 60× | $(mark "$axum_x" 60 '>=') | $(mark "$(ratio "${CPU[express_route]}" "${CPU[axum_route]}")" 60 '>=') |"
  echo "| actix route / express peer | $(ratio "${RPS[actix_route]}" "${RPS[express_route]}")× | $(ratio "${CPU[express_route]}" "${CPU[actix_route]}")× | ≥ 60× | $(mark "$actix_x" 60 '>=') | $(mark "$(ratio "${CPU[express_route]}" "${CPU[actix_route]}")" 60 '>=') |"
  echo "| axum bare / express peer (the ceiling: the most any route in this app could reach) | $(ratio "${RPS[axum_bare]}" "${RPS[express_route]}")× | $(ratio "${CPU[express_route]}" "${CPU[axum_bare]}")× | — | | |"
  echo "| actix bare / express peer (likewise) | $(ratio "${RPS[actix_bare]}" "${RPS[express_route]}")× | $(ratio "${CPU[express_route]}" "${CPU[actix_bare]}")× | — | | |"
  echo
  echo "| app memory | RSS idle (after start + login) | peak RSS during the load (VmHWM) | target |"
  echo "|---|---:|---:|---|"
  for app in axum actix; do
    echo "| example-$app (incl. its embedded emulator) | $(mib "${IDLE_RSS[$app]}") MiB | $(mib "${PEAK_RSS[$app]}") MiB | < 32 / < 64 MiB: $(mark "${IDLE_RSS[$app]}" 32768 '<') / $(mark "${PEAK_RSS[$app]}" 65536 '<') |"
  done
  echo "| express peer (node, for reference) | $(mib "${IDLE_RSS[express]}") MiB | $(mib "${PEAK_RSS[express]}") MiB | — |"
  echo
  echo "Raw wrk output: \`${RAW#"$ROOT"/}\`."
} >"$OUT"

cat "$OUT"
