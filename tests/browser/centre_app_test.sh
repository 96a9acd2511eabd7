#!/usr/bin/env bash
# The centre app in a real browser (issue 9): Debian's chromium, headless,
# driven through the DevTools protocol by tests/browser/centre_app.py (Debian's
# python3-websocket; nothing is downloaded).  A real rozgar-server runs on
# 127.0.0.1; a centre node enrolled with it serves its app; the script signs
# in, registers two people (one Urdu name), sees the duplicate warning on a
# third, finds one by CNIC, creates an event, ticks attendance, imports a CSV
# with bad rows (listed by line, nothing imported) then fixed, and syncs.
# Then the server's totals must equal what the browser recorded.
# Screenshots of every page at 400 px and 1280 px go to $RZ_SCREENSHOT_DIR
# (default: BIN/centre-app-shots).
# Exit: 0 pass, 1 fail, 77 skipped (chromium or python3-websocket missing).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
PY=/usr/bin/python3   # Debian's python, which has python3-websocket
if ! command -v chromium >/dev/null; then echo "SKIP: chromium is not installed"; exit 77; fi
if ! "$PY" -c 'import websocket' 2>/dev/null; then echo "SKIP: python3-websocket is not installed"; exit 77; fi
: "${BIN:?set BIN to the build directory}"
BIN=$(cd "$BIN" && pwd)
export BIN
SHOTS=${RZ_SCREENSHOT_DIR:-$BIN/centre-app-shots}
# shellcheck source=../integration/lib.sh
source "$HERE/../integration/lib.sh"
APP_PID=""
trap 'rc=$?; [ -z "$APP_PID" ] || { kill -TERM "$APP_PID" 2>/dev/null; wait "$APP_PID" 2>/dev/null; }; (exit $rc); cleanup' EXIT

note "a server and one centre"
server_init
node_new lhr "e-Rozgar Lahore" e-rozgar Punjab Lahore
server_start
echo "admin pass 1" | node lhr staff add admin --role admin > /dev/null
APP_PORT=$(free_port)
"$NODE" -d "$T/lhr" serve --listen "127.0.0.1:$APP_PORT" --ready-file "$T/ready" > "$T/app.log" 2>&1 &
APP_PID=$!
for _ in $(seq 1 100); do [ -s "$T/ready" ] && break; sleep 0.1; done
[ -s "$T/ready" ] || fail "the centre app did not start: $(tail -n 5 "$T/app.log")"

note "the browser"
rm -rf "$SHOTS"
timeout -k 5 240 "$PY" "$HERE/centre_app.py" "$(cat "$T/ready")" admin "admin pass 1" "$SHOTS" "$T/rec.json" ||
  fail "the browser scenario failed (app log: $(tail -n 5 "$T/app.log"))"

note "the server's totals against what the browser recorded"
"$SERVER" -d "$T/srv" totals --wait > /dev/null 2>&1 || true   # when the server merges behind the ack
reg=$(total --metric registered)
att=$(total --metric attendances)
ev=$(total --metric events)
read -r want_reg want_att want_ev < <("$PY" -c 'import json,sys; r=json.load(open(sys.argv[1])); print(r["registered"], r["present"], r["events"])' "$T/rec.json")
expect_eq "$reg" "$want_reg" "registered at the server"
expect_eq "$att" "$want_att" "attendances at the server"
expect_eq "$ev" "$want_ev" "events at the server"
echo "   ok  the server counts $reg registered, $att attendances, $ev event: what the browser recorded"
stop_app() {
  kill -TERM "$APP_PID"; wait "$APP_PID" || fail "the app exited with $? on SIGTERM"
  APP_PID=""
  grep -q Sanitizer "$T/app.log" && fail "sanitizer report in the app's log: $(grep -A5 Sanitizer "$T/app.log" | head)"
  return 0
}
stop_app

note "the app over HTTPS (127.0.0.2) on a PC whose clock is a day behind"
rm -f "$T/ready"
RZ_FAKE_NOW_MS=-86400000 "$NODE" -d "$T/lhr" serve --listen "127.0.0.2:$APP_PORT" --ready-file "$T/ready" > "$T/app.log" 2>&1 &
APP_PID=$!
for _ in $(seq 1 100); do [ -s "$T/ready" ] && break; sleep 0.1; done
[ -s "$T/ready" ] || fail "the centre app did not restart: $(tail -n 5 "$T/app.log")"
FPR=$(awk '/fingerprint/ {getline; print $1}' "$T/app.log")
timeout -k 5 120 "$PY" "$HERE/centre_app.py" "$(cat "$T/ready")" admin "admin pass 1" "$SHOTS" "$FPR" --clock ||
  fail "the clock scenario failed"
stop_app
echo "PASS browser centre app; screenshots in $SHOTS"
