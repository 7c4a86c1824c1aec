#!/bin/bash
# scripts/quickstart.sh - build fulcrum and run the demo config in the
# foreground (Ctrl-C stops it).  Installs the build packages first when run
# as root on Debian.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(gcc make pkg-config libssl-dev libpcre2-dev zlib1g-dev)
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

./configure
make -j2

mkdir -p logs
echo
echo "== fulcrum demo: objs/fulcrum -p $PWD -c conf/fulcrum.conf"
echo "   what it listens on and proxies to: see conf/fulcrum.conf"
echo "   logs under $PWD/logs (per the config); Ctrl-C to stop"
echo
exec objs/fulcrum -p "$PWD" -c conf/fulcrum.conf -g 'daemon off;'
