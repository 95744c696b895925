#!/usr/bin/env bash
# Deterministic companion of bench/load.sh: user-space instructions per request of each example
# app's Beams route and its bare route, counted by valgrind's callgrind (no timing involved, so
# the figure does not move with the machine's load; the kernel's share of a request — loopback
# TCP, about half of the CPU in bench/load.sh's profile — is not counted).
#
#   bash bench/instructions.sh            # both apps, 2000 requests per target
#   REQUESTS=5000 APPS=axum bash bench/instructions.sh
#
# Each app's benchmark binary (example-*-bench: the app plus GET /bench/bare) runs under
# callgrind (emulator mode, RUST_LOG=warn); after
# login and a warm-up the counters are zeroed, REQUESTS keep-alive requests are sent one after
# the other by one curl process, and the counters are dumped. Prints a table and writes
# bench/results/instructions.md; the callgrind files stay in $KEEP (default a temp dir that is
# removed) for `callgrind_annotate --inclusive=yes`.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# shellcheck source=bench/lib.sh
source bench/lib.sh
REQUESTS="${REQUESTS:-2000}"
# BIN_DIR=… runs the benchmark binaries (example-*-bench) of another build (default target/release)
OUT="${OUT:-$ROOT/bench/results/instructions.md}"
[[ "$OUT" == /* ]] || OUT="$ROOT/$OUT"
APPS="${APPS:-axum actix}"
WORK="${KEEP:-$(mktemp -d -t beams-callgrind.XXXXXX)}"
mkdir -p "$WORK"
USER_ID="bench-user"

command -v valgrind >/dev/null || { apt-get update -qq && apt-get install -y -qq valgrind >/dev/null; }
if [[ "${SKIP_BUILD:-0}" != 1 ]]; then
  # shellcheck disable=SC2086
  cargo build --release --quiet $BENCH_BUILD_ARGS
fi

PID=""
cleanup() {
  [[ -n "$PID" ]] && kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null
  [[ -z "${KEEP:-}" ]] && rm -rf "$WORK"
  true
}
trap cleanup EXIT

# requests URL COOKIE N : N sequential requests on one keep-alive connection.
requests() {
  local cfg="$WORK/curl.cfg"
  {
    echo "header = \"Cookie: $2\""
    for _ in $(seq 1 "$3"); do printf 'url = "%s"\noutput = /dev/null\n' "$1"; done
  } >"$cfg"
  curl -sS --fail -K "$cfg"
}

# total Ir of the last dump of callgrind file prefix $1
total_ir() {
  local f
  f="$(ls -t "$1".* | head -1)"
  callgrind_annotate "$f" 2>/dev/null | awk '!done && /PROGRAM TOTALS/ {gsub(/,/, "", $1); print $1; done = 1}'
}

# inclusive Ir of the portable SHA-256 compression in callgrind file $1
sha_ir() {
  callgrind_annotate --inclusive=yes "$1" 2>/dev/null |
    awk '!done && /sha2::sha256::compress256/ {gsub(/,/, "", $1); print $1; done = 1}'
}

declare -A IR SHA
for app in $APPS; do
  out="$WORK/$app"
  env -u BEAMS_INSTANCE_ID -u BEAMS_SECRET_KEY -u BEAMS_ENDPOINT \
    PORT=0 RUST_LOG=warn \
    valgrind --tool=callgrind --callgrind-out-file="$out.cg.%p" \
    "${BIN_DIR:-target/release}/example-$app-bench" >"$out.out" 2>"$out.err" &
  PID=$!
  url="$(wait_listening "$out.out" "$PID" 600)" || { cat "$out.err" >&2; exit 1; }
  cookie="$(login_cookie "$url" "$USER_ID")" || { echo "instructions.sh: $app: POST /login set no cookie" >&2; exit 1; }
  for target in route bare; do
    if [[ "$target" == route ]]; then path="/pusher/beams-auth?user_id=$USER_ID"; else path="/bench/bare"; fi
    requests "$url$path" "$cookie" 200 # warm-up
    callgrind_control -z "$PID" >/dev/null
    requests "$url$path" "$cookie" "$REQUESTS"
    callgrind_control -d "$app-$target" "$PID" >/dev/null
    sleep 0.5
    IR[$app-$target]="$(total_ir "$out.cg.$PID")"
    cp "$(ls -t "$out.cg.$PID".* | head -1)" "$WORK/$app-$target.callgrind"
    SHA[$app-$target]="$(sha_ir "$WORK/$app-$target.callgrind")"
    echo "$app $target: $(( IR[$app-$target] / REQUESTS )) instructions/request" >&2
  done
  kill "$PID"
  wait "$PID" 2>/dev/null || true
  PID=""
done

{
  echo "# User-space instructions per request (bench/instructions.sh)"
  echo
  echo "$(date -u '+%Y-%m-%d %H:%M UTC'), commit $(git rev-parse --short HEAD 2>/dev/null || echo '?'); callgrind, $REQUESTS sequential keep-alive requests per target after 200 warm-up, RUST_LOG=warn."
  echo
  echo "| app | route Ir/req | of which SHA-256 (portable, see below) | bare Ir/req | route − bare | route − bare − SHA-256 |"
  echo "|---|---:|---:|---:|---:|---:|"
  for app in $APPS; do
    r=$(( IR[$app-route] / REQUESTS ))
    b=$(( IR[$app-bare] / REQUESTS ))
    h=$(( ${SHA[$app-route]:-0} / REQUESTS ))
    printf '| %s | %d | %d | %d | %d | %d |\n' "$app" "$r" "$h" "$b" "$((r - b))" "$((r - b - h))"
  done
  echo
  echo "User space only: the kernel's share of a request (loopback TCP, about half of its CPU) is"
  echo "not counted. valgrind hides the CPU's SHA extensions, so the token's HMAC runs the portable"
  echo "SHA-256 here (natively it is about 0.2 µs); the last column is the route's own other work."
  echo "A server's event loop makes the totals vary by a few hundred instructions between runs."
} >"$OUT"
cat "$OUT"
[[ -n "${KEEP:-}" ]] && echo "callgrind files: $WORK/*.callgrind" >&2
true
