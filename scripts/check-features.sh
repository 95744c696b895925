#!/usr/bin/env bash
# `cargo check` of each named crate's library with each of its features on its own (default
# features off), like cargo-hack's --each-feature; a crate without features once with none.
# Warnings fail the check.
#
# The token code needs one HMAC backend (a compile_error! says so without one), so for the
# crates that sign tokens every feature other than a backend is checked together with the
# smallest one, `rust-crypto`. Features starting with `__` are internal and skipped.
#
#   bash scripts/check-features.sh beams-core beams-axum beams-actix beams-emulator
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -gt 0 ] || { echo "usage: $0 <crate>..." >&2; exit 2; }

metadata=$(cargo metadata --no-deps --format-version 1)
failed=()
for crate in "$@"; do
  features=$(python3 -c '
import json, sys
crate = sys.argv[1]
package = next(p for p in json.loads(sys.stdin.read())["packages"] if p["name"] == crate)
print(" ".join(f for f in sorted(package["features"]) if f != "default" and not f.startswith("__")))
' "$crate" <<<"$metadata")
  backends=""
  case " $features " in *" rust-crypto "*) backends="rust-crypto" ;; esac

  sets=()
  if [ -z "$backends" ]; then sets+=(""); fi
  for feature in $features; do
    case "$feature" in
      rust-crypto | aws-lc-rs) sets+=("$feature") ;;
      *) sets+=("${backends:+$backends,}$feature") ;;
    esac
  done
  for set in "${sets[@]}"; do
    echo "--- $crate: --no-default-features --features '${set}'"
    # Warnings count as failures (a feature set that leaves an import unused, say); cargo
    # replays cached warnings, so a rerun still sees them.
    if ! out=$(cargo check -q -p "$crate" --lib --no-default-features --features "$set" 2>&1) \
      || grep -q '^warning' <<<"$out"; then
      printf '%s\n' "$out" >&2
      failed+=("$crate [$set]")
    fi
  done
done

if [ ${#failed[@]} -gt 0 ]; then
  printf 'feature check failed: %s\n' "${failed[@]}" >&2
  exit 1
fi
echo "every feature set checked"
