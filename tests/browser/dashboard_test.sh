#!/usr/bin/env bash
# Headless browser check of the headquarters dashboard (not in ctest yet).
#
# Renders the real page in Debian's chromium (headless, no sandbox, no
# network beyond 127.0.0.1) after its JavaScript ran, and checks that what a
# person would see matches what the JSON API says: the national figures,
# the women's/youth shares, the 50,000 target bar, the "as of ... N of M
# centres synced" banner, the four Chart.js charts (drawn, with the right
# points), the stale-centres table, and the drill-down province -> district
# -> centre with its breadcrumbs.
#
# Installs nothing.  Needs: chromium (Debian package), python3, curl.
#
# Usage:
#   BIN=build tests/browser/dashboard_test.sh
#       builds a small network with the real CLIs (4 centres, 3 sync, 1
#       never does), starts rozgar-server with --http on loopback, checks.
#   RZ_DASHBOARD_URL=http://127.0.0.1:8080 tests/browser/dashboard_test.sh
#       checks an already running server (e.g. scripts/demo.sh) instead;
#       figures are compared with that server's own API.
# The phone layout is checked at a true 400 px by phone.py (DevTools device
# metrics; a headless window cannot be narrower than 500 px).
# Exit: 0 pass, 1 fail, 77 skipped (chromium not installed).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
BUDGET_MS=${RZ_BROWSER_BUDGET_MS:-15000}   # virtual time the page may use
WALL_S=${RZ_BROWSER_TIMEOUT_S:-90}         # hard wall-clock bound per browser run

CHROMIUM=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$CHROMIUM" ]; then
  echo "SKIP: chromium is not installed (Debian package chromium)"
  exit 77
fi
command -v python3 >/dev/null || { echo "FAIL: python3 missing"; exit 1; }
command -v curl >/dev/null || { echo "FAIL: curl missing"; exit 1; }

if [ -n "${RZ_DASHBOARD_URL:-}" ]; then
  BASE=${RZ_DASHBOARD_URL%/}
  T=$(mktemp -d "${TMPDIR:-/tmp}/rz-browser.XXXXXX")
  trap '[ -n "${RZ_KEEP_TMP:-}" ] || rm -rf "$T"' EXIT
  fail() { echo "FAIL: $*" >&2; exit 1; }
  note() { echo "-- $*"; }
else
  : "${BIN:?set BIN to the build directory, or RZ_DASHBOARD_URL to a running server}"
  BIN=$(cd "$BIN" && pwd)
  export BIN
  # shellcheck source=../integration/lib.sh
  source "$HERE/../integration/lib.sh"

  note "building a small network: 4 centres, 3 of them sync"
  server_init
  node_new lhr "e-Rozgar Lahore" e-rozgar Punjab Lahore
  node_new mul "Innovista Multan" innovista Punjab Multan
  node_new psh "e-Rozgar Peshawar" e-rozgar "Khyber Pakhtunkhwa" Peshawar
  node_new qta "ای روزگار کوئٹہ" e-rozgar Balochistan Quetta   # never syncs; an Urdu name
  node_new skr "e-Rozgar Sukkur" e-rozgar Sindh Sukkur        # enrolled, then revoked
  "$SERVER" -d "$T/srv" revoke "$(awk '/^node-id:/ {print $2}' "$T/skr.init")" > /dev/null
  today=$(date -u +%Y-%m-%d)   # within this year and never in the future
  person() { local n=$1 name=$2 g=$3 b=$4; shift 4
             node "$n" person add --name "$name" --gender "$g" --birth-year "$b" --date "$today" "$@"; }
  a1=$(person lhr "Ayesha Khan" female 2001 --cnic 35202-1234567-2 --area urban)
  a2=$(person lhr "Bilal Ahmed" male 1998 --area urban)
  a3=$(person lhr "Fatima Noor" female 2004 --area rural)
  m1=$(person mul "Hamza Iqbal" male 1975)
  m2=$(person mul "Sana Javed" female 2003)
  p1=$(person psh "Gul Zaman" male 2000)
  p2=$(person psh "Mehwish Afridi" female 2002)
  e1=$(node lhr event add --kind bootcamp --title "Upwork bootcamp" --date "$today")
  e2=$(node mul event add --kind financial-literacy --title "Taxes" --date "$today")
  e3=$(node psh event add --kind awareness --title "Rights" --date "$today")
  for p in "$a1" "$a2" "$a3"; do node lhr attend "$e1" "$p" >/dev/null; done
  node mul attend "$e2" "$m1" >/dev/null
  node psh attend "$e3" "$p2" >/dev/null
  : "$m2" "$p1"
  HTTP_PORT=$(free_port)
  server_start --http "127.0.0.1:$HTTP_PORT"
  for n in lhr mul psh; do node "$n" sync > "$T/$n.sync" || fail "sync $n: $(cat "$T/$n.sync")"; done
  # Acknowledged is not yet counted: wait for the merger, never sleep.
  "$SERVER" -d "$T/srv" totals --wait --timeout 120 > /dev/null || fail "totals --wait"
  BASE="http://127.0.0.1:$HTTP_PORT"
