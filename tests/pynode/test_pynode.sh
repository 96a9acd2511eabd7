#!/usr/bin/env bash
# A node written in Python from proto/PROTOCOL.md alone (pynode.py) against a
# real rozgar-server on 127.0.0.1: it is enrolled with the token it prints,
# records, syncs, re-sends, sends an overlapping batch and a pipelined
# multi-batch sync, checks every receipt with the server key, and gets the
# refusals the spec defines.  Then the server's totals must count what it
# recorded and `rozgar-server verify` must accept its log and signatures.
# Needs python3 with zmq, nacl and msgpack (scripts/deps.sh --test); in CI
# (CI=1) their absence is a failure, elsewhere a stated skip (77).
source "$(dirname "$0")/../integration/lib.sh"
HERE=$(cd "$(dirname "$0")" && pwd)
SPEC="$HERE/../../proto/PROTOCOL.md"

need_python_peer "pynode"

server_init
"$SERVER" -d "$T/srv" pubkey > "$T/pubkey.out"
KEY=$(awk '/^ed25519:/ {print $2}' "$T/pubkey.out")
expect_eq "$KEY" "$SERVER_KEY" "pubkey prints the Ed25519 key"
TOKEN=$(timeout 60 "$PY" "$HERE/pynode.py" keygen "$T/py" | awk '/^enroll-token:/ {print $2}')
[ -n "$TOKEN" ] || fail "pynode printed no enrollment token"
"$SERVER" -d "$T/srv" enroll --token "$TOKEN" --centre "Python centre" --programme e-rozgar \
  --province Sindh --district "Karachi South" > /dev/null
server_start

note "pynode: record, sync, re-send, overlap, pipelined batches, refusals"
timeout 240 "$PY" "$HERE/pynode.py" run "$T/py" --endpoint "$ENDPOINT" --server-key "$KEY" \
  --spec "$SPEC" > "$T/pynode.out" 2>&1 || { cat "$T/pynode.out"; fail "pynode run"; }
grep -E '^FAIL' "$T/pynode.out" && fail "pynode reported failures"
grep '^pynode:' "$T/pynode.out"

# The server holds the node's whole log, merged and counted.
read -r head hash < "$T/py/head"
n=$(sqlite3 -readonly "$T/srv/server.db" "SELECT coalesce(sum(last_seq - first_seq + 1), 0) FROM log_batch")
expect_eq "$n" "$head" "entries stored"
stored=$(sqlite3 -readonly "$T/srv/server.db" "SELECT lower(hex(head)) FROM log_batch ORDER BY last_seq DESC LIMIT 1")
expect_eq "$stored" "$hash" "server's head hash equals the Python node's"
"$SERVER" -d "$T/srv" totals --wait --timeout 120 > "$T/totals.out"
grep -Eq 'registered \(unique persons\) +14$' "$T/totals.out" || fail "totals: $(cat "$T/totals.out")"
grep -Eq '^  attendances +3$' "$T/totals.out" || fail "attendances (one deleted): $(cat "$T/totals.out")"
grep -Eq '^  events +1$' "$T/totals.out" || fail "events: $(cat "$T/totals.out")"
"$SERVER" -d "$T/srv" verify > "$T/verify.out" 2>&1 || fail "verify: $(tail -n 5 "$T/verify.out")"
echo "PASS pynode: $head entries from the Python node stored, merged (14 persons, 3 attendances, 1 event) and verified"
