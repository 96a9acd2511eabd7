#!/usr/bin/env bash
# Unattended sync (issue 10): `rozgar-node sync --watch` runs while the
# server is down and the centre records; the server comes back and
# everything arrives exactly once within a bound (backoff ceiling + drain);
# the link is a proxy that delays and cuts connections mid-batch; SIGTERM in
# the middle of a large sync stops the loop cleanly (exit 0, lock released,
# every acknowledged entry on the server); a new watch finishes the job;
# totals exact, verify agrees.  Bounded by RZ_WATCH_SECONDS (default 240).
source "$(dirname "$0")/lib.sh"
HERE=$(cd "$(dirname "$0")" && pwd)
BUDGET=${RZ_WATCH_SECONDS:-240}
CATCHUP_BOUND=90
checks=0
ok() { checks=$((checks + 1)); }
start=$(date +%s)
WATCH_PID=""; PROXY_PID=""
stop_all() {
  [ -z "$WATCH_PID" ] || kill -TERM "$WATCH_PID" 2>/dev/null || true
  [ -z "$PROXY_PID" ] || kill -TERM "$PROXY_PID" 2>/dev/null || true
}
trap 'stop_all; cleanup' EXIT

server_init
node_new n1 "Centre 1" e-rozgar Punjab Lahore
PPORT=$(free_port)
python3 "$HERE/cutting_proxy.py" --listen-port "$PPORT" --target-host 127.0.0.1 \
  --target-port "$PORT" --delay-ms 30 --cut-min 150000 --cut-max 900000 > "$T/proxy.log" 2>&1 &
PROXY_PID=$!
for _ in $(seq 50); do grep -q ready "$T/proxy.log" && break; sleep 0.1; done
node n1 config server="tcp://127.0.0.1:$PPORT" > /dev/null

recorded=0
record_csv() { # record_csv COUNT TAG
  python3 - "$T/p.csv" "$1" "$2" <<'PY'
import sys
path, n, tag = sys.argv[1], int(sys.argv[2]), sys.argv[3]
with open(path, "w") as f:
    f.write("name,gender,birth_year,cnic,phone,district,area,skill,reg_date\n")
    for k in range(n):
        f.write(f"W {tag}-{k},{'female' if k % 2 else 'male'},{1980 + k % 25},,,Lahore,urban,"
                f"white-collar,2026-10-{1 + k % 28:02d}\n")
PY
  node n1 import persons "$T/p.csv" > /dev/null
  recorded=$((recorded + $1))
}
pending() { node n1 status | awk -F': *' '/^pending/ {print $2}'; }
acked() { node n1 status | awk -F': *' '/^acked/ {print $2}'; }
server_head() {
  local id; id=$(node n1 status | awk -F': *' '/^node id/ {print $2}')
  sqlite3 -readonly "$T/srv/server.db" "SELECT head_seq FROM node WHERE hex(node_id)=upper('$id')" 2>/dev/null || echo 0
}
start_watch() {
  "$NODE" -d "$T/n1" sync --watch --interval 600 --backoff-max 4 >> "$T/watch.out" 2>> "$T/watch.err" &
  WATCH_PID=$!
}
# wait_caught_up BOUND: until nothing is pending; prints the seconds taken.
wait_caught_up() {
  local t0; t0=$(date +%s)
  while [ "$(pending)" != 0 ]; do
    [ $(( $(date +%s) - t0 )) -le "$1" ] || fail "not caught up within $1 s: $(tail -n 3 "$T/watch.out")"
    sleep 0.5
  done
  echo $(( $(date +%s) - t0 ))
}

note "server down; the watch loop runs while the centre records"
start_watch
record_csv 2000 a
for k in 1 2 3; do node n1 person add --name "Walk-in $k" --gender female > /dev/null; recorded=$((recorded + 1)); sleep 1; done
for _ in $(seq 60); do grep -q "unreachable" "$T/watch.out" && break; sleep 0.2; done
grep -q "unreachable" "$T/watch.out" || fail "watch did not report the server down"; ok
kill -0 "$WATCH_PID" || fail "watch died while the server was down"; ok
set +e; node n1 sync > /dev/null 2> "$T/second.err"; rc=$?; set -e
expect_eq "$rc" 5 "a manual sync while the watch runs"; ok

note "server back"
server_start
took=$(wait_caught_up $CATCHUP_BOUND)
echo "  check: watch caught up ${recorded} entries ${took} s after the server returned (bound ${CATCHUP_BOUND} s)"
expect_eq "$(total --metric registered)" "$recorded" "registered after catch-up"; ok

note "new records go out soon without being asked"
node n1 person add --name "Late" --gender male > /dev/null; recorded=$((recorded + 1))
took=$(wait_caught_up 30)
echo "  check: a new record reached the server ${took} s after it was made"; ok

note "SIGTERM in the middle of a large sync"
before=$(acked)
record_csv 20000 b
mid=0
for _ in $(seq 600); do
  a=$(acked)
  if [ "$a" -gt "$before" ] && [ "$(pending)" -gt 0 ]; then mid=1; break; fi
  sleep 0.05
done
t0=$(date +%s%N)
kill -TERM "$WATCH_PID"
set +e; wait "$WATCH_PID"; rc=$?; set -e
WATCH_PID=""
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
expect_eq "$rc" 0 "watch exit status after SIGTERM"; ok
grep -q "^watch: stopped" "$T/watch.out" || fail "watch did not say it stopped"; ok
a=$(acked); h=$(server_head)
[ "$a" -le "$h" ] || fail "node holds receipts for $a entries, server head $h: acknowledged entries lost"; ok
[ "$mid" = 1 ] || fail "the SIGTERM did not land mid-sync (test too fast?)"
echo "  check: watch stopped mid-sync in ${ms} ms with acked=$a of $(node n1 status | awk -F': *' '/^log head/ {print $2}'), server head $h"
flock -n "$T/n1/sync.lock" true || fail "the lock outlived the watch"; ok
[ "$(pending)" -gt 0 ] || fail "nothing left for the next watch: the stop did not land mid-sync"

note "a new watch finishes the job"
start_watch
took=$(wait_caught_up $CATCHUP_BOUND)
kill -TERM "$WATCH_PID"; wait "$WATCH_PID" || fail "second watch exit"; WATCH_PID=""
reg=$(total --metric registered)
expect_eq "$reg" "$recorded" "registered (exactly once)"; ok
"$SERVER" -d "$T/srv" verify > "$T/verify.out" || fail "verify disagrees: $(tail -n 4 "$T/verify.out")"; ok
kill -TERM "$PROXY_PID"; wait "$PROXY_PID" 2>/dev/null || true; PROXY_PID=""
echo "  check: watch recorded=$recorded registered=$reg checks=$checks $(tail -n 1 "$T/proxy.log") elapsed=$(( $(date +%s) - start ))s"
[ $(( $(date +%s) - start )) -le "$BUDGET" ] || fail "over the ${BUDGET} s budget"
