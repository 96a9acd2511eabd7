#!/usr/bin/env bash
# The node's systemd units (dist/systemd/rozgar-node-*.service) pass
# `systemd-analyze verify` (ExecStart= pointed at the built binary, since
# verify resolves it), and each carries the hardening the README promises.
# Skips (77) only when systemd-analyze is absent and RZ_REQUIRE_SYSTEMD is
# unset; CI installs it (scripts/deps.sh --test).  No running systemd needed.
source "$(dirname "$0")/lib.sh"
SRC=$(cd "$(dirname "$0")/../.." && pwd)
if ! command -v systemd-analyze > /dev/null; then
  [ -z "${RZ_REQUIRE_SYSTEMD:-}" ] || fail "systemd-analyze missing and RZ_REQUIRE_SYSTEMD set"
  echo "SKIP systemd-units: systemd-analyze not installed"; exit 77
fi
n=0
for u in "$SRC"/dist/systemd/rozgar-node-*.service; do
  name=$(basename "$u")
  sed "s|/usr/bin/rozgar-node|$NODE|g" "$u" > "$T/$name"
  systemd-analyze verify --man=no "$T/$name" > "$T/verify.out" 2>&1 \
    || fail "systemd-analyze verify $name: $(cat "$T/verify.out")"
  for k in User=rozgar-node NoNewPrivileges=yes ProtectSystem=strict \
           ReadWritePaths=/var/lib/rozgar-node PrivateTmp=yes "RestrictAddressFamilies=" \
           ProtectHome=yes "CapabilityBoundingSet=" "ExecStart=/usr/bin/rozgar-node -d /var/lib/rozgar-node"; do
    grep -q "^$k" "$u" || fail "$name lacks $k"
  done
  n=$((n + 1))
done
grep -q "sync --watch" "$SRC/dist/systemd/rozgar-node-sync.service" || fail "sync unit does not watch"
# One unit per centre: the app syncs itself, so it stops the sync-only unit.
grep -q "^ExecStart=/usr/bin/rozgar-node -d /var/lib/rozgar-node serve$" "$SRC/dist/systemd/rozgar-node-serve.service" ||
  fail "serve unit must run serve with its background sync (no --no-sync)"
grep -q "^Conflicts=rozgar-node-sync.service" "$SRC/dist/systemd/rozgar-node-serve.service" ||
  fail "serve unit does not stop the sync-only unit"
[ $n -ge 2 ] || fail "expected the sync and the serve unit, found $n"
echo "  check: systemd-units verified=$n"
