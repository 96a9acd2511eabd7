#!/usr/bin/env bash
# One process for a centre (issue 10): `rozgar-node serve` runs the centre
# app and the unattended sync of `sync --watch` together.
#  - records made through the web API reach the server by themselves;
#  - while serve holds the sync lock a separate `rozgar-node sync` is refused
#    (exit 5, naming serve and its pid) and `sync --now` asks it instead;
#  - the server goes down while staff record through the web API; the app
#    keeps working, the page shows the failures; the server returns and
#    every record arrives exactly once (`rozgar-server totals --wait`);
#  - the Sync button (HTTP POST /api/sync) makes the loop sync at once
#    (sync-interval is an hour here, so nothing else would start it);
#  - SIGTERM in the middle of a large sync: serve exits 0, the lock is
#    released, nothing acknowledged is lost; a new serve finishes the job,
#    totals exact, `verify` agrees;
#  - `serve --no-sync` leaves the lock alone;
#  - serve started before a server is configured syncs once `config` names
#    one; serve started while a `sync --watch` holds the lock waits, and
#    takes over when that one stops.
# The link is a proxy that delays every chunk (so a large sync takes long
# enough to be interrupted) and cuts connections mid-batch now and then.
# Bounded by RZ_SERVE_SYNC_SECONDS (default 240); ctest caps it at 300.
source "$(dirname "$0")/lib.sh"
HERE=$(cd "$(dirname "$0")" && pwd)
BUDGET=${RZ_SERVE_SYNC_SECONDS:-240}
CATCHUP_BOUND=120
checks=0
ok() { checks=$((checks + 1)); echo "   ok  $*"; }
start=$(date +%s)
SERVE_PID=""; PROXY_PID=""
N2_PID=""; W2_PID=""
stop_all() {
  [ -z "$N2_PID" ] || kill -TERM "$N2_PID" 2>/dev/null || true
  [ -z "$W2_PID" ] || kill -TERM "$W2_PID" 2>/dev/null || true
  [ -z "$SERVE_PID" ] || { kill -TERM "$SERVE_PID" 2>/dev/null; wait "$SERVE_PID" 2>/dev/null; } || true
  [ -z "$PROXY_PID" ] || kill -TERM "$PROXY_PID" 2>/dev/null || true
}
trap 'rc=$?; stop_all; (exit $rc); cleanup' EXIT
CURL=(curl -sS --max-time 20)
over_budget() { [ $(( $(date +%s) - start )) -le "$BUDGET" ] || fail "over the ${BUDGET} s budget"; }

server_init
node_new n1 "Centre 1" e-rozgar Punjab Lahore
server_start
PPORT=$(free_port)
python3 "$HERE/cutting_proxy.py" --listen-port "$PPORT" --target-host 127.0.0.1 \
  --target-port "$PORT" --delay-ms 20 --cut-min 400000 --cut-max 2000000 > "$T/proxy.log" 2>&1 &
PROXY_PID=$!
for _ in $(seq 50); do grep -q ready "$T/proxy.log" && break; sleep 0.1; done
node n1 config server="tcp://127.0.0.1:$PPORT" sync-interval=3600 sync-timeout=3 > /dev/null
echo "admin pass 1" | node n1 staff add admin --role admin > /dev/null

