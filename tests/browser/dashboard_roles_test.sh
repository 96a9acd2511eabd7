#!/usr/bin/env bash
# The dashboard by role in a real browser (tests/browser/dashboard_roles.py):
# over HTTPS with sign-in, an analyst sees figures and no administration; an
# administrator sees accounts, tokens and the lawful register and looks a
# person up by CNIC.  Exit: 0 pass, 1 fail, 77 skipped (chromium or
# python3-websocket missing).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
PY=/usr/bin/python3   # Debian's python, which has python3-websocket
if ! command -v chromium >/dev/null; then echo "SKIP: chromium is not installed"; exit 77; fi
if ! "$PY" -c 'import websocket' 2>/dev/null; then echo "SKIP: python3-websocket is not installed"; exit 77; fi
command -v openssl > /dev/null || { echo "SKIP: openssl is not installed"; exit 77; }
: "${BIN:?set BIN to the build directory}"
BIN=$(cd "$BIN" && pwd)
export BIN
# shellcheck source=../integration/lib.sh
source "$HERE/../integration/lib.sh"

server_init
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
  -subj "/CN=127.0.0.1" -addext "subjectAltName=IP:127.0.0.1" \
  -keyout "$T/key.pem" -out "$T/cert.pem" 2> /dev/null
echo "Lahore-2026-hq" | "$SERVER" -d "$T/srv" account add ayesha --role admin > /dev/null
echo "Multan-2026-an" | "$SERVER" -d "$T/srv" account add bilal --role analyst > /dev/null
"$SERVER" -d "$T/srv" token add reporting-bot > /dev/null 2>&1
node_new lhr "e-Rozgar Lahore" e-rozgar Punjab Lahore
HTTP_PORT=$(free_port)
server_start --http "127.0.0.1:$HTTP_PORT" --tls-cert "$T/cert.pem" --tls-key "$T/key.pem"
PID=$(node lhr person add --name "Ayesha Khan" --gender female --birth-year 2001 \
  --date "$(date -u +%Y-%m-%d)" --cnic 35202-1234567-2)
node lhr sync > "$T/sync.out" || fail "sync: $(cat "$T/sync.out")"
# A second register version: the "Places as at" choice offers version 1.
"$SERVER" -d "$T/srv" centre move "e-Rozgar Lahore" --province Sindh --district Sukkur > /dev/null
"$SERVER" -d "$T/srv" totals --wait --timeout 120 > /dev/null || fail "totals --wait"
timeout -k 5 240 "$PY" "$HERE/dashboard_roles.py" "https://127.0.0.1:$HTTP_PORT" \
  bilal Multan-2026-an ayesha Lahore-2026-hq "$PID" || fail "the browser scenario failed"
grep -q "analyst bilal from 127.0.0.1 refused /api/admin/accounts" "$T/server.log" ||
  fail "the analyst's refused request is not in the log"
echo "PASS browser roles"
