#!/usr/bin/env bash
# The main job, end to end on one machine (README "Run it"):
# build, start a central server, enroll three centres in two provinces, record
# registrations, events and attendance at each centre while the server is
# down (offline), bring the server up, sync every centre, print national totals,
# then start the centre app of e-Rozgar Lahore and say where to open it (it keeps
# serving, with the dashboard, until Ctrl-C when run from a terminal, or with
# RZ_DEMO_KEEP_SERVING=1).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh >/dev/null
BIN=build
W=${RZ_DEMO_DIR:-$(mktemp -d /tmp/rozgar-demo.XXXXXX)}
PORT=${RZ_DEMO_PORT:-7700}
EP="tcp://127.0.0.1:$PORT"
S() { "$BIN/rozgar-server" -d "$W/hq" "$@"; }
N() { local c=$1; shift; "$BIN/rozgar-node" -d "$W/$c" "$@"; }

echo "== headquarters: create the server in $W/hq"
KEY=$(S init | awk '/^server-key:/ {print $2}')

echo "== enroll three centres in two provinces"
enroll() { # dir centre programme province district
  local tok
  tok=$(N "$1" init | awk '/^enroll-token:/ {print $2}')
  S enroll --token "$tok" --centre "$2" --programme "$3" --province "$4" --district "$5"
  N "$1" config --server "$EP" --server-key "$KEY" >/dev/null
}
enroll lahore "e-Rozgar Lahore" e-rozgar Punjab Lahore
enroll multan "Innovista Multan" innovista Punjab Multan
enroll peshawar "e-Rozgar Peshawar" e-rozgar "Khyber Pakhtunkhwa" Peshawar

echo "== centres record while offline (no server is running)"
record() { # centre, then person specs "name|gender|birth|area|skill|cnic"
  local c=$1; shift
  local ev1 ev2 p i=0
  ev1=$(N "$c" event add --kind bootcamp --title "Freelancing bootcamp" --date 2026-10-05)
  ev2=$(N "$c" event add --kind financial-literacy --title "Taxes and payments" --date 2026-11-02)
  for spec in "$@"; do
    IFS='|' read -r name gender birth area skill cnic <<<"$spec"
    p=$(N "$c" person add --name "$name" --gender "$gender" --birth-year "$birth" \
          --area "$area" --skill "$skill" ${cnic:+--cnic "$cnic"} --date 2026-10-01)
    N "$c" attend "$ev1" "$p" >/dev/null
    if [ $((i % 2)) -eq 0 ]; then N "$c" attend "$ev2" "$p" >/dev/null; fi
    i=$((i + 1))
  done
}
record lahore "Ayesha Khan|female|2001|urban|white-collar|35202-1234567-2" \
              "Bilal Ahmed|male|1998|urban|professional|" \
              "Fatima Noor|female|2004|rural|white-collar|" \
              "عائشہ بی بی|female|1999|rural|blue-collar|"
record multan "Hamza Iqbal|male|1995|rural|blue-collar|" \
              "Sana Javed|female|2003|rural|white-collar|" \
              "Ayesha Khan|female|2001|urban|white-collar|35202-1234567-2"
record peshawar "Gul Zaman|male|2000|rural|blue-collar|" \
                "Mehwish Afridi|female|2002|urban|professional|" \
                "Imran Yousafzai|male|1990|urban|white-collar|"
echo "-- a sync attempt now fails cleanly and loses nothing:"
N lahore sync --timeout 2 || echo "   (exit $?: expected, the server is down)"

echo "== headquarters starts the server"
"$BIN/rozgar-server" -d "$W/hq" run --bind "$EP" --http "127.0.0.1:${RZ_DEMO_HTTP_PORT:-8080}" \
  >"$W/server.log" 2>&1 &
SRV=$!
APP=""
trap 'rc=$?; kill $SRV $APP 2>/dev/null; wait $SRV $APP 2>/dev/null; exit $rc' EXIT
for _ in $(seq 50); do grep -q serving "$W/server.log" && break; sleep 0.1; done
grep -q serving "$W/server.log" || { cat "$W/server.log"; exit 1; }

echo "== every centre syncs"
for c in lahore multan peshawar; do echo "-- $c"; N "$c" sync; done

echo "== national totals (Ayesha registered at two centres with one CNIC counts once)"
S totals
echo "== registrations by province x gender"
S totals --metric registered --by province --by gender
S verify | tail -n 1
echo "== demo data in $W"

echo "== the centre app of e-Rozgar Lahore (what its staff use instead of the command line)"
APP_PORT=${RZ_DEMO_APP_PORT:-8090}
APP_PASS=${RZ_DEMO_APP_PASSWORD:-lahore-demo-1}
echo "$APP_PASS" | N lahore staff add admin --role admin >/dev/null
"$BIN/rozgar-node" -d "$W/lahore" serve --listen "127.0.0.1:$APP_PORT" --ready-file "$W/app.ready" \
  >"$W/app.log" 2>&1 &
APP=$!
for _ in $(seq 50); do [ -s "$W/app.ready" ] && break; sleep 0.1; done
[ -s "$W/app.ready" ] || { cat "$W/app.log"; exit 1; }
echo "   open $(cat "$W/app.ready") and sign in as admin / $APP_PASS"
echo "   (register, find, events and attendance, import a CSV, Sync now)"
echo "== dashboard: http://127.0.0.1:${RZ_DEMO_HTTP_PORT:-8080}/"
if [ -n "${RZ_DEMO_KEEP_SERVING:-}" ] || [ -t 0 ]; then
  echo "== serving until Ctrl-C"
  wait $SRV
fi