# start_serve [args...]: the app (and its sync) of n1; sets URL, SERVE_PID.
start_serve() {
  rm -f "$T/ready"
  "$NODE" -d "$T/n1" serve --listen "127.0.0.1:$APP_PORT" --ready-file "$T/ready" "$@" \
    >> "$T/serve.log" 2>&1 &
  SERVE_PID=$!
  for _ in $(seq 1 100); do
    [ -s "$T/ready" ] && break
    kill -0 "$SERVE_PID" 2>/dev/null || fail "serve exited: $(tail -n 5 "$T/serve.log")"
    sleep 0.1
  done
  [ -s "$T/ready" ] || fail "serve did not start"
  URL=$(cat "$T/ready"); URL=${URL%/}
}
stop_serve() { # sets SERVE_RC: serve's exit status after SIGTERM
  kill -TERM "$SERVE_PID"
  set +e; wait "$SERVE_PID"; SERVE_RC=$?; set -e
  SERVE_PID=""
  if grep -q "Sanitizer" "$T/serve.log"; then fail "sanitizer report: $(grep -A5 Sanitizer "$T/serve.log" | head)"; fi
}
login() {
  local code
  code=$("${CURL[@]}" -o "$T/login.out" -w '%{http_code}' -c "$T/jar" -H "Origin: $URL" \
    --data-urlencode "user=admin" --data-urlencode "password=admin pass 1" "$URL/login")
  [ "$code" = 200 ] || fail "sign-in: HTTP $code $(cat "$T/login.out"); $(tail -n 3 "$T/serve.log")"
  CS=$("${CURL[@]}" -b "$T/jar" "$URL/api/me" | python3 -c 'import json,sys; print(json.load(sys.stdin)["csrf"])')
}
recorded=0
add_person() { # add_person NAME: one person through the web API
  local r
  r=$("${CURL[@]}" -b "$T/jar" -H "Origin: $URL" --data-urlencode "name=$1" \
        -d "gender=female&birth_year=1995&district=Lahore&csrf=$CS" "$URL/api/person/save")
  echo "$r" | grep -q '"saved":true' || fail "the app did not save $1: $r"
  recorded=$((recorded + 1))
}
sync_json() { "${CURL[@]}" -b "$T/jar" "$URL/api/sync"; }
jget() { python3 -c 'import json,sys; v=json.load(sys.stdin); [v := (v.get(k) if isinstance(v, dict) else None) for k in sys.argv[1].split(".")]; print("" if v is None else (str(v).lower() if isinstance(v, bool) else v))' "$1"; }
status_of() { node n1 status | awk -F': *' -v k="$1" 'index($1, k) == 1 {print $2}'; }
wait_caught_up() { # BOUND -> seconds taken until nothing is pending
  local t0; t0=$(date +%s)
  while [ "$(status_of "pending entries")" != 0 ]; do
    [ $(( $(date +%s) - t0 )) -le "$1" ] || fail "not caught up within $1 s: $(tail -n 3 "$T/serve.log")"
    sleep 0.5
  done
  echo $(( $(date +%s) - t0 ))
}
server_head() {
  local id; id=$(status_of "node id")
  sqlite3 -readonly "$T/srv/server.db" "SELECT head_seq FROM node WHERE hex(node_id)=upper('$id')" 2>/dev/null || echo 0
}

note "serve with sync: records made in the app go out by themselves"
APP_PORT=$(free_port)
start_serve
grep -q "^background sync: on" "$T/serve.log" && ok "serve says its background sync is on" || fail "no background sync line: $(cat "$T/serve.log")"
login
for k in 1 2 3; do add_person "App $k"; done
took=$(wait_caught_up 60)
expect_eq "$(total --metric registered)" "$recorded" "registered after the first records"
ok "3 records made in the app reached the server in ${took} s without anybody pressing Sync"
[ "$(sync_json | jget auto)" = true ] && ok "the sync page says automatic sync is on" || fail "auto: $(sync_json)"

note "one sync per data directory"
set +e; node n1 sync > /dev/null 2> "$T/second.err"; rc=$?; set -e
expect_eq "$rc" 5 "a separate sync while serve runs"
grep -q "\`serve\` (pid $SERVE_PID)" "$T/second.err" && ok "a separate sync is refused (exit 5) naming serve and its pid" ||
  fail "refusal does not name serve: $(cat "$T/second.err")"
node n1 sync --now > "$T/now.out" || fail "sync --now: $(cat "$T/now.out")"
grep -q "asked the running \`serve\` (pid $SERVE_PID)" "$T/now.out" || fail "sync --now: $(cat "$T/now.out")"
for _ in $(seq 1 100); do grep -q "sync (asked)" "$T/serve.log" && break; sleep 0.1; done
grep -q "sync (asked)" "$T/serve.log" && kill -0 "$SERVE_PID" &&
  ok "sync --now (SIGUSR1) makes serve's loop sync at once, and serve lives on" || fail "sync --now did not reach serve's loop"

note "the server goes down while staff record in the app"
server_stop
add_person "Offline 0"
for _ in $(seq 1 150); do grep -q "retry in" "$T/serve.log" && break; sleep 0.2; done
grep -q "retry in" "$T/serve.log" || fail "no failure reported: $(tail -n 3 "$T/serve.log")"
for k in $(seq 1 20); do add_person "Offline $k"; done
fails=$(sync_json | jget failures)
[ "$(status_of "pending entries")" -gt 0 ] && ok "the app records with the server down (21 people; the loop failed ${fails:-?} times in a row)" || fail "nothing pending"
kill -0 "$SERVE_PID" || fail "serve died while the server was down"

note "the server returns"
server_start
took=$(wait_caught_up $CATCHUP_BOUND)
reg=$(total --metric registered)
expect_eq "$reg" "$recorded" "registered after the server returned (exactly once)"
ok "all $recorded records arrived exactly once, ${took} s after the server returned (bound ${CATCHUP_BOUND} s)"

