#!/usr/bin/env bash
# The public catalogue against a differencing attack, on a real network.
#
# Builds six centres in four provinces with the real CLIs (persons
# imported with registration dates spread over two years, events with
# attendance; one centre never records anything, one province has a single
# district), syncs them, starts rozgar-server with --http on loopback and
# --public on another port, then:
#   - the public port serves only the catalogue (API, dashboard, metrics 404);
#   - the CSV export has the UTF-8 byte-order mark, an "as of" line, the
#     header, withheld cells marked "suppressed" with no value, never 0;
#   - tests/public/attack.py --expect-safe: the linear system the whole
#     catalogue publishes, solved over the rationals, determines no
#     suppressed cell;
#   - tests/public/attack.py --expect-leak: every published figure equals
#     the true one (private API), and the same attack on primary-only
#     suppression of the same data recovers withheld cells with their true
#     values (so the attack can fail).
# Bounded: ctest TIMEOUT 300; this script needs about 20 s.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../integration/lib.sh
source "$HERE/../integration/lib.sh"

note "six centres, four provinces"
server_init
node_new lhr "e-Rozgar Lahore" e-rozgar Punjab Lahore
node_new mul "Innovista Multan" innovista Punjab Multan
node_new psh "e-Rozgar Peshawar" e-rozgar "Khyber Pakhtunkhwa" Peshawar
node_new mrd "e-Rozgar Mardan" e-rozgar "Khyber Pakhtunkhwa" Mardan
node_new qta "e-Rozgar Quetta" e-rozgar Balochistan Quetta
node_new khi "e-Rozgar Karachi" e-rozgar Sindh "Karachi South"   # enrolled, records nothing

# import NODE DATE:COUNT...: that many persons registered on each date.
n_people=0
import() {
  local n=$1 f="$T/$1.csv" spec d c i; shift
  echo "name,gender,birth_year,reg_date" > "$f"
  for spec in "$@"; do
    d=${spec%%:*}; c=${spec##*:}
    for i in $(seq 1 "$c"); do
      n_people=$((n_people + 1))
      echo "Person $n $d $i,$([ $((i % 2)) -eq 0 ] && echo female || echo male),$((1990 + i)),$d" >> "$f"
    done
  done
  node "$n" import persons "$f" > "$T/$n.import" || fail "import $n: $(cat "$T/$n.import")"
}
import lhr 2025-02-10:12 2025-05-11:3 2025-08-12:7 2025-11-13:2 2026-02-14:9 2026-05-15:1
import mul 2025-02-10:2 2025-05-11:8 2025-08-12:1 2026-02-14:6 2026-08-16:4
import psh 2025-03-01:6 2025-09-02:3 2026-01-03:10
import mrd 2025-03-01:1 2025-09-02:6 2026-04-04:2
import qta 2025-06-05:3 2026-03-06:5

# event NODE DATE COUNT: an event on DATE attended by COUNT of NODE's persons.
event() {
  local n=$1 d=$2 c=$3 e p
  e=$(node "$n" event add --kind bootcamp --title "Bootcamp $d" --date "$d")
  for p in $(node "$n" list persons 2>/dev/null | awk '{print $1}' | grep -E '^[0-9a-f]{32}$' | head -n "$c"); do
    node "$n" attend "$e" "$p" > /dev/null
  done
}
event lhr 2025-05-20 6
event mul 2026-02-20 3
event psh 2025-09-21 2

HTTP_PORT=$(free_port)
PUB_PORT=$(free_port)
server_start --http "127.0.0.1:$HTTP_PORT" --public "127.0.0.1:$PUB_PORT"
for n in lhr mul psh mrd qta; do node "$n" sync > "$T/$n.sync" || fail "sync $n: $(cat "$T/$n.sync")"; done
expect_eq "$(total --metric registered)" "$n_people" "registered after sync"
[ "$(total --metric attendances)" -gt 0 ] || fail "no attendance counted (person list format?)"

PUB="http://127.0.0.1:$PUB_PORT"
PRIV="http://127.0.0.1:$HTTP_PORT"

note "the public port serves the catalogue and nothing else"
for path in / /api/totals /api/summary /api/centres /metrics /static/dashboard.js; do
  code=$(curl -s -o /dev/null -w '%{http_code}' "$PUB$path")
  expect_eq "$code" 404 "public $path"
done
code=$(curl -s -o /dev/null -w '%{http_code}' "$PUB/healthz")
expect_eq "$code" 200 "public /healthz"
code=$(curl -s -o /dev/null -w '%{http_code}' "$PUB/public/catalogue.json?metric=trainees")
expect_eq "$code" 400 "public catalogue with parameters"
code=$(curl -s -o /dev/null -w '%{http_code}' "$PRIV/public/catalogue.json")
expect_eq "$code" 404 "catalogue on the private port"

note "CSV export"
curl -fsS "$PUB/public/catalogue.csv" > "$T/cat.csv"
head -c 3 "$T/cat.csv" | od -An -tx1 | tr -d ' \n' | grep -qx efbbbf || fail "no UTF-8 BOM"
sed -n 1p "$T/cat.csv" | grep -q "as of 20" || fail "no as-of line: $(sed -n 1p "$T/cat.csv")"
sed -n 2p "$T/cat.csv" | tr -d '\r' | grep -qx "metric,level,province,district,period,value,flag" ||
  fail "CSV header: $(sed -n 2p "$T/cat.csv")"
nsup=$(grep -c ',,suppressed' "$T/cat.csv" || true)
[ "$nsup" -gt 0 ] || fail "no suppressed cell in the CSV"
if grep -q ',0,suppressed' "$T/cat.csv"; then fail "a suppressed cell shown as 0"; fi
if awk -F, 'NR>2 && $6 != "" && $6+0 > 0 && $6+0 < 5' "$T/cat.csv" | grep -q .; then
  fail "a count under 5 is published: $(awk -F, 'NR>2 && $6 != "" && $6+0 > 0 && $6+0 < 5' "$T/cat.csv" | head -3)"
fi
grep -q '^registered,district,Sindh,Karachi South,2025,0,' "$T/cat.csv" || fail "Karachi not listed as 0"
grep -q 'FY2025-26' "$T/cat.csv" || fail "no fiscal year"
ncells=$(($(wc -l < "$T/cat.csv") - 2))
note "catalogue: $ncells cells, $nsup suppressed"

note "attack on the published catalogue"
python3 "$HERE/attack.py" --public "$PUB" --expect-safe || fail "the attack determined suppressed cells"
note "attack on primary-only suppression of the same data"
python3 "$HERE/attack.py" --public "$PUB" --private "$PRIV" --expect-leak ||
  fail "primary-only suppression was not broken (or published figures are wrong)"
echo "public: PASS ($ncells cells, $nsup suppressed, attack found nothing; primary-only broken)"
