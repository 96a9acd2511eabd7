#!/usr/bin/env bash
# Crash safety of the server (issues 2 and 5): kill -9 the server at random
# moments while several nodes drain large backlogs, restart it, and check after
# every restart that no acknowledged entry is missing (each node's receipted
# sequence is at or below the server's stored head); at the end all syncs
# complete, totals count every person exactly once and verify agrees.
# Bounded by RZ_KILL_SECONDS (default 300) and RZ_KILL_CYCLES (default 300).
source "$(dirname "$0")/lib.sh"
SECONDS_BUDGET=${RZ_KILL_SECONDS:-300}
MAX_CYCLES=${RZ_KILL_CYCLES:-300}
NODES=3
PER_NODE=${RZ_KILL_PEOPLE:-3000}

server_init
for i in $(seq 1 $NODES); do node_new "n$i" "Centre $i" e-rozgar Punjab "$(district_n Punjab "$i")"; done

# record_batch NODE COUNT: the node imports COUNT new people offline.
recorded=0
record_batch() {
  python3 - "$T/$1.csv" "$2" "$1-$recorded" <<'PY'
import sys
path, n, tag = sys.argv[1], int(sys.argv[2]), sys.argv[3]
with open(path, "w") as f:
    f.write("name,gender,birth_year,cnic,phone,district,area,skill,reg_date\n")
    for k in range(n):
        f.write(f"Person {tag}-{k},{'female' if k % 2 else 'male'},{1980 + k % 25},,,"
                f"Lahore,{'rural' if k % 3 else 'urban'},white-collar,2026-10-{1 + k % 28:02d}\n")
PY
  node "$1" import persons "$T/$1.csv" > /dev/null
  recorded=$((recorded + $2))
}
note "each node imports $PER_NODE people offline"
for i in $(seq 1 $NODES); do record_batch "n$i" "$PER_NODE"; done

acked() { node "$1" status | awk -F': *' '/^acked/ {print $2}'; }
node_id() { node "$1" status | awk -F': *' '/^node id/ {print $2}'; }

cycles=0; checked=0; lost=0
start=$(date +%s)
server_start
while :; do
  # Drain concurrently and kill the server at a random moment.
  pids=()
  for i in $(seq 1 $NODES); do node "n$i" sync --timeout 3 > /dev/null 2>&1 & pids+=($!); done
  sleep "0.$((RANDOM % 9 + 1))"
  server_kill9
  for p in "${pids[@]}"; do wait "$p" || true; done
  cycles=$((cycles + 1))
  # Every receipted entry must be on the server.
  for i in $(seq 1 $NODES); do
    id=$(node_id "n$i"); a=$(acked "n$i")
    h=$(sqlite3 -readonly "$T/srv/server.db" "SELECT head_seq FROM node WHERE hex(node_id)=upper('$id')")
    checked=$((checked + a))
    if [ "$a" -gt "$h" ]; then lost=$((lost + a - h)); echo "LOST: node n$i acked $a, server head $h" >&2; fi
  done
  server_start
  [ $(( $(date +%s) - start )) -lt "$SECONDS_BUDGET" ] && [ $cycles -lt "$MAX_CYCLES" ] || break
  # Keep a backlog for the next cycle: centres go on recording.
  for i in $(seq 1 $NODES); do record_batch "n$i" 100; done
done

note "final drain"
for i in $(seq 1 $NODES); do node "n$i" sync > /dev/null || fail "final sync n$i"; done
reg=$(total --metric registered)
dup=$((reg - recorded))
"$SERVER" -d "$T/srv" verify > "$T/verify.out" || fail "verify disagrees: $(tail -n 4 "$T/verify.out")"
echo "kill-server: cycles=$cycles receipted-entries-checked=$checked lost=$lost duplicated=$dup registered=$reg"
[ $lost -eq 0 ] || fail "$lost acknowledged entries missing"
[ $dup -eq 0 ] || fail "registered $reg, expected $recorded"