fi

api() { curl -fsS --max-time 20 "$BASE$1"; }

# run_browser URL OUT: the DOM after the page's scripts ran.
run_browser() {
  local prof size=${3:-1280,1800}
  prof=$(mktemp -d "$T/profile.XXXXXX")
  timeout -k 5 "$WALL_S" "$CHROMIUM" --headless --no-sandbox --disable-gpu --disable-quic \
    --no-first-run --disable-background-networking --disable-component-update --disable-sync \
    --disable-extensions --disable-default-apps --mute-audio \
    --user-data-dir="$prof" --window-size="$size" \
    --virtual-time-budget="$BUDGET_MS" --dump-dom "$1" > "$2" 2> "$T/chromium.log" ||
    fail "chromium did not render $1 within ${WALL_S}s (see $T/chromium.log)"
  [ -s "$2" ] || fail "chromium printed no DOM for $1"
}

note "API answers (the reference the page must show)"
api /api/summary > "$T/summary.json"
api "/api/totals?metric=registered&by=province" > "$T/by_province.json"
api /api/centres > "$T/centres.json"

urlq() { python3 -c 'import urllib.parse,sys; print(urllib.parse.quote(sys.argv[1]))' "$1"; }
# first_label FILE DIM: the label of the row with the highest count.
first_label() {
  python3 -c 'import json,sys
r = json.load(open(sys.argv[1]))["rows"]
print(max(r, key=lambda x: x["count"])[sys.argv[2]] if r else "")' "$1" "$2"
}

note "national view"
run_browser "$BASE/" "$T/national.html"
prov=$(first_label "$T/by_province.json" province)
[ -n "$prov" ] || fail "the API has no province rows: nothing to drill into"
api "/api/summary?province=$(urlq "$prov")" > "$T/summary_prov.json"
api "/api/totals?metric=registered&by=district&province=$(urlq "$prov")" > "$T/by_district.json"
dist=$(first_label "$T/by_district.json" district)
api "/api/summary?province=$(urlq "$prov")&district=$(urlq "$dist")" > "$T/summary_dist.json"
api "/api/totals?metric=registered&by=centre&province=$(urlq "$prov")&district=$(urlq "$dist")" \
  > "$T/by_centre.json"

note "drill-down views: $prov, then $prov › $dist"
run_browser "$BASE/#province=$(urlq "$prov")" "$T/province.html"
run_browser "$BASE/#province=$(urlq "$prov")&district=$(urlq "$dist")" "$T/district.html"

note "a filter (rural), the phone layout (400 px)"
api "/api/summary?area=rural" > "$T/summary_rural.json"
run_browser "$BASE/#area=rural" "$T/rural.html"
run_browser "$BASE/" "$T/phone.html" 400,900
fy=$(python3 -c 'import datetime; d = datetime.date.today(); y = d.year - (d.month < 7); print("FY%d-%02d" % (y, (y + 1) % 100))')
api "/api/summary?period=$fy" > "$T/summary_fy.json"
run_browser "$BASE/#period=$fy" "$T/fiscal.html"
echo "$fy" > "$T/fy.txt"
# Exact date ranges: the last 90 days (Pakistan time, as the page counts
# them) and a month before any record (all zeros, a custom range).
read -r from90 to90 < <(python3 -c 'import datetime as d; t = (d.datetime.now(d.timezone.utc) + d.timedelta(hours=5)).date(); print(t - d.timedelta(days=89), t)')
api "/api/summary?from=$from90&to=$to90" > "$T/summary_range.json"
run_browser "$BASE/#from=$from90&to=$to90" "$T/range.html"
api "/api/summary?from=2020-01-01&to=2020-01-31" > "$T/summary_old.json"
run_browser "$BASE/#from=2020-01-01&to=2020-01-31" "$T/range_old.html"
echo "$from90 $to90" > "$T/range.txt"

# screenshot URL FILE SIZE
screenshot() {
  timeout -k 5 "$WALL_S" "$CHROMIUM" --headless --no-sandbox --disable-gpu --disable-quic \
    --no-first-run --disable-background-networking --disable-component-update --disable-sync \
    --hide-scrollbars --user-data-dir="$(mktemp -d "$T/profile.XXXXXX")" --window-size="$3" \
    --virtual-time-budget="$BUDGET_MS" --screenshot="$2" "$1" 2>>"$T/chromium.log" ||
    fail "screenshot $2 failed"
  note "screenshot: $2"
}
if [ -n "${RZ_SCREENSHOT_DIR:-}" ]; then
  mkdir -p "$RZ_SCREENSHOT_DIR"
  screenshot "$BASE/" "$RZ_SCREENSHOT_DIR/dashboard-desktop.png" 1280,2000
  screenshot "$BASE/#from=$from90&to=$to90" "$RZ_SCREENSHOT_DIR/dashboard-range.png" 1280,1400
