#!/usr/bin/env bash
# Installs the Debian packages Rozgar Sync needs, skipping what is present.
set -euo pipefail
pkgs=(build-essential cmake pkg-config clang libclang-rt-14-dev clang-format
      libzmq3-dev libsqlite3-dev sqlite3 libmsgpack-dev libsodium-dev
      libmicrohttpd-dev libgnutls28-dev libjs-chart.js libcmocka-dev
      iproute2 nftables python3 curl procps)
# The test suite also drives the dashboard in a headless browser, runs its
# pure helpers under node (tests/web/), checks the systemd units and checks
# /metrics with promtool (prometheus); the Python node written from the spec
# (tests/pynode) needs zmq, nacl and msgpack; the centre app is driven through
# the DevTools protocol (python3-websocket; fonts-nafees renders Urdu).
[ "${1:-}" = "--test" ] && pkgs+=(chromium python3-cryptography systemd nodejs prometheus python3-zmq python3-nacl python3-msgpack
                                  python3-websocket fonts-nafees)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "deps: all ${#pkgs[@]} packages present"; exit 0
fi
SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
echo "deps: installing ${missing[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
