#!/usr/bin/env bash
# Upgrade path (issue 11): a server data directory written by the release of
# 2026-11-23 (tests/data/server-v1, made by tests/data/make_server_v1.sh:
# two centres, five registrations of four people, two events, five
# attendances) is opened by this build.  It must upgrade itself, keep every
# logged entry, answer the same totals, pass `verify`, and keep serving.
source "$(dirname "$0")/lib.sh"

DATA="$(dirname "$0")/../data/server-v1"
mkdir -p "$T/srv"
cp "$DATA"/server.db "$DATA"/server.db.evidence "$DATA"/server.key "$T/srv/"
chmod 700 "$T/srv"; chmod 600 "$T/srv"/*
old_entries=$(sqlite3 -readonly "$T/srv/server.db" "SELECT count(*) FROM log")
old_head=$(sqlite3 -readonly "$T/srv/server.db" "SELECT lower(hex(hash)) FROM log ORDER BY node_id, seq DESC LIMIT 1")
[ "$old_entries" -gt 0 ] || fail "the fixture holds no log entries"

note "the old data directory opens and answers the same figures"
expect_eq "$(total --metric registered)" 4 "unique registered (5 records, one CNIC twice)"
expect_eq "$(total --metric trainees)" 4 "unique trainees"
expect_eq "$(total --metric attendances)" 5 "attendances"
expect_eq "$(total --metric events)" 2 "events"
by=$("$SERVER" -d "$T/srv" totals --wait --timeout 120 --format csv --metric registered --by province | tail -n +2 | sort | tr '\n' ' ')
expect_eq "$by" "all,Khyber Pakhtunkhwa,1 all,Punjab,3 " "registered by province"

note "the log became batch rows (schema 3), every entry and hash kept"
expect_eq "$(sqlite3 -readonly "$T/srv/server.db" "SELECT coalesce(sum(last_seq - first_seq + 1), 0) FROM log_batch")" "$old_entries" "entries after the upgrade"
expect_eq "$(sqlite3 -readonly "$T/srv/server.db" "SELECT lower(hex(head)) FROM log_batch ORDER BY node_id, last_seq DESC LIMIT 1")" "$old_head" "a node's head hash after the upgrade"
expect_eq "$(sqlite3 -readonly "$T/srv/server.db" "SELECT count(*) FROM sqlite_master WHERE name = 'log'")" 0 "the per-entry table is gone"

note "verify agrees on the upgraded directory"
"$SERVER" -d "$T/srv" verify > "$T/verify.out" 2>&1 || fail "verify: $(tail -n 5 "$T/verify.out")"

note "the upgraded server still serves: nodes listed, run starts"
"$SERVER" -d "$T/srv" nodes > "$T/nodes.out" || fail "nodes"
[ "$(grep -c 'e-Rozgar' "$T/nodes.out")" -ge 2 ] || fail "nodes lost: $(cat "$T/nodes.out")"
PORT=$(free_port); ENDPOINT="tcp://127.0.0.1:$PORT"
server_start
server_stop
note "the upgraded file carries its schema version; a file from a newer program is refused"
expect_eq "$(sqlite3 "$T/srv/server.db" 'PRAGMA user_version')" 3 "server.db schema after the upgrade"
sqlite3 "$T/srv/server.db" 'PRAGMA user_version = 99'
set +e; out=$("$SERVER" -d "$T/srv" nodes 2>&1); rc=$?; set -e
[ $rc -ne 0 ] || fail "a server.db of schema 99 was opened"
echo "$out" | grep -q "newer rozgar-server" || fail "no clear refusal of a newer schema: $out"
sqlite3 "$T/srv/server.db" 'PRAGMA user_version = 3'
echo "PASS upgrade: release 2026-11-23 data directory opens, $old_entries log entries kept as batch rows, 4 registered, 5 attendances, verify agrees"