note "the Sync button makes the loop sync at once"
asked0=$(grep -c "sync (asked)" "$T/serve.log" || true)
add_person "Button"
r=$("${CURL[@]}" -b "$T/jar" -H "Origin: $URL" -d "csrf=$CS" "$URL/api/sync")
echo "$r" | grep -q '"ok":true' || fail "the button was refused: $r"
for _ in $(seq 1 150); do
  sync_json > "$T/sync.json"
  [ "$(jget running < "$T/sync.json")" = false ] && [ "$(jget last.by < "$T/sync.json")" = admin ] && break
  sleep 0.2
done
python3 - "$T/sync.json" <<'PY' || fail "sync page after the button: $(cat "$T/sync.json")"
import json, sys
s = json.load(open(sys.argv[1]))
assert s["auto"] and not s["running"], s
assert s["last"]["ok"] and s["last"]["by"] == "admin", s
assert s["pending"] == 0 and s["last_ok"], s
assert 3000 <= s["next_s"] <= 3600, s  # the next one only after sync-interval
PY
asked1=$(grep -c "sync (asked)" "$T/serve.log" || true)
[ "$asked1" -gt "$asked0" ] && ok "POST /api/sync: the loop synced at once (sync (asked) in the log), the page shows admin's sync, nothing waits" ||
  fail "the button did not start a sync: $(tail -n 3 "$T/serve.log")"
expect_eq "$(total --metric registered)" "$recorded" "registered after the button"

note "SIGTERM in the middle of a large sync"
python3 - "$T/big.csv" <<'PY'
import sys
with open(sys.argv[1], "w") as f:
    f.write("name,gender,birth_year,cnic,phone,district,area,skill,reg_date\n")
    for k in range(20000):
        f.write(f"Bulk {k},{'female' if k % 2 else 'male'},{1980 + k % 25},,,Lahore,urban,"
                f"white-collar,2026-10-{1 + k % 28:02d}\n")
PY
before=$(status_of "acked seq")
node n1 import persons "$T/big.csv" > /dev/null 2>&1
recorded=$((recorded + 20000))
mid=0
for _ in $(seq 600); do
  a=$(status_of "acked seq")
  if [ "$a" -gt "$before" ] && [ "$(status_of "pending entries")" -gt 0 ]; then mid=1; break; fi
  sleep 0.05
done
[ "$mid" = 1 ] || fail "the large sync was never seen half-way (test too fast?)"
t0=$(date +%s%N)
stop_serve
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
expect_eq "$SERVE_RC" 0 "serve's exit status after SIGTERM mid-sync"
grep -q "background sync stopped" "$T/serve.log" || fail "serve did not say its sync stopped"
a=$(status_of "acked seq"); h=$(server_head); p=$(status_of "pending entries")
[ "$a" -le "$h" ] || fail "node holds receipts for $a entries, server head $h: acknowledged entries lost"
[ "$p" -gt 0 ] || fail "nothing left: the stop did not land mid-sync"
flock -n "$T/n1/sync.lock" true || fail "the lock outlived serve"
ok "SIGTERM mid-sync: serve exited 0 in ${ms} ms, lock released, acked=$a <= server head $h, $p entries wait"

note "serve --no-sync leaves syncing to others"
start_serve --no-sync
grep -q "^background sync: off" "$T/serve.log" || fail "--no-sync not reported"
sleep 1
set +e; node n1 sync --timeout 30 > "$T/manual.out" 2> "$T/manual.err"; rc=$?; set -e
expect_eq "$rc" 0 "a manual sync beside serve --no-sync ($(cat "$T/manual.err"))"
ok "beside serve --no-sync a manual sync takes the lock and delivers the rest"
stop_serve; expect_eq "$SERVE_RC" 0 "serve --no-sync exit"

note "a node configured while serve runs; a sync --watch that held the lock first"
"$NODE" -d "$T/n2" init > "$T/n2.init"
echo "admin pass 2" | node n2 staff add admin --role admin > /dev/null
"$SERVER" -d "$T/srv" enroll --token "$(awk '/^enroll-token:/ {print $2}' "$T/n2.init")" \
  --centre "Centre 2" --programme e-rozgar --province Punjab --district Lahore > /dev/null
