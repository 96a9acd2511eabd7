#!/usr/bin/env bash
# The server's command line and error wording (issue 11): --help and
# --version work, every command accepts --help, an unknown command is
# named, HTTP errors speak HTTP (no command-line options in them), a data
# directory the server cannot write says so instead of SQLite's "unable to
# open database file", and log lines carry a timestamp and a level.
source "$(dirname "$0")/lib.sh"
checks=0
ok() { checks=$((checks + 1)); }

"$SERVER" --help > "$T/help.out" || fail "--help exits non-zero"
grep -q "^usage: rozgar-server" "$T/help.out" || fail "--help prints no usage"
grep -q "  enroll " "$T/help.out" || fail "--help does not list the commands"; ok
"$SERVER" --version > "$T/version.out" || fail "--version exits non-zero"
grep -Eq '^rozgar-server [0-9]+\.[0-9]+' "$T/version.out" || fail "--version: $(cat "$T/version.out")"; ok
for c in init pubkey enroll nodes revoke rekey new-epoch forks register linked run \
         totals verify rebuild erase; do
  "$SERVER" -d "$T/none" "$c" --help > "$T/c.out" 2>&1 || fail "$c --help exits non-zero: $(cat "$T/c.out")"
  grep -q "^usage: rozgar-server -d DIR $c" "$T/c.out" || fail "$c --help: $(cat "$T/c.out")"; ok
done
set +e; "$SERVER" -d "$T/none" frobnicate > "$T/u.out" 2>&1; rc=$?; set -e
expect_eq "$rc" 1 "exit code of an unknown command"
grep -q "unknown command 'frobnicate'" "$T/u.out" || fail "unknown command not named: $(cat "$T/u.out")"; ok

server_init
HTTP_PORT=$(free_port)
server_start --http "127.0.0.1:$HTTP_PORT"
code=$(curl -s -o "$T/bad.json" -w '%{http_code}' --max-time 20 \
  "http://127.0.0.1:$HTTP_PORT/api/totals?from=2026-05-01&to=2026-01-01")
expect_eq "$code" 400 "HTTP status of a reversed range"
grep -q "from must not be after to" "$T/bad.json" || fail "HTTP error: $(cat "$T/bad.json")"
! grep -q -- "--" "$T/bad.json" || fail "HTTP error speaks command line: $(cat "$T/bad.json")"; ok
code=$(curl -s -o "$T/bad.json" -w '%{http_code}' --max-time 20 \
  "http://127.0.0.1:$HTTP_PORT/api/totals?period=2026&from=2026-01-01")
expect_eq "$code" 400 "HTTP status of period with from"
! grep -q -- "--" "$T/bad.json" || fail "HTTP error speaks command line: $(cat "$T/bad.json")"; ok
grep -Eq '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z rozgar-server: info: serving ' \
  "$T/server.log" || fail "log line without timestamp and level: $(head -n 2 "$T/server.log")"; ok
server_stop

# A data directory the server may not write: by permissions for a normal
# user, by a read-only bind mount for root (permissions do not stop root).
ro_run() {
  if [ "$(id -u)" -ne 0 ]; then
    chmod a-w "$T/srv" "$T/srv/server.db"
    set +e; "$SERVER" -d "$T/srv" nodes > "$T/ro.out" 2>&1; rc=$?; set -e
    chmod u+w "$T/srv" "$T/srv/server.db"
  elif command -v unshare >/dev/null && unshare -m true 2>/dev/null; then
    set +e
    unshare -m bash -c 'mount --bind "$1" "$1" && mount -o remount,ro,bind "$1" "$1" &&
                        exec "$2" -d "$1" nodes' _ "$T/srv" "$SERVER" > "$T/ro.out" 2>&1
    rc=$?; set -e
  else
    echo "SKIP: read-only data directory (root without mount namespaces)"; return 0
  fi
  expect_eq "$rc" 2 "exit code on a read-only data directory"
  grep -q "data directory $T/srv is not writable by user $(id -un)" "$T/ro.out" ||
    fail "read-only data directory: $(cat "$T/ro.out")"
  ! grep -q "unable to open database file" "$T/ro.out" || fail "SQLite wording leaked: $(cat "$T/ro.out")"
  ok
}
ro_run
echo "PASS cli: $checks checks passed, 0 failed (help, version, unknown command, HTTP wording, read-only directory, log format)"
