#!/usr/bin/env bash
# Runs every cargo-fuzz target of fuzz/ for a fixed time and prints a summary.
#
#   scripts/fuzz.sh [seconds-per-target] [target ...]     (default: 60 s, every target)
#
# Targets (fuzz/fuzz_targets/):
#   query_decoder   BeamsAuth::check_request (the query decoding) against a reference decoder, and
#                   BeamsAuth::authorize on the same input
#   emulator_jwt    the emulator's token verification (PUT …/devices/web/{id}/user) through
#                   its router: raw Authorization values and JWTs signed with the right key
#   emulator_json   the emulator's JSON handling: any body to the publish, device, reporting
#                   and fault-injection endpoints, through its router
#
# Needs cargo-fuzz (installed here with `cargo install cargo-fuzz --locked` when missing) and a
# nightly toolchain for `-Zsanitizer=address`. Without nightly, RUSTC_BOOTSTRAP=1 lets the
# stable compiler accept the -Z flags. Corpora go to fuzz/corpus/<target>/ and crashes to
# fuzz/artifacts/<target>/ (both git-ignored). Not part of the test command.
set -euo pipefail

seconds="${1:-60}"
shift || true
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root/fuzz"

if ! command -v cargo-fuzz >/dev/null 2>&1; then
    echo "fuzz.sh: installing cargo-fuzz" >&2
    cargo install cargo-fuzz --locked
fi

toolchain=()
if rustup toolchain list 2>/dev/null | grep -q '^nightly'; then
    toolchain=(+nightly)
else
    echo "fuzz.sh: no nightly toolchain; using the stable compiler with RUSTC_BOOTSTRAP=1" >&2
    export RUSTC_BOOTSTRAP=1
fi

if [ "$#" -gt 0 ]; then
    targets=("$@")
else
    mapfile -t targets < <(cargo "${toolchain[@]}" fuzz list)
fi

seed() {
    local dir="corpus/$1"
    mkdir -p "$dir"
    case "$1" in
        query_decoder)
            printf 'user_id=alice' >"$dir/seed-plain"
            printf 'user_id=john+test%%40example.com&x=1' >"$dir/seed-plus"
            printf 'a=1&user%%5Fid=%%C3%%A9&user_id=%%ZZ' >"$dir/seed-repeated"
            ;;
        emulator_jwt)
            printf '\001{"alg":"HS256","typ":"JWT"}\377{"sub":"alice","iss":"https://1b880590-6301-4bb5-b34f-45db1c5f5644.pushnotifications.pusher.com","exp":4707992302}' >"$dir/seed-valid"
            printf '\000Bearer eyJhbGciOiJIUzI1NiJ9.e30.AAAA' >"$dir/seed-raw"
            ;;
        emulator_json)
            printf '\002{"users":["alice"],"web":{"notification":{"title":"Hi"}}}' >"$dir/seed-users"
            printf '\001{"interests":["news"],"fcm":{"notification":{"title":"Hi"}}}' >"$dir/seed-interests"
            printf '\003{"token":"abc","metadata":{"sdkVersion":"1"}}' >"$dir/seed-register"
            printf '\010{"status":429,"count":2}' >"$dir/seed-fault"
            ;;
    esac
}

echo "fuzz.sh: building the targets" >&2
cargo "${toolchain[@]}" fuzz build

status=0
summary=()
for target in "${targets[@]}"; do
    seed "$target"
    log="$(mktemp)"
    echo "fuzz.sh: $target for ${seconds}s" >&2
    if cargo "${toolchain[@]}" fuzz run "$target" "corpus/$target" -- \
        -max_total_time="$seconds" -print_final_stats=1 -max_len=4096 >"$log" 2>&1; then
        result="ok"
    else
        result="FAILED (see fuzz/artifacts/$target/)"
        status=1
        tail -40 "$log" >&2
    fi
    execs="$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)"
    rate="$(grep -o 'stat::average_exec_per_sec: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)"
    rss="$(grep -o 'stat::peak_rss_mb: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)"
    cov="$(grep -o 'cov: [0-9]*' "$log" | tail -1 | grep -o '[0-9]*')"
    corpus="$(find "corpus/$target" -type f | wc -l)"
    summary+=("$(printf '%-14s %6ss %12s execs %8s exec/s  cov %6s  corpus %5s  peak RSS %5s MB  %s' \
        "$target" "$seconds" "${execs:-?}" "${rate:-?}" "${cov:-?}" "$corpus" "${rss:-?}" "$result")")
    rm -f "$log"
done

echo
echo "target         time          executions      rate"
printf '%s\n' "${summary[@]}"
exit "$status"