P2=$(free_port)
n2_serve() {
  rm -f "$T/n2.ready"
  "$NODE" -d "$T/n2" serve --listen "127.0.0.1:$P2" --ready-file "$T/n2.ready" >> "$T/n2.serve.log" 2>&1 &
  N2_PID=$!
  for _ in $(seq 1 100); do [ -s "$T/n2.ready" ] && break; sleep 0.1; done
  [ -s "$T/n2.ready" ] || fail "serve n2 did not start: $(tail -n 3 "$T/n2.serve.log")"
}
n2_pending() { node n2 status | awk -F': *' 'index($1, "pending entries") == 1 {print $2}'; }
n2_wait_sent() {
  for _ in $(seq 1 300); do [ "$(n2_pending)" = 0 ] && return 0; sleep 0.2; done
  fail "n2 did not catch up: $(tail -n 3 "$T/n2.serve.log")"
}
n2_serve
node n2 person add --name "Centre 2 first" --gender male > /dev/null; recorded=$((recorded + 1))
for _ in $(seq 1 50); do grep -q "background sync waits for a server" "$T/n2.serve.log" && break; sleep 0.1; done
grep -q "background sync waits for a server" "$T/n2.serve.log" || fail "n2: no word about the missing server"
U2=$(cat "$T/n2.ready"); U2=${U2%/}
"${CURL[@]}" -o /dev/null -c "$T/jar2" -H "Origin: $U2" --data-urlencode "user=admin" \
  --data-urlencode "password=admin pass 2" "$U2/login"
w=$("${CURL[@]}" -b "$T/jar2" "$U2/api/sync" | jget auto_wait)
expect_eq "$w" "no server is set up yet" "n2's Sync page while no server is set up"
node n2 config "server=$ENDPOINT" "server-key=$SERVER_KEY" > /dev/null
n2_wait_sent
ok "serve started before any server is configured says so on the Sync page, and syncs once \`config\` names one"
kill -TERM "$N2_PID"; wait "$N2_PID" || fail "n2 serve exit"
"$NODE" -d "$T/n2" sync --watch --interval 600 > "$T/n2.watch.out" 2>&1 &
W2_PID=$!
for _ in $(seq 1 100); do grep -q "^pid $W2_PID" "$T/n2/sync.lock" 2>/dev/null && break; sleep 0.1; done
grep -q "^pid $W2_PID" "$T/n2/sync.lock" || fail "n2 watch did not take the lock"
n2_serve
for _ in $(seq 1 50); do grep -q "background sync waits: .*sync --watch" "$T/n2.serve.log" && break; sleep 0.1; done
grep -q "background sync waits: .*sync --watch" "$T/n2.serve.log" || fail "n2 serve did not wait for the watch: $(tail -n 3 "$T/n2.serve.log")"
"${CURL[@]}" -b "$T/jar2" "$U2/api/sync" > "$T/n2.sync.json"
grep -q '"auto_wait":"a sync of .* is already running: `sync --watch` (pid '"$W2_PID"')' "$T/n2.sync.json" ||
  fail "n2's Sync page does not say what the loop waits for: $(cat "$T/n2.sync.json")"
kill -TERM "$W2_PID"; wait "$W2_PID" || fail "n2 watch exit"
for _ in $(seq 1 100); do grep -q "^pid $N2_PID" "$T/n2/sync.lock" 2>/dev/null && break; sleep 0.1; done
set +e; node n2 sync > /dev/null 2> "$T/n2.second.err"; rc=$?; set -e
expect_eq "$rc" 5 "n2: a separate sync once serve took over ($(cat "$T/n2.second.err"))"
node n2 person add --name "Centre 2 second" --gender female > /dev/null; recorded=$((recorded + 1))
n2_wait_sent
kill -TERM "$N2_PID"; wait "$N2_PID" || fail "n2 serve exit"
ok "serve waits while a sync --watch holds the lock (the Sync page names it), takes over when it stops, and syncs"

note "a new serve with sync stays in step"
start_serve
login
add_person "After restart"
took=$(wait_caught_up $CATCHUP_BOUND)
reg=$(total --metric registered)
expect_eq "$reg" "$recorded" "registered at the end (exactly once)"
ok "registered=$reg equals recorded=$recorded"
stop_serve; expect_eq "$SERVE_RC" 0 "final serve exit"
"$SERVER" -d "$T/srv" verify > "$T/verify.out" || fail "verify disagrees: $(tail -n 4 "$T/verify.out")"
ok "the server's verify agrees"
kill -TERM "$PROXY_PID"; wait "$PROXY_PID" 2>/dev/null || true; PROXY_PID=""
over_budget
echo "  check: serve-sync recorded=$recorded registered=$reg checks=$checks $(tail -n 1 "$T/proxy.log") elapsed=$(( $(date +%s) - start ))s"
