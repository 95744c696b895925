#!/usr/bin/env bash
# `cargo check` of each named crate's library, warnings denied, with: no features, the
# default ones (when there are), and every feature its own source tests
# (`cfg(feature = "…")`) on its own. All features together are clippy's run
# (`--workspace --all-features`), which checks the same code.
#
# A feature that no `cfg` in the crate's own source reads changes nothing in that crate's
# code: it only turns on a dependency's feature (the adapters' `rustls-tls`, say, is
# beams-core's `rustls-tls` plus their own `publish`), and that dependency's own run checks it
# alone. So beams-core gets every feature on its own, the adapters the two they test
# (`publish`, `webhook`), the emulator the ones its library tests (if any). Features
# starting with `__` are internal and skipped.
#
#   bash scripts/check-features.sh beams-core beams-axum beams-actix beams-emulator
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -gt 0 ] || { echo "usage: $0 <crate>..." >&2; exit 2; }

metadata=$(cargo metadata --no-deps --format-version 1)
failed=()
for crate in "$@"; do
  read -r dir has_default features < <(python3 -c '
import json, os, sys
crate = sys.argv[1]
package = next(p for p in json.loads(sys.stdin.read())["packages"] if p["name"] == crate)
names = sorted(f for f in package["features"] if f != "default" and not f.startswith("__"))
print(os.path.dirname(package["manifest_path"]), int(bool(package["features"].get("default"))), " ".join(names))
' "$crate" <<<"$metadata")
  # The features the crate's own code tests.
  tested=$( (grep -rhoE 'feature *= *"[^"]+"' "$dir/src" || true) | sed -E 's/.*"(.*)"/\1/' | sort -u)
  sets=("--no-default-features")
  [ "$has_default" = 1 ] && sets+=("")
  for feature in $features; do
    if grep -qx -- "$feature" <<<"$tested"; then
      sets+=("--no-default-features --features $feature")
    fi
  done
  for set in "${sets[@]}"; do
    echo "--- $crate: ${set:-default features}"
    # Warnings count as failures (a feature set that leaves an import unused, say); cargo
    # replays cached warnings, so a rerun still sees them.
    # shellcheck disable=SC2086 # $set is several flags
    if ! out=$(cargo check -q -p "$crate" --lib $set 2>&1) || grep -q '^warning' <<<"$out"; then
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
