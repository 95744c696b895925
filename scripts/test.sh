#!/usr/bin/env bash
# Every check CI runs, from a fresh clone on a fresh machine: installs what the suite needs
# (npm packages from tests/js/package-lock.json, PyPI packages pinned in
# tests/py/requirements.txt, Debian's chromium and redis-server when missing), then the gates
# (format, clippy, docs, the features of each library crate, packaging) and every test. Tests
# that need Redis start their own redis-server on a free loopback port and stop it.
#
#   BEAMS_SKIP_GATES=1 bash scripts/test.sh   # only install and test
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

started=$(date +%s)
step_started=$started
say() {
  local now; now=$(date +%s)
  printf '\n==> %s  (%ss so far; previous step %ss)\n' "$*" $((now - started)) $((now - step_started))
  step_started=$now
}
need() { command -v "$1" >/dev/null 2>&1; }

apt_install() {
  if need apt-get; then
    local sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
    # One retry: an interrupted dpkg run (seen once here) succeeds the second time.
    local try
    for try in 1 2; do
      if $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$@"; then
        return 0
      fi
      echo "apt-get install $* failed (attempt $try)" >&2
      $sudo dpkg --configure -a || true
    done
    return 1
  else
    echo "cannot install $* (no apt-get): install it and run again" >&2; exit 1
  fi
}

say "toolchain"
need cargo || { echo "cargo is required (https://rustup.rs)" >&2; exit 1; }
need node && need npm || apt_install nodejs npm
need python3 || apt_install python3 python3-venv
cargo --version; node --version; python3 --version

say "npm packages (tests/js, from package-lock.json)"
(cd tests/js && npm ci --no-audit --no-fund --loglevel=error)

say "Python packages (tests/py/.venv)"
if [ ! -x tests/py/.venv/bin/python ]; then
  python3 -m venv tests/py/.venv || { apt_install python3-venv && python3 -m venv tests/py/.venv; }
fi
tests/py/.venv/bin/python -m pip install --quiet --disable-pip-version-check --no-deps -r tests/py/requirements.txt

if [ -n "${BEAMS_NEED_CHROMIUM:-1}" ] && ! need chromium; then
  say "chromium (Debian package) for the browser test"
  apt_install chromium
fi

if ! need redis-server; then
  say "redis-server (Debian package) for the replica tests"
  apt_install redis-server
fi
# native-tls (checked below) builds against the system's OpenSSL.
if ! pkg-config --exists openssl 2>/dev/null; then
  say "OpenSSL headers (Debian's libssl-dev) for the native-tls feature"
  apt_install libssl-dev pkg-config
fi

export BEAMS_TEST_PYTHON="$root/tests/py/.venv/bin/python"
export BEAMS_TEST_NODE_DIR="$root/tests/js"

libs=(beams-core beams-axum beams-actix beams-emulator)
lib_flags=(); for c in "${libs[@]}"; do lib_flags+=(-p "$c"); done
if [ -z "${BEAMS_SKIP_GATES:-}" ]; then
  say "cargo fmt --check"
  cargo fmt --all -- --check

  say "cargo clippy --workspace --all-targets --all-features -- -D warnings"
  cargo clippy --workspace --all-targets --all-features -- -D warnings

  say "cargo doc of the library crates, warnings denied: all features as docs.rs builds them, then each crate with its default features"
  # docs.rs builds with nightly and --cfg docsrs, which turns on doc_cfg (the "Available on
  # crate feature … only" labels); RUSTC_BOOTSTRAP lets this stable toolchain do the same.
  # It changes the fingerprint of a few proc-macro crates only, so the shared target dir
  # costs less than a second one would.
  RUSTC_BOOTSTRAP=1 RUSTDOCFLAGS="-D warnings --cfg docsrs" cargo doc --no-deps --all-features "${lib_flags[@]}"
  # One crate per run: together, one crate's features would be unified into another's.
  for c in "${libs[@]}"; do
    RUSTDOCFLAGS="-D warnings" cargo doc --no-deps -q -p "$c"
  done

  say "the features of every library crate (cargo check: none, default, each one its code tests)"
  bash scripts/check-features.sh "${libs[@]}"

  say "cargo package of the library crates, and every source file in its tarball"
  # Not rebuilt from the tarballs (that is every crate again, ~90 s): the manifests are
  # normalized and checked here, and the tarball must hold every file git tracks under src/
  # and examples/, every file the code includes, the README and the licenses; so the
  # sources compiled above are what a user gets.
  cargo package --no-verify --allow-dirty -q "${lib_flags[@]}"
  target_dir=$(cargo metadata --no-deps --format-version 1 | python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
  version=$(cargo metadata --no-deps --format-version 1 | python3 -c 'import json, sys; print(next(p["version"] for p in json.load(sys.stdin)["packages"] if p["name"] == "beams-core"))')
  for c in "${libs[@]}"; do
    packaged=$(tar -tzf "$target_dir/package/$c-$version.crate" | sed "s|^$c-$version/||")
    missing=()
    # Files the code pulls in with include_str!/include_bytes!/#[path] must be packaged too
    # (a path out of the crate's directory never is).
    included=$(cd "$c" && python3 -c '
import os, re, subprocess
for f in subprocess.check_output(["git", "ls-files", "src", "examples"], text=True).split():
    if f.endswith(".rs"):
        for path in re.findall(r"(?:include_str!|include_bytes!)\(\s*\"([^\"]+)\"|#\[path\s*=\s*\"([^\"]+)\"", open(f).read()):
            print(os.path.relpath(os.path.normpath(os.path.join(os.path.dirname(f), "".join(path)))))
')
    for f in $(cd "$c" && git ls-files src examples README.md) $included LICENSE-MIT LICENSE-APACHE; do
      grep -qxF -- "$f" <<<"$packaged" || missing+=("$f")
    done
    if [ ${#missing[@]} -gt 0 ]; then
      echo "$c: the package lacks ${missing[*]}" >&2; exit 1
    fi
  done
fi

say "cargo test --workspace --all-features (the unit and integration tests, then the doc tests)"
# Line tables only (panics and backtraces keep file and line, debuggers lose variables): the
# test build compiles and links about a third faster than with full debug info.
export CARGO_PROFILE_DEV_DEBUG=line-tables-only
# The test targets only: the examples, which cargo test would link but never run, are
# compiled by clippy's --all-targets above. One cargo run at a time: a run that selects
# fewer packages unifies their features differently and builds them again, and the suites
# hold timing bounds that a loaded machine can break.
failed=()
cargo test --workspace --all-features --no-fail-fast --lib --bins --tests || failed+=("unit and integration")
cargo test --workspace --all-features --no-fail-fast --doc || failed+=(doc)
if [ ${#failed[@]} -gt 0 ]; then
  printf 'failed: %s tests\n' "${failed[@]}" >&2
  exit 1
fi

say "done"
