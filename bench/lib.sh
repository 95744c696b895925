# Shared by bench/load.sh, bench/instructions.sh and bench/profile.sh (source it; bash only).

# wait_listening LOG PID [TRIES]: waits until LOG (a server's stdout) has its
# "listening on http://…" line and prints the URL; fails if PID exits first or after TRIES
# tenths of a second (default 200).
wait_listening() {
  local log="$1" pid="$2" tries="${3:-200}" url=""
  for _ in $(seq 1 "$tries"); do
    url="$(sed -n 's/^listening on \(http:[^ ]*\).*/\1/p' "$log" 2>/dev/null | head -1)"
    if [[ -n "$url" ]]; then
      printf '%s' "$url"
      return 0
    fi
    kill -0 "$pid" 2>/dev/null || return 1
    sleep 0.1
  done
  return 1
}

# login_cookie URL USER: POST URL/login with username=USER and prints the session cookie
# (`name=value`) that the answer sets; fails when it sets none.
login_cookie() {
  local cookie
  cookie="$(curl -sS -D - -o /dev/null --data-urlencode "username=$2" "$1/login" |
    tr -d '\r' | sed -n 's/^[Ss]et-[Cc]ookie: *\([^;]*\).*/\1/p' | head -1)"
  [[ -n "$cookie" ]] || return 1
  printf '%s' "$cookie"
}

# cpu_ticks PID: the process's CPU time so far (user + system, all threads) in clock ticks.
cpu_ticks() { sed 's/^.*) //' "/proc/$1/stat" | awk '{print $12 + $13}'; }

# The benchmark binaries: each example app plus GET /bench/bare (feature `bench`), as
# `cargo build <profile> $BENCH_BUILD_ARGS` builds them (example-axum-bench, example-actix-bench).
# shellcheck disable=SC2034
BENCH_BUILD_ARGS="-p example-axum -p example-actix --features example-axum/bench,example-actix/bench --bin example-axum-bench --bin example-actix-bench"