fi
# A true 400-px phone (DevTools device metrics; a headless window cannot be
# narrower than 500 px): the page is ready and nothing is wider than the screen.
phone() {  # phone URL [PNG]
  local out
  out=$(timeout -k 5 "$WALL_S" python3 "$HERE/phone.py" "$CHROMIUM" "$@") ||
    fail "phone layout at 400 px: $1: $out"
  note "400-px phone: $1: $out"
}
phone "$BASE/" ${RZ_SCREENSHOT_DIR:+"$RZ_SCREENSHOT_DIR/dashboard-phone.png"}
phone "$BASE/#province=Balochistan" ${RZ_SCREENSHOT_DIR:+"$RZ_SCREENSHOT_DIR/dashboard-phone-balochistan.png"}
phone "$BASE/#from=2020-01-01&to=2020-01-31" ${RZ_SCREENSHOT_DIR:+"$RZ_SCREENSHOT_DIR/dashboard-phone-range.png"}

python3 "$HERE/check_dom.py" "$T" "$prov" "$dist" || fail "rendered page does not match the API"

note "CSV download: the link the page offers"
csv_href=$(python3 - "$T/national.html" <<'PY'
import re, sys, html
m = re.search(r'<a id="csv"[^>]*href="([^"]+)"', open(sys.argv[1], encoding="utf-8").read())
print(html.unescape(m.group(1)) if m else "")
PY
)
[ -n "$csv_href" ] || fail "no CSV link on the page"
curl -fsS --max-time 20 "$BASE$csv_href" > "$T/download.csv" || fail "CSV link $csv_href does not download"
head -c 3 "$T/download.csv" | od -An -tx1 | tr -d ' \n' | grep -qx efbbbf || fail "CSV without UTF-8 BOM"
sed -n 1p "$T/download.csv" | grep -q "as of 20" || fail "CSV without an as-of line"
sed -n 2p "$T/download.csv" | tr -d '\r' | grep -qx "period,province,count" || fail "CSV header: $(sed -n 2p "$T/download.csv")"
curl -fsS --max-time 20 "$BASE/api/centres.csv" > "$T/centres.csv"
grep -q "ای روزگار کوئٹہ" "$T/centres.csv" || fail "Urdu centre name not in the centres CSV"
note "CSV download: BOM, as-of line, header, $(($(wc -l < "$T/download.csv") - 2)) rows"

if [ -z "${RZ_DASHBOARD_URL:-}" ]; then
  note "empty data: a server with no centre"
  "$SERVER" -d "$T/empty" init > /dev/null
  EPORT=$(free_port)
  "$SERVER" -d "$T/empty" run --bind "tcp://127.0.0.1:$(free_port)" --http "127.0.0.1:$EPORT" \
    >> "$T/empty.log" 2>&1 &
  EMPTY_PID=$!
  for _ in $(seq 1 100); do curl -fsS "http://127.0.0.1:$EPORT/api/summary" > /dev/null 2>&1 && break; sleep 0.1; done
  run_browser "http://127.0.0.1:$EPORT/" "$T/empty.html" 400,900
  phone "http://127.0.0.1:$EPORT/" ${RZ_SCREENSHOT_DIR:+"$RZ_SCREENSHOT_DIR/dashboard-phone-empty.png"}
  kill -TERM "$EMPTY_PID"; wait "$EMPTY_PID" 2>/dev/null || true
  python3 "$HERE/check_dom.py" --empty "$T/empty.html" || fail "the empty dashboard is wrong"
fi
if [ -z "${RZ_DASHBOARD_URL:-}" ]; then
  # The small network above: the page must show exactly what was recorded.
  python3 - "$T/summary.json" <<'PY' || fail "summary does not match the recorded network"
import json, sys
s = json.load(open(sys.argv[1]))
want = {"registered": 7, "trainees": 5, "attendances": 5, "events": 3}
got = {k: s[k] for k in want}
assert got == want, f"summary {got} != recorded {want}"
c = s["completeness"]
assert (c["centres"], c["centres_synced"]) == (4, 3), c
print("-- recorded network: 7 registered, 5 trained, 5 attendances, 3 events, 3 of 4 centres synced")
PY
fi
echo "PASS dashboard: figures, shares, target, banner, 6 charts, centres table, drill-down, rural filter, last 90 days and a custom date range, 400-px phone layout, CSV download, empty data rendered by chromium"
