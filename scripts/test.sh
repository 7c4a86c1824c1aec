#!/bin/bash
# scripts/test.sh [CONFIGURE_ARGS...] - build fulcrum and run every test.
#
# On a fresh Debian machine (as root) it first installs what is missing,
# then: ./configure ARGS (skipped when a Makefile from the same ARGS is
# there), make -j2, make unit, sh t/run.sh.  Exits non-zero on any failure.
# Example: scripts/test.sh --with-debug
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(gcc make pkg-config libssl-dev libpcre2-dev zlib1g-dev check libsubunit-dev
          curl openssl ca-certificates netcat-openbsd procps iproute2)

missing=()
for p in "${packages[@]}"; do
    dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if ((${#missing[@]})); then
    echo "== installing: ${missing[*]}"
    [ "$(id -u)" -eq 0 ] || { echo "need root to install packages" >&2; exit 1; }
    export DEBIAN_FRONTEND=noninteractive
    apt-get update
    apt-get install -y --no-install-recommends "${missing[@]}"
fi

# Reconfigure only when the arguments changed (or nothing is configured).
stamp=objs/.test-configure-args
if [ -f Makefile ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$*" ]; then
    echo "== configured already with: ${*:-(no arguments)}"
else
    echo "== ./configure $*"
    ./configure "$@"
    mkdir -p objs
    printf '%s' "$*" >"$stamp"
fi

echo "== make -j2"
make -j2
echo "== make unit fuzz-replay"
make unit fuzz-replay
echo "== t/run.sh"
sh t/run.sh
