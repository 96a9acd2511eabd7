#!/usr/bin/env bash
# Hostile input against a real rozgar-server (DESIGN guarantees 4 and 6):
# rz_peer sends correct batches, batches with hostile-but-valid values, and
# every malformed, oversized, forged, replayed, reordered, gapped and forked
# variant; then transport attacks (unenrolled key, impostor server, no CURVE,
# raw non-ZMTP bytes, revoked key on a new and on a live connection).  Checks: the exact ERROR codes
# (rz_peer), that refused batches change nothing in the database (full dump
# compared before/after), that hostile strings are stored verbatim, that
# the server survives, verifies, and exits cleanly (ASan leak check).
#
# ctest passes BIN (build dir) and RZ_PEER (the rz_peer binary).
set -euo pipefail

: "${BIN:?BIN must point at the build directory}"
PEER=${RZ_PEER:-$BIN/tests/hostile/rz_peer}
SERVER="$BIN/rozgar-server"
T=$(mktemp -d "${TMPDIR:-/tmp}/rz-hostile.XXXXXX")
SRV_PID=""

cleanup() {
  local rc=$?
  if [ -n "$SRV_PID" ] && kill -0 "$SRV_PID" 2>/dev/null; then
    kill -TERM "$SRV_PID" 2>/dev/null || true
    wait "$SRV_PID" 2>/dev/null || true
  fi
  if [ $rc -ne 0 ]; then
    echo "--- test failed (rc=$rc); server log tail:" >&2
    tail -n 40 "$T/server.log" 2>/dev/null >&2 || true
  fi
  [ -n "${RZ_KEEP_TMP:-}" ] || rm -rf "$T"
}
trap cleanup EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }
note() { echo "-- $*"; }

for tool in sqlite3 python3; do
  command -v "$tool" >/dev/null || fail "$tool is required (scripts/deps.sh installs it)"
done

