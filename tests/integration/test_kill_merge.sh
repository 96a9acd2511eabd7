#!/usr/bin/env bash
# Crash safety of log-first ingest (issue 8): kill -9 the server between
# acknowledging and merging (batches acked while the merger is paused) and in
# the middle of merge windows (small windows, killed at random moments while
# the merger catches up), cycle after cycle.  After every kill: every
# receipted entry is in the log, and no position is past its node's head; every
# few cycles `verify` proves the state is exactly the merge of a prefix of the
# logs (nothing half-applied).  At the end the totals, once counted, are
# exact and verify agrees.  Bounded by RZ_KILL_SECONDS (default 150) and
# RZ_KILL_CYCLES (default 200).
source "$(dirname "$0")/lib.sh"
SECONDS_BUDGET=${RZ_KILL_SECONDS:-150}
MAX_CYCLES=${RZ_KILL_CYCLES:-200}
NODES=3
PER_CYCLE=${RZ_KILL_PEOPLE:-300}
WINDOW=${RZ_KILL_WINDOW:-200}

server_init
for i in $(seq 1 $NODES); do node_new "n$i" "Centre $i" e-rozgar Punjab "$(district_n Punjab "$i")"; done

recorded=0
record_batch() { # NODE COUNT: the node imports COUNT new people offline
  python3 - "$T/$1.csv" "$2" "$1-$recorded" <<'PY'
import sys
path, n, tag = sys.argv[1], int(sys.argv[2]), sys.argv[3]
with open(path, "w") as f:
    f.write("name,gender,birth_year,cnic,phone,district,area,skill,reg_date\n")
    for k in range(n):
        f.write(f"Person {tag}-{k},{'female' if k % 2 else 'male'},{1980 + k % 25},,,"
                f"Lahore,{'rural' if k % 3 else 'urban'},white-collar,2026-10-{1 + k % 28:02d}\n")
PY
  node "$1" import persons "$T/$1.csv" > /dev/null 2>&1
  recorded=$((recorded + $2))
}
acked() { node "$1" status | awk -F': *' '/^acked/ {print $2}'; }
node_id() { node "$1" status | awk -F': *' '/^node id/ {print $2}'; }
head_of() { sqlite3 -readonly "$T/srv/server.db" "SELECT head_seq FROM node WHERE hex(node_id)=upper('$1')"; }
pos_of() { sqlite3 -readonly "$T/srv/state.db" "SELECT coalesce((SELECT merged_seq FROM merge_pos WHERE hex(node_id)=upper('$1')), 0)"; }

lost=0; ahead=0; checked=0
check_after_kill() {
  local i id a h p
  for i in $(seq 1 $NODES); do
    id=$(node_id "n$i"); a=$(acked "n$i"); h=$(head_of "$id"); p=$(pos_of "$id")
    checked=$((checked + a))
    if [ "$a" -gt "$h" ]; then lost=$((lost + a - h)); echo "LOST: n$i acked $a, head $h" >&2; fi
    if [ "$p" -gt "$h" ]; then ahead=$((ahead + 1)); echo "AHEAD: n$i merged $p > head $h" >&2; fi
  done
}

cycles=0; acked_kills=0; merge_kills=0; verifies=0; interrupted=0
start=$(date +%s)
while [ $(( $(date +%s) - start )) -lt "$SECONDS_BUDGET" ] && [ $cycles -lt "$MAX_CYCLES" ]; do
  cycles=$((cycles + 1))
  for i in $(seq 1 $NODES); do record_batch "n$i" "$PER_CYCLE"; done
  # 1. Acknowledged, not merged: the merger is paused while the nodes sync.
  "$SERVER" -d "$T/srv" merge pause > /dev/null
  server_start --merge-window "$WINDOW"
  for i in $(seq 1 $NODES); do node "n$i" sync --timeout 5 > /dev/null 2>&1 || true; done
  server_kill9; acked_kills=$((acked_kills + 1))
  check_after_kill
  # 2. In the middle of merge windows: resume, kill while it catches up.
  "$SERVER" -d "$T/srv" merge resume > /dev/null
  server_start --merge-window "$WINDOW"
  sleep "0.$((RANDOM % 6))$((RANDOM % 10))"
  server_kill9; merge_kills=$((merge_kills + 1))
  check_after_kill
  # Killed before the merger caught up (some windows committed, some not)?
  left=$("$SERVER" -d "$T/srv" merge status | sed -n 's/.*(\([0-9]*\) waiting to be merged.*/\1/p')
  [ "${left:-0}" -gt 0 ] && interrupted=$((interrupted + 1))
  if [ $((cycles % 5)) -eq 1 ]; then
    "$SERVER" -d "$T/srv" verify > "$T/verify.out" 2>&1 ||
      fail "verify after a kill in a merge window (cycle $cycles): $(tail -n 4 "$T/verify.out")"
    verifies=$((verifies + 1))
  fi
done

note "final: every node drains, the merger catches up"
server_start
for i in $(seq 1 $NODES); do node "n$i" sync > /dev/null 2>&1 || fail "final sync n$i"; done
reg=$(total --metric registered)
server_stop
"$SERVER" -d "$T/srv" verify > "$T/verify.out" || fail "verify disagrees: $(tail -n 4 "$T/verify.out")"
echo "kill-merge: cycles=$cycles kills-after-ack=$acked_kills kills-in-merge=$merge_kills (before catching up: $interrupted) verifies=$verifies receipted-entries-checked=$checked lost=$lost positions-ahead=$ahead registered=$reg recorded=$recorded"
[ $lost -eq 0 ] || fail "$lost acknowledged entries missing"
[ $ahead -eq 0 ] || fail "$ahead positions past their log head"
expect_eq "$reg" "$recorded" "registered after catching up"
