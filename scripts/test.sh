#!/usr/bin/env bash
# The whole test suite, from a fresh clone on a fresh machine: installs what the suite needs
# (npm packages from tests/js/package-lock.json, PyPI packages pinned in
# tests/py/requirements.txt, Debian's chromium when missing) and runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

say() { printf '\n==> %s\n' "$*"; }
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

export BEAMS_TEST_PYTHON="$root/tests/py/.venv/bin/python"
export BEAMS_TEST_NODE_DIR="$root/tests/js"

say "beams-core with only the aws-lc-rs crypto backend"
cargo test -p beams-core --lib --no-default-features --features aws-lc-rs,tower

say "cargo test --workspace --all-features"
cargo test --workspace --all-features --no-fail-fast
