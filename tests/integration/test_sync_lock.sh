#!/usr/bin/env bash
# One sync per data directory (issue 10): while a sync runs (here against a
# server that does not answer, so it waits), a second `sync` exits 5 naming
# the holder's pid and command; `sync --now` signals the running one instead
# of failing; SIGTERM stops the running sync at once with nothing lost and
# the lock released; kill -9 of a holder never leaves a stale lock.  Also the
# settings file: `config KEY=VALUE` writes node.conf, a sync uses the server
# it names without flags, and every command answers --help and --version.
source "$(dirname "$0")/lib.sh"
checks=0
ok() { checks=$((checks + 1)); }

server_init
node_new n1 "Centre 1" e-rozgar Punjab Lahore
node n1 person add --name "A" --gender female > /dev/null

for c in init config person event attend list show import status sync rebase rekey; do
  "$NODE" $c --help | grep -q "usage: rozgar-node" || fail "$c --help"
  "$NODE" $c --version | grep -q "^rozgar-node [0-9]" || fail "$c --version"
  ok
done
set +e; "$NODE" -d "$T/n1" frobnicate 2> "$T/unknown.err"; rc=$?; set -e
expect_eq "$rc" 1 "unknown command exit"
grep -q "unknown command 'frobnicate'" "$T/unknown.err" || fail "unknown command not named"; ok

note "the settings file names the server; no flags needed"
grep -q "^server = $ENDPOINT" "$T/n1/node.conf" || fail "config did not write node.conf"; ok
node n1 config sync-timeout=2 > /dev/null
grep -q "^sync-timeout = 2" "$T/n1/node.conf" || fail "sync-timeout not saved"; ok
set +e; node n1 config sync-timeout=0 2> "$T/cfg.err"; rc=$?; set -e
expect_eq "$rc" 1 "bad config value exit"; ok
set +e; node n1 sync > /dev/null 2> "$T/sync0.err"; rc=$?; set -e
expect_eq "$rc" 2 "sync with the server down"
grep -q "no reply in 2 s" "$T/sync0.err" || fail "sync-timeout from node.conf not used: $(cat "$T/sync0.err")"; ok
server_start
node n1 sync | grep -q "1 entries delivered\|entries delivered" || fail "sync via node.conf"; ok
server_stop

note "a second sync while one runs"
node n1 person add --name "B" --gender male > /dev/null
"$NODE" -d "$T/n1" sync --timeout 60 > "$T/long.out" 2> "$T/long.err" &
long=$!
for i in $(seq 1 100); do
  grep -q "^pid $long" "$T/n1/sync.lock" 2>/dev/null && break; sleep 0.1
done
grep -q "^pid $long" "$T/n1/sync.lock" || fail "the running sync did not record itself"
set +e; node n1 sync > /dev/null 2> "$T/second.err"; rc=$?; set -e
expect_eq "$rc" 5 "second sync exit"
grep -q "pid $long" "$T/second.err" || fail "second sync did not name the holder: $(cat "$T/second.err")"; ok
node n1 sync --now > "$T/now.out" || fail "sync --now"
grep -q "asked the running \`sync\` (pid $long)" "$T/now.out" || fail "sync --now: $(cat "$T/now.out")"; ok
kill -0 "$long" 2>/dev/null || fail "SIGUSR1 killed the running sync"; ok
t0=$(date +%s%N)
kill -TERM "$long"
set +e; wait "$long"; rc=$?; set -e
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
[ "$rc" -ne 0 ] || fail "a stopped sync must not claim success"
grep -q "stopped on request" "$T/long.err" || fail "no stop message: $(cat "$T/long.err")"; ok
echo "  check: sync-lock SIGTERM honoured in ${ms} ms"
node n1 sync --timeout 1 > /dev/null 2>&1 && fail "server is down, sync cannot succeed"
set +e; node n1 sync --timeout 1 > /dev/null 2> "$T/after.err"; rc=$?; set -e
expect_eq "$rc" 2 "lock released after SIGTERM (unreachable, not busy)"; ok

note "kill -9 leaves no stale lock"
"$NODE" -d "$T/n1" sync --timeout 60 > /dev/null 2>&1 &
long=$!
for i in $(seq 1 100); do grep -q "^pid $long" "$T/n1/sync.lock" 2>/dev/null && break; sleep 0.1; done
kill -9 "$long"; wait "$long" 2>/dev/null || true
server_start
node n1 sync > "$T/final.out" || fail "sync after kill -9 of the holder"
grep -q "entries delivered" "$T/final.out" || fail "nothing delivered after kill -9"; ok
expect_eq "$(total --metric registered)" 2 "registered"; ok
echo "  check: sync-lock checks=$checks"