DB="$T/srv/server.db"
sql() { sqlite3 -readonly -batch "$DB" "$@"; }
# The merged state (state.db), once the merger has counted what was acked.
ssql() {
  "$SERVER" -d "$T/srv" totals --wait --timeout 120 > /dev/null || fail "totals --wait"
  sqlite3 -readonly -batch "$T/srv/state.db" "$@"
}
hexof() { printf '%s' "$1" | od -An -v -tx1 | tr -d ' \n' | tr a-f A-F; }
# Everything the log store (server.db) holds, in a stable order: everything but the operational contact time, which every HELLO of an
# enrolled node moves (last_contact_ms: the node was heard from).
db_digest() {
  { sql .dump | grep -v '^INSERT INTO node VALUES'
    sql "SELECT hex(node_id), centre_id, hex(sign_pk), curve_pk, revoked, quarantined, epoch,
         head_seq, hex(head_hash), last_sync_ms, clock_offset_ms,
         enrolled_ms FROM node ORDER BY node_id"; } | sha256sum | cut -d' ' -f1
}
counts() { sql "SELECT (SELECT coalesce(sum(last_seq - first_seq + 1), 0) FROM log_batch)||' log, '||(SELECT count(*) FROM log_clock)||' clocks, '||(SELECT count(*) FROM pii)||' pii, '||(SELECT count(*) FROM batch_sig)||' sigs'"; }
# National totals in several cuts (the query module's CSV); any failure fails.
totals_csv() {
  local q
  for q in "" "--by province --by gender" "--by home" "--metric attendances --by centre" \
           "--metric trainees --by age --by area" "--metric events --by kind"; do
    # shellcheck disable=SC2086
    "$SERVER" -d "$T/srv" totals --wait --timeout 120 --format csv $q || { echo "totals $q failed" >&2; return 1; }
  done
}
server_alive() { kill -0 "$SRV_PID" 2>/dev/null || fail "server died: $(tail -n 5 "$T/server.log")"; }

free_port() {
  python3 - <<'PY'
import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()
PY
}

# ---- server and nodes ------------------------------------------------------
"$SERVER" -d "$T/srv" init > "$T/init.out"
KEY=$(awk '/^server-key:/ {print $2}' "$T/init.out")
[ ${#KEY} -eq 64 ] || fail "server init printed no key"
"$SERVER" -d "$T/srv" pubkey > "$T/pubkey.out"
grep -qx "ed25519: $KEY" "$T/pubkey.out" || fail "pubkey: no labelled Ed25519 key: $(cat "$T/pubkey.out")"
grep -qE '^curve-z85: .{40}$' "$T/pubkey.out" || fail "pubkey: no labelled CURVE key: $(cat "$T/pubkey.out")"

token() { "$PEER" keygen "$T/$1" | awk '/^enroll-token:/ {print $2}'; }
enroll() { # node centre province district
  local tok
  tok=$(token "$1")
  [ -n "$tok" ] || fail "rz_peer keygen $1 printed no token"
  "$SERVER" -d "$T/srv" enroll --token "$tok" --centre "$2" --programme e-rozgar \
    --province "$3" --district "$4" > /dev/null
  echo "$tok" | cut -d: -f2
}
A=$(enroll a "e-Rozgar Lahore" Punjab Lahore)
B=$(enroll b "Innovista Multan" Punjab Multan)
C=$(enroll c "e-Rozgar Peshawar" "Khyber Pakhtunkhwa" Peshawar)
token unenrolled > /dev/null                  # a valid key headquarters never enrolled
FAKE_KEY=$(token impostor | cut -d: -f3)      # a key the server does not hold

PORT=$(free_port)
EP="tcp://127.0.0.1:$PORT"
"$SERVER" -d "$T/srv" run --bind "$EP" > "$T/server.log" 2>&1 &
SRV_PID=$!
for _ in $(seq 1 100); do
  grep -q "serving $EP" "$T/server.log" 2>/dev/null && break
  kill -0 "$SRV_PID" 2>/dev/null || fail "server exited at start"
  sleep 0.1
done
grep -q "serving $EP" "$T/server.log" || fail "server did not start"

peer() { local cmd=$1 node=$2; shift 2; "$PEER" "$cmd" --endpoint "$EP" --server-key "$KEY" --node "$T/$node" "$@"; }
peer_run() { local phase=$1 node=$2; shift 2; "$PEER" run "$phase" --endpoint "$EP" --server-key "$KEY" --node "$T/$node" "$@"; }

# ---- good phase: correct and merely-invalid batches are accepted ------------
NAME="Zainab O'Brien-خان\"; DROP TABLE pii; --"
DIST="ضلع لاہور' OR '1'='1; DELETE FROM log; --"
note "good batches (hostile-but-valid values must be ACKed)"
peer_run good a --name "$NAME" --district "$DIST" || fail "good phase"
server_alive

note "hostile strings are stored verbatim"
n=$(sql "SELECT count(*) FROM pii WHERE CAST(value AS BLOB) = X'$(hexof "$NAME")'")
[ "$n" -eq 1 ] || fail "name with SQL metacharacters and Urdu stored $n times, want 1"
n=$(sql "SELECT count(*) FROM pii WHERE CAST(value AS BLOB) = X'$(hexof "عائشہ بی بی")'")
[ "$n" -ge 1 ] || fail "Urdu name not stored verbatim"
n=$(sql "SELECT count(*) FROM log_batch WHERE instr(entries, X'$(hexof "$DIST")') > 0")
[ "$n" -eq 1 ] || fail "district with SQL metacharacters in $n batch rows, want 1"
n=$(ssql "SELECT count(*) FROM st_person WHERE CAST(home AS BLOB) = X'$(hexof "$DIST")'")
[ "$n" -eq 1 ] || fail "district not merged verbatim into the person state ($n rows)"
n=$(ssql "SELECT count(*) FROM st_person WHERE CAST(home AS BLOB) = X'$(hexof "ڈیرہ غازی خان")'")
[ "$n" -eq 1 ] || fail "Urdu district not merged verbatim ($n rows)"
note "invalid values are stored and flagged, not refused"
n=$(ssql "SELECT count(*) FROM st_person WHERE birth_year = 1800 AND gender = 9")
[ "$n" -eq 1 ] || fail "person with birth year 1800 and gender 9 stored $n times, want 1"
n=$(sql "SELECT count(*) FROM pii WHERE field = 1 AND value = '123'")
[ "$n" -eq 1 ] || fail "CNIC '123' stored $n times, want 1"
echo "stored: $(counts)"

# ---- hostile phase: refused batches change nothing --------------------------
BEFORE_DIGEST=$(db_digest)
BEFORE_COUNTS=$(counts)
BEFORE_TOTALS=$(totals_csv) || fail "totals"
note "hostile frames (each must get its exact ERROR code)"
peer_run hostile a --other "$T/b" || fail "hostile phase"
server_alive
[ "$(counts)" = "$BEFORE_COUNTS" ] || fail "refused batches changed the log: $BEFORE_COUNTS -> $(counts)"
AFTER_TOTALS=$(totals_csv) || fail "totals"
[ "$AFTER_TOTALS" = "$BEFORE_TOTALS" ] || fail "refused batches changed the totals"
[ "$(db_digest)" = "$BEFORE_DIGEST" ] || fail "refused batches changed the database"
echo "unchanged: $(counts), totals and full database dump identical"
echo "$AFTER_TOTALS" | grep -q . || fail "totals printed nothing"

# ---- fork: a node rewriting its history is quarantined ---------------------
note "fork (restored backup): quarantine, evidence kept, nothing applied"
peer_run fork c || fail "fork phase"
server_alive
n=$(sql "SELECT coalesce(sum(last_seq - first_seq + 1), 0) FROM log_batch WHERE node_id = X'$C'")
[ "$n" -eq 12 ] || fail "node c has $n stored entries, want the 12 of its two accepted batches"
n=$(sql "SELECT count(*) FROM pii WHERE value = 'Restored From Backup'")
[ "$n" -eq 0 ] || fail "the forked batch's personal value was stored"
n=$(sql "SELECT quarantined FROM node WHERE node_id = X'$C'")
[ "$n" -eq 1 ] || fail "node c is not quarantined"
"$SERVER" -d "$T/srv" forks > "$T/forks.out"
grep -q "^1 fork report" "$T/forks.out" || fail "forks: $(cat "$T/forks.out")"
grep -qi "node $C" "$T/forks.out" || fail "fork report does not name node c"
note "recovery: headquarters opens a new epoch; old-epoch batches are refused"
"$SERVER" -d "$T/srv" new-epoch "$C" > /dev/null
peer_run epoch c || fail "epoch phase"
n=$(sql "SELECT coalesce(sum(last_seq - first_seq + 1), 0) FROM log_batch WHERE node_id = X'$C' AND epoch = 1")
[ "$n" -eq 6 ] || fail "node c has $n entries in epoch 1, want 6"

# ---- transport: who may talk at all -----------------------------------------
AFTER_FORK_TOTALS=$(totals_csv) || fail "totals"
note "a key that is not enrolled gets no answer (ZAP refuses the handshake)"
peer hello unenrolled --expect timeout || fail "unenrolled key was answered"
note "a node configured with another server's key refuses to talk (impostor)"
"$PEER" hello --endpoint "$EP" --server-key "$FAKE_KEY" --node "$T/a" --expect timeout \
  || fail "CURVE handshake succeeded with the wrong server key"
note "a client without CURVE gets no answer"
peer hello a --plain --expect timeout || fail "a plain (unencrypted) client was answered"
# The same three with the HELLO sent only after the refused handshake has
# ended the connection (a slow client's order): still no answer, whatever
# the order (a send with no connection to queue on is a timeout too).
note "refused handshakes, HELLO sent after the refusal: still no answer"
peer hello unenrolled --expect timeout --settle 500 || fail "unenrolled key, HELLO after the refusal"
"$PEER" hello --endpoint "$EP" --server-key "$FAKE_KEY" --node "$T/a" --expect timeout --settle 500 \
  || fail "impostor, HELLO after the failed handshake"
peer hello a --plain --expect timeout --settle 500 || fail "plain client, HELLO after the failed handshake"
note "raw bytes that are not ZMTP do not disturb the server"
python3 - "$PORT" <<'PY'
import socket, sys
for junk in (b"\xff" * 65536, b"GET / HTTP/1.0\r\n\r\n", b"\xff\x00\x00\x00\x00\x00\x00\x00\x01\x7f" + b"\x03" * 1000):
    s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
    try:
        s.sendall(junk)
    except OSError:
        pass  # the server may hang up first: that is fine
    s.close()
PY
peer hello a --expect welcome || fail "enrolled node refused after transport attacks"
note "revocation bites on a live connection and on new ones"
peer hold b -- "$SERVER" -d "$T/srv" revoke "$B" || fail "revocation"
peer hello b --expect timeout || fail "revoked node answered on a new connection"
peer hello a --expect welcome || fail "other nodes refused after a revocation"
server_alive

# ---- the server is intact ---------------------------------------------------
FINAL_TOTALS=$(totals_csv) || fail "totals"
[ "$FINAL_TOTALS" = "$AFTER_FORK_TOTALS" ] || fail "transport attacks changed the totals"
"$SERVER" -d "$T/srv" verify > "$T/verify.out" 2>&1 || fail "verify failed: $(tail -n 5 "$T/verify.out")"
tail -n 1 "$T/verify.out"
# A refusal names the node the connection authenticated as, whatever was wrong.
grep -q "refused [0-9a-f]\{16\}: decode: a message is exactly one frame; this one had 2 frames" \
  "$T/server.log" || fail "the multi-frame refusal does not name the node and the frame count"
! grep -q "fork: fork:" "$T/server.log" || fail "doubled 'fork: fork:' in the server log"
refusals=$(grep -c "refused" "$T/server.log" || true)
echo "server logged $refusals refusals"
kill -TERM "$SRV_PID"
rc=0
wait "$SRV_PID" || rc=$?
SRV_PID=""
[ "$rc" -eq 0 ] || fail "server exited with $rc on SIGTERM (sanitizer report?)"
! grep -E "AddressSanitizer|runtime error|LeakSanitizer" "$T/server.log" || fail "sanitizer report in the server log"
echo "hostile: all checks passed"
