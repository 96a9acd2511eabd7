#!/usr/bin/env bash
# /metrics is valid Prometheus text (promtool check metrics, Debian package
# prometheus) and /healthz answers, on a server with synced data (two
# centres, one never synced, Urdu and quoted names in labels).
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
node lhr sync > "$T/sync.out" || fail "sync: $(cat "$T/sync.out")"
BASE="http://127.0.0.1:$HTTP_PORT"
curl -fsS "$BASE/api/summary" > /dev/null     # some HTTP counts to export

curl -fsS "$BASE/metrics" > "$T/metrics.txt"
"$PROMTOOL" check metrics < "$T/metrics.txt" > "$T/promtool.out" 2>&1 ||
  fail "promtool check metrics: $(cat "$T/promtool.out")"
n=$(grep -c '^rozgar_' "$T/metrics.txt")
grep -q 'ای روزگار کوئٹہ' "$T/metrics.txt" || fail "Urdu centre name missing from labels"
expect_eq "$(curl -fsS "$BASE/healthz")" '{"status":"ok"}' "healthz"
echo "PASS metrics: $n samples pass promtool check metrics; /healthz ok"
