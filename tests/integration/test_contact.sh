#!/usr/bin/env bash
# Last contact vs last data (issue 11): a centre that syncs and has nothing
# new is in contact, not stale.  `nodes`, /api/centres and the dashboard's
# completeness figures judge staleness by last contact and show both facts.
source "$(dirname "$0")/lib.sh"
server_init
HTTP_PORT=$(free_port)
server_start --http "127.0.0.1:$HTTP_PORT"
node_new c1 "Centre Contact" e-rozgar Punjab Lahore
node c1 person add --name "Data 1" --gender female --birth-year 2000 --date 2026-10-10 > /dev/null
node c1 sync > /dev/null || fail "first sync"
api() { curl -fsS --max-time 20 "http://127.0.0.1:$HTTP_PORT$1"; }
field() { python3 -c "import json,sys; c=json.load(sys.stdin)['centres'][0]; print(c['$1'])"; }

note "the centre's last contact and last data are both ten days old"
python3 - "$T/srv/server.db" <<'PY'
import sqlite3, sys, time
old = int(time.time() * 1000) - 10 * 86400 * 1000 - 60000
db = sqlite3.connect(sys.argv[1], timeout=10)
db.execute("UPDATE node SET last_sync_ms = ?1, last_contact_ms = ?1", (old,))
db.commit()
PY
expect_eq "$(api /api/centres | field stale)" True "stale before the empty sync"
"$SERVER" -d "$T/srv" nodes | grep -q "silent [19]" || fail "nodes does not call the node silent"

note "a sync with nothing new"
node c1 sync > "$T/sync.out" || fail "empty sync: $(cat "$T/sync.out")"
expect_eq "$(api /api/centres | field stale)" False "stale after a sync that found nothing new"
last_data=$(api /api/centres | field last_sync_ms)
last_contact=$(api /api/centres | field last_contact_ms)
now_ms=$(($(date +%s) * 1000))
[ $((now_ms - last_contact)) -lt 600000 ] || fail "last contact is not the empty sync: $last_contact"
[ $((now_ms - last_data)) -gt $((9 * 86400000)) ] || fail "last data moved without data: $last_data"
expect_eq "$(api /api/summary | python3 -c "import json,sys; print(json.load(sys.stdin)['completeness']['centres_stale'])")" 0 \
  "centres stale in the banner's completeness"
line=$("$SERVER" -d "$T/srv" nodes | grep "Centre Contact")
echo "$line" | grep -q " active " || fail "nodes: $line"
echo "$line" | grep -q "$(date -u -d @$((last_data / 1000)) +%Y-%m-%d)" || fail "nodes does not show the last data: $line"
echo "PASS contact: a sync with nothing new counts as contact (nodes, /api/centres, summary); last data kept apart"
