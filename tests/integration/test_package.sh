#!/usr/bin/env bash
# Packaging (issue 11): `cmake --install` layout and the Debian packages CPack
# builds (rozgar-server, rozgar-node).  Builds a release tree with prefix /usr,
# packs it, checks each package's files and dependencies, verifies the systemd
# units, then installs the packages (dpkg -i, as root in CI; otherwise
# unpacked with dpkg -x into a scratch root) and uses the installed programs:
# a server serving its dashboard from its installed share directory, a node
# enrolled and synced, the totals read back.
source "$(dirname "$0")/lib.sh"
SRC=$(cd "$(dirname "$0")/../.." && pwd)

command -v cpack >/dev/null && command -v dpkg-deb >/dev/null || { echo "SKIP package: no cpack/dpkg-deb"; exit 77; }

note "release build with prefix /usr, packed by CPack"
cmake -S "$SRC" -B "$T/b" -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX=/usr -DRZ_WERROR=ON > "$T/cmake.out" \
  || fail "configure: $(tail -n 5 "$T/cmake.out")"
cmake --build "$T/b" -j"$(nproc)" --target rozgar-server rozgar-node > "$T/build.out" 2>&1 \
  || fail "build: $(tail -n 5 "$T/build.out")"
(cd "$T/b" && cpack -G DEB > "$T/cpack.out" 2>&1) || fail "cpack: $(tail -n 10 "$T/cpack.out")"
SDEB=$(ls "$T"/b/rozgar-server_*.deb); NDEB=$(ls "$T"/b/rozgar-node_*.deb)

note "package contents and dependencies"
dpkg-deb -c "$SDEB" > "$T/server.files"; dpkg-deb -c "$NDEB" > "$T/node.files"
for f in ./usr/bin/rozgar-server ./usr/share/rozgar-server/web/index.html \
         ./usr/share/man/man1/rozgar-server.1 ./usr/lib/systemd/system/rozgar-server.service; do
  grep -q " $f\$" "$T/server.files" || fail "rozgar-server package lacks $f"
done
for f in ./usr/bin/rozgar-node ./usr/share/man/man1/rozgar-node.1; do
  grep -q " $f\$" "$T/node.files" || fail "rozgar-node package lacks $f"
done
grep -q "rozgar-node" "$T/server.files" && fail "server package ships node files"
sdeps=$(dpkg-deb -f "$SDEB" Depends); ndeps=$(dpkg-deb -f "$NDEB" Depends)
for d in libzmq5 libsqlite3-0 libsodium23 libmicrohttpd12 libjs-chart.js; do
  echo "$sdeps" | grep -q "$d" || fail "rozgar-server does not depend on $d: $sdeps"
done
for d in libzmq5 libsqlite3-0 libsodium23; do
  echo "$ndeps" | grep -q "$d" || fail "rozgar-node does not depend on $d: $ndeps"
done

if command -v systemd-analyze >/dev/null; then
  note "systemd units verify"
  mkdir -p "$T/units"; dpkg-deb -x "$SDEB" "$T/units/s"; dpkg-deb -x "$NDEB" "$T/units/n"
  for u in "$T"/units/*/usr/lib/systemd/system/*.service; do
    # verify resolves ExecStart= against this machine: point it at the unpacked binaries.
    sed "s|/usr/bin/|$T/units/s/usr/bin/|g; s|$T/units/s/usr/bin/rozgar-node|$T/units/n/usr/bin/rozgar-node|g" \
      "$u" > "$T/units/$(basename "$u")"
    systemd-analyze verify --man=no "$T/units/$(basename "$u")" > "$T/verify.out" 2>&1 \
      || fail "systemd-analyze verify $(basename "$u"): $(cat "$T/verify.out")"
  done
fi

if [ "$(id -u)" = 0 ] && { [ -n "${CI:-}" ] || [ -n "${RZ_PKG_INSTALL:-}" ]; }; then
  note "dpkg -i both packages"
  dpkg -i "$SDEB" "$NDEB" > "$T/dpkg.out" 2>&1 || fail "dpkg -i: $(tail -n 5 "$T/dpkg.out")"
  trap 'dpkg -r rozgar-server rozgar-node >/dev/null 2>&1 || true; cleanup' EXIT
  ROOT=""
  how="installed with dpkg -i"
else
  dpkg-deb -x "$SDEB" "$T/root"; dpkg-deb -x "$NDEB" "$T/root"
  ROOT="$T/root"
  how="unpacked with dpkg -x (not root in CI)"
fi
SERVER="$ROOT/usr/bin/rozgar-server"; NODE="$ROOT/usr/bin/rozgar-node"
unset RZ_WEB_DIR RZ_SHARE_DIR

note "the installed programs work: server, dashboard from its share dir, a node syncs"
server_init
HPORT=$(free_port)
server_start --http "127.0.0.1:$HPORT"
grep -q "assets from $ROOT/usr/bin/../share/rozgar-server/web" "$T/server.log" \
  || fail "dashboard assets not from the installed share dir: $(grep assets "$T/server.log")"
curl -fsS -o "$T/index.html" "http://127.0.0.1:$HPORT/" || fail "dashboard page not served"
grep -qi "<html" "$T/index.html" || fail "dashboard page is not HTML"
node_new c1 "e-Rozgar Lahore" e-rozgar Punjab Lahore
node c1 person add --name "Ayesha Khan" --gender female --birth-year 2001 --date 2026-10-01 > /dev/null
node c1 sync > "$T/sync.out" || fail "sync: $(cat "$T/sync.out")"
for i in $(seq 1 50); do [ "$(total --metric registered)" = 1 ] && break; sleep 0.1; done
expect_eq "$(total --metric registered)" 1 "registered through the installed programs"
server_stop
echo "PASS package: rozgar-server and rozgar-node .deb built, contents and dependencies checked, $how, synced"
