#!/usr/bin/env bash
# What an adapter with default features adds to a host app, counted the way a host would:
# `cargo tree -e normal` of a scratch axum + tower-sessions app and a scratch actix-web +
# actix-session app, each without and with the adapter (a path dependency on this checkout).
# Prints the added crates and fails if any of them is RSA, ECDSA/EC or EdDSA code or a C build.
#
#   bash bench/deps.sh            # writes bench/results/deps.md
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
OUT=${OUT:-bench/results/deps.md}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

host() { # $1 = directory, $2 = dependencies; every host package is named `host`
  mkdir -p "$work/$1/src"
  printf '[package]\nname = "host"\nversion = "0.1.0"\nedition = "2024"\n\n[dependencies]\n%s\n' "$2" \
    >"$work/$1/Cargo.toml"
  echo 'fn main() {}' >"$work/$1/src/main.rs"
  (cd "$work/$1" && cargo tree -q -e normal --prefix none --format '{p}' \
    | sed 's/ (.*//; s/ v/@/' | sort -u)
}

axum_base='axum = "0.8"
tower-sessions = "0.14"
tokio = { version = "1", features = ["full"] }'
actix_base='actix-web = "4"
actix-session = { version = "0.11", features = ["cookie-session"] }'

forbidden='^(rsa|p256|p384|p521|ecdsa|ed25519|ed25519-dalek|num-bigint-dig|aws-lc-sys|aws-lc-rs|ring|cc|cmake)@'
status=0
{
  echo "# What an adapter adds to a host ($(date -u '+%Y-%m-%d %H:%M UTC'))"
  echo
  echo "\`bash bench/deps.sh\`: \`cargo tree -e normal\` of a scratch host without and with the adapter (default features)."
  echo
  for pair in "axum:beams-axum:$axum_base" "actix:beams-actix:$actix_base"; do
    name=${pair%%:*}; rest=${pair#*:}; adapter=${rest%%:*}; base=${rest#*:}
    host "$name-base" "$base" >"$work/$name-base.txt"
    host "$name-with" "$base
$adapter = { path = \"$root/$adapter\" }" >"$work/$name-with.txt"
    added=$(comm -13 "$work/$name-base.txt" "$work/$name-with.txt")
    count=$(grep -c . <<<"$added" || true)
    echo "## $adapter: +$count crates ($(wc -l <"$work/$name-base.txt") → $(wc -l <"$work/$name-with.txt"))"
    echo
    echo '```text'
    echo "$added"
    echo '```'
    echo
    if grep -E "$forbidden" <<<"$added"; then
      echo "**forbidden crates above**"
      status=1
    fi
  done
} | tee "$OUT"
exit $status
