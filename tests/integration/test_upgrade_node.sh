#!/usr/bin/env bash
# Node upgrade path (issue 10): a node data directory written by the release
# before schema version 2 (tests/data/node-v1, made by
# tests/data/make_node_v1.sh: 3 persons, 1 event, 2 attendances, 1
# correction; 6 entries acknowledged, 2 pending) is opened by this build.  It
# must upgrade itself once (PRAGMA user_version 1 -> 2) keeping every record,
# log entry and receipt; end with the same table layout as a fresh node; keep
# recording; sync its whole log to a (new) server with exact totals.  A
# database from a newer program is refused with a clear message.
source "$(dirname "$0")/lib.sh"
DATA="$(dirname "$0")/../data/node-v1"
checks=0
ok() { checks=$((checks + 1)); }
mkdir -p "$T/old"
cp "$DATA"/node.db "$DATA"/node.key "$T/old/"
chmod 700 "$T/old"; chmod 600 "$T/old"/*
expect_eq "$(sqlite3 "$T/old/node.db" 'PRAGMA user_version')" 1 "fixture schema"

note "the release's database opens and upgrades itself"
node old status > "$T/status.out" 2> "$T/status.err" || fail "status: $(cat "$T/status.err")"
grep -q "upgraded from schema version 1 to 2" "$T/status.err" || fail "no upgrade notice"; ok
expect_eq "$(sqlite3 "$T/old/node.db" 'PRAGMA user_version')" 2 "schema after upgrade"; ok
expect_eq "$(awk -F': *' '/^log head/ {print $2}' "$T/status.out")" 8 "log head"; ok
expect_eq "$(awk -F': *' '/^acked seq/ {print $2}' "$T/status.out")" 6 "acked seq"; ok
expect_eq "$(awk -F': *' '/^pending/ {print $2}' "$T/status.out")" 2 "pending"; ok
expect_eq "$(sqlite3 "$T/old/node.db" 'SELECT count(*) FROM receipts')" 1 "receipts kept"; ok
node old status > /dev/null 2> "$T/status2.err"
grep -q "upgraded" "$T/status2.err" && fail "upgraded twice"; ok
expect_eq "$(node old list persons | wc -l)" 3 "persons"; ok
expect_eq "$(node old list attendance | wc -l)" 2 "attendance"; ok
node old list persons | grep -q "Usman Tariq.*03001234567" || fail "the correction was lost"; ok

note "same layout as a fresh node"
"$NODE" -d "$T/fresh" init > /dev/null
node fresh status > /dev/null
layout() {
  python3 - "$1" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
for (t,) in db.execute("SELECT name FROM sqlite_master WHERE type='table' ORDER BY name"):
    for c in db.execute(f"PRAGMA table_info({t})"):
        print(t, c[1], c[2], c[3], c[4], c[5])
for (i,) in db.execute("SELECT name FROM sqlite_master WHERE type='index' AND sql IS NOT NULL ORDER BY name"):
    print("index", i)
PY
}
layout "$T/old/node.db" > "$T/old.layout"; layout "$T/fresh/node.db" > "$T/fresh.layout"
diff "$T/fresh.layout" "$T/old.layout" > "$T/layout.diff" || fail "upgraded layout differs: $(cat "$T/layout.diff")"; ok

note "the upgraded node records and syncs its whole log"
node old person add --name "Nadia Shah" --gender female --birth-year 2003 > /dev/null
server_init
id=$(awk -F': *' '/^node id/ {print $2}' "$T/status.out")
pk=$(sqlite3 "$T/old/node.db" 'SELECT lower(hex(sign_pk)) FROM meta')
"$SERVER" -d "$T/srv" enroll --token "rz1:$id:$pk" --centre "e-Rozgar Multan" --programme e-rozgar \
  --province Punjab --district Multan > /dev/null
node old config server="$ENDPOINT" server-key="$SERVER_KEY" > /dev/null
server_start
node old sync > "$T/sync.out" || fail "sync of the upgraded node"
expect_eq "$(total --metric registered)" 4 "registered"; ok
expect_eq "$(total --metric attendances)" 2 "attendances"; ok
"$SERVER" -d "$T/srv" verify > "$T/verify.out" || fail "verify: $(tail -n 3 "$T/verify.out")"; ok
node old status | grep -q "^last sync attempt: .*, ok" || fail "last attempt not recorded"; ok

note "a database from a newer program is refused"
cp -r "$T/fresh" "$T/newer"
sqlite3 "$T/newer/node.db" 'PRAGMA user_version=99'
set +e; node newer status > /dev/null 2> "$T/newer.err"; rc=$?; set -e
[ "$rc" -ne 0 ] || fail "a newer database was opened"
grep -q "newer rozgar-node" "$T/newer.err" || fail "unclear refusal: $(cat "$T/newer.err")"; ok
echo "PASS upgrade-node: schema 1 -> 2, 3+1 persons, log 8 -> $(node old status | awk -F': *' '/^log head/ {print $2}') entries synced, checks=$checks"
