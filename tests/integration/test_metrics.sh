#!/usr/bin/env bash
# /metrics is valid Prometheus text (promtool check metrics, Debian package
# prometheus) and /healthz answers, on a server with synced data (two
# centres, one never synced, Urdu and quoted names in labels); a centre's
# state is "counting" while what it sent waits to be counted, then "ok".
set -euo pipefail
source "$(dirname "$0")/lib.sh"
PROMTOOL=$(command -v promtool || true)
[ -n "$PROMTOOL" ] || fail "promtool missing (Debian package prometheus: bash scripts/deps.sh --test)"

server_init
node_new lhr 'e-Rozgar "Lahore" \ main' e-rozgar Punjab Lahore
node_new qta "ای روزگار کوئٹہ" e-rozgar Balochistan Quetta     # never syncs: lag absent, timestamp 0
HTTP_PORT=$(free_port)
server_start --http "127.0.0.1:$HTTP_PORT"
node lhr person add --name "Ayesha Khan" --gender female --birth-year 2001 > /dev/null
BASE="http://127.0.0.1:$HTTP_PORT"
# Received but not yet counted: the centre's state says so while merging is paused.
"$SERVER" -d "$T/srv" merge pause > /dev/null
node lhr sync > "$T/sync.out" || fail "sync: $(cat "$T/sync.out")"
curl -fsS "$BASE/api/centres" > "$T/centres.json"
python3 - "$T/centres.json" <<'PY' || fail "centre states while paused: $(cat "$T/centres.json")"
import json, sys
c = {x["centre"]: x for x in json.load(open(sys.argv[1]))["centres"]}
assert c['e-Rozgar "Lahore" \\ main']["state"] == "counting", c
assert c["ای روزگار کوئٹہ"]["state"] == "never", c
PY
"$SERVER" -d "$T/srv" merge resume > /dev/null
for _ in $(seq 1 100); do
  curl -fsS "$BASE/api/centres" | grep -q '"state":"ok"' && break
  sleep 0.1
done
curl -fsS "$BASE/api/centres" | grep -q '"state":"ok"' || fail "centre not ok once counted"
curl -fsS "$BASE/api/summary" > /dev/null     # some HTTP counts to export

curl -fsS "$BASE/metrics" > "$T/metrics.txt"
"$PROMTOOL" check metrics < "$T/metrics.txt" > "$T/promtool.out" 2>&1 ||
  fail "promtool check metrics: $(cat "$T/promtool.out")"
n=$(grep -c '^rozgar_' "$T/metrics.txt")
grep -q 'ای روزگار کوئٹہ' "$T/metrics.txt" || fail "Urdu centre name missing from labels"
expect_eq "$(curl -fsS "$BASE/healthz")" '{"status":"ok"}' "healthz"
echo "PASS metrics: $n samples pass promtool check metrics; /healthz ok"
