#!/usr/bin/env bash
# The merger's pause (issue 8): while merging is paused, batches are still
# acknowledged (the log takes them) and every figure says how much is
# received and not counted; after `merge resume`, `totals --wait` returns
# once everything is counted and the totals are exact; a pause waits for a
# long window to commit.  Bounded (about 35 s).
source "$(dirname "$0")/lib.sh"
N=${RZ_PAUSE_PEOPLE:-40}
server_init
HTTP_PORT=$(free_port)
server_start --http "127.0.0.1:$HTTP_PORT"
node_new a "Centre P" e-rozgar Punjab Lahore
api() { curl -fsS --max-time 20 "http://127.0.0.1:$HTTP_PORT$1"; }
py() { python3 -c "import json,sys; b=json.load(sys.stdin); print($1)"; }
status() { "$SERVER" -d "$T/srv" merge status; }

note "a first person, counted"
node a person add --name "First" --gender female --birth-year 2000 > /dev/null 2>&1
node a sync > /dev/null || fail "sync"
expect_eq "$(total --metric registered)" 1 "first person counted"
base=$(api /api/summary | py 'b["counting"]["received"]')

note "pause, then $N people synced: acknowledged, received, not counted"
"$SERVER" -d "$T/srv" merge pause | grep -q "merging paused" || fail "merge pause"
for i in $(seq 1 "$N"); do
  node a person add --name "Paused $i" --gender male --birth-year 1999 > /dev/null 2>&1
done
node a sync > "$T/sync.out" || fail "sync while paused: $(cat "$T/sync.out")"
[ "$(node a status | awk -F': *' '/^pending/ {print $2}')" = 0 ] || fail "node still has entries pending"
body=$(api /api/summary)
received=$(echo "$body" | py 'b["counting"]["received"]')
counted=$(echo "$body" | py 'b["counting"]["counted"]')
# N people and the session's clock entry are in the log, not in the totals.
expect_eq "$((received - base))" "$((N + 1))" "entries received while paused"
expect_eq "$counted" "$base" "entries counted while paused"
expect_eq "$(echo "$body" | py 'b["counting"]["paused"]')" True "JSON says paused"
expect_eq "$(echo "$body" | py 'b["counting"]["complete"]')" False "JSON says incomplete"
status | grep -q "counted: $base of $received log entries received ($((N + 1)) waiting to be merged" ||
  fail "merge status: $(status)"
status | grep -q "PAUSED" || fail "status does not say paused: $(status)"
"$SERVER" -d "$T/srv" totals --format csv --metric registered > "$T/paused.csv"
expect_eq "$(awk -F, 'NR==2 {print $NF}' "$T/paused.csv")" 1 "totals while paused"
api /metrics | grep -q "^rozgar_merge_lag_entries $((N + 1))$" || fail "metrics lag: $(api /metrics | grep merge_lag)"
if "$SERVER" -d "$T/srv" totals --wait --timeout 5 > "$T/wait.out" 2>&1; then
  fail "totals --wait returned while paused"
fi
grep -q "paused" "$T/wait.out" || fail "totals --wait while paused: $(cat "$T/wait.out")"

note "resume: totals --wait returns with everything counted"
"$SERVER" -d "$T/srv" merge resume | grep -q "merging resumed" || fail "merge resume"
expect_eq "$(total --metric registered)" "$((N + 1))" "registered after resume"
body=$(api /api/summary)
expect_eq "$(echo "$body" | py 'b["counting"]["counted"]')" "$received" "counted after resume"
expect_eq "$(echo "$body" | py 'b["counting"]["complete"]')" True "complete after resume"
api /metrics | grep -q '^rozgar_merge_lag_entries 0$' || fail "lag after resume"

note "an offline backlog of 2,500 carries checkpoints (PROTOCOL 4.6): mergeable batch by batch"
clocks() { sqlite3 -readonly "$T/srv/server.db" "SELECT count(*) FROM log_clock"; }
python3 - "$T/b.csv" <<'PY'
import sys
with open(sys.argv[1], "w") as f:
    f.write("name,gender,birth_year,cnic,phone,district,area,skill,reg_date\n")
    for k in range(2500):
        f.write(f"B {k},{'female' if k % 2 else 'male'},{1990 + k % 15},,,Lahore,urban,professional,2026-09-{1 + k % 28:02d}\n")
PY
c0=$(clocks); h0=$(node a status | awk -F': *' '/^acked/ {print $2}')
node a import persons "$T/b.csv" > /dev/null 2>&1 || fail "import"
node a sync > /dev/null || fail "sync of the backlog"
c1=$(clocks); h1=$(node a status | awk -F': *' '/^acked/ {print $2}')
# 2,500 people, a checkpoint after the 1,000th and the 2,000th, the session's clock entry.
expect_eq "$((h1 - h0))" 2503 "entries of the backlog"
expect_eq "$((c1 - c0))" 3 "clock entries in the backlog (2 checkpoints + the session's)"
cp=$(sqlite3 -readonly "$T/srv/server.db" "SELECT group_concat(seq - $h0, ',') FROM log_clock WHERE seq > $h0")
expect_eq "$cp" "1001,2002,2503" "where the clock entries stand"
expect_eq "$(total --metric registered)" "$((N + 2501))" "registered with the backlog"
note "a merge window holds state.db's write lock for seconds: merge pause waits it out"
# A writer holding the lock for 12 s stands for a national window under a
# drain; SQLite's usual 10 s wait would give up before it commits.
python3 - "$T/srv/state.db" "$T/held" <<'PY' &
import sqlite3, sys, time
c = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=30)
c.execute("BEGIN IMMEDIATE")
open(sys.argv[2], "w").close()
time.sleep(12)
c.execute("COMMIT")
PY
holder=$!
for _ in $(seq 1 100); do [ -e "$T/held" ] && break; sleep 0.1; done
[ -e "$T/held" ] || fail "the lock holder did not start"
"$SERVER" -d "$T/srv" merge pause > "$T/pause.out" 2>&1 || fail "merge pause behind a long window: $(cat "$T/pause.out")"
grep -q "merging paused" "$T/pause.out" || fail "merge pause: $(cat "$T/pause.out")"
wait "$holder" || fail "the lock holder failed"
status | grep -q "PAUSED" || fail "not paused after waiting: $(status)"
"$SERVER" -d "$T/srv" merge resume | grep -q "merging resumed" || fail "merge resume"
server_stop
"$SERVER" -d "$T/srv" verify > "$T/verify.out" || fail "verify: $(tail -n 3 "$T/verify.out")"
echo "PASS merge pause: $N people acked while paused, received $((received - base)) counted 0, then $((N + 1)) registered after resume; backlog of 2500 with checkpoints at +1001 and +2002; pause waited out a 12 s write lock; verify agrees"
