#!/usr/bin/env bash
# Reconnection spread (issue 10): 50 nodes run `sync --watch`; the server
# goes down for a while, every centre records meanwhile; when the server
# returns, their reconnections must be spread by the jittered backoff: no
# second holds more than a fifth of them (the spread is printed), and all
# catch up, exactly once.  A node's reconnection time is the server time it
# saw at its first session after the outage (meta.last_server_ms: nothing
# else is recorded after the catch-up, the idle interval being 600 s).
# Bounded by RZ_SPREAD_SECONDS (default 270).
source "$(dirname "$0")/lib.sh"
NODES=${RZ_SPREAD_NODES:-50}
BUDGET=${RZ_SPREAD_SECONDS:-270}
BACKOFF_MAX=${RZ_SPREAD_BACKOFF:-30}
DOWN=${RZ_SPREAD_DOWN:-35}
start=$(date +%s)
WATCHES=()
stop_all() { for p in "${WATCHES[@]}"; do kill -TERM "$p" 2>/dev/null || true; done; }
trap 'stop_all; cleanup' EXIT

server_init
note "$NODES nodes"
for i in $(seq 1 "$NODES"); do node_new "n$i" "Centre $i" e-rozgar Punjab "$(district_n Punjab "$i")"; done
server_start
for i in $(seq 1 "$NODES"); do
  "$NODE" -d "$T/n$i" sync --watch --interval 600 --backoff-max "$BACKOFF_MAX" > "$T/w$i.out" 2>&1 &
  WATCHES+=($!)
done
pending() { "$NODE" -d "$T/n$1" status | awk -F': *' '/^pending/ {print $2}'; }
wait_all_synced() { # BOUND
  local t0 i left; t0=$(date +%s)
  while :; do
    left=0
    for i in $(seq 1 "$NODES"); do [ "$(pending "$i")" = 0 ] || left=$((left + 1)); done
    [ $left -eq 0 ] && return 0
    [ $(( $(date +%s) - t0 )) -le "$1" ] || fail "$left nodes not caught up within $1 s"
    sleep 1
  done
}
for i in $(seq 1 "$NODES"); do "$NODE" -d "$T/n$i" person add --name "Before $i" --gender male > /dev/null; done
wait_all_synced 60

note "server down for ${DOWN} s; every centre records"
server_stop
for i in $(seq 1 "$NODES"); do
  "$NODE" -d "$T/n$i" person add --name "During $i" --gender female > /dev/null
  "$NODE" -d "$T/n$i" person add --name "During $i b" --gender male > /dev/null
done
sleep "$DOWN"
for p in "${WATCHES[@]}"; do kill -0 "$p" || fail "a watch died while the server was down"; done

note "server back"
back_ms=$(date +%s%3N)
server_start
wait_all_synced 120
caught=$(( $(date +%s%3N) - back_ms ))

# Seconds after the server's return at which each node reconnected.
offsets=()
for i in $(seq 1 "$NODES"); do
  ms=$(sqlite3 -readonly "$T/n$i/node.db" "SELECT last_server_ms FROM meta")
  offsets+=($(( (ms - back_ms) / 1000 )))
done
spread=$(printf '%s\n' "${offsets[@]}" | sort -n | uniq -c | awk '{printf "%ss:%s ", $2, $1}')
maxsec=$(printf '%s\n' "${offsets[@]}" | sort -n | uniq -c | sort -rn | awk 'NR==1 {print $1}')
first=$(printf '%s\n' "${offsets[@]}" | sort -n | head -1)
last=$(printf '%s\n' "${offsets[@]}" | sort -n | tail -1)
echo "  check: spread of $NODES reconnections (second after return:count) $spread"
echo "  check: spread busiest second holds $maxsec of $NODES (limit $((NODES / 5))); first ${first}s last ${last}s; all caught up in ${caught} ms"
[ "$first" -ge 0 ] || fail "a node reconnected before the server returned?"
[ "$maxsec" -le $((NODES / 5)) ] || fail "$maxsec of $NODES reconnections in one second"
stop_all
for p in "${WATCHES[@]}"; do wait "$p" || fail "a watch exited non-zero on SIGTERM"; done
WATCHES=()
reg=$(total --metric registered)
expect_eq "$reg" $((NODES * 3)) "registered"
echo "  check: spread nodes=$NODES registered=$reg elapsed=$(( $(date +%s) - start ))s"
[ $(( $(date +%s) - start )) -le "$BUDGET" ] || fail "over the ${BUDGET} s budget"
