#!/usr/bin/env bash
# The recovery of a replaced PC (PROTOCOL §12) by a second implementation
# written from the spec alone (pyrecover.py, Python): a C node records (a
# person erased at headquarters among them), syncs and dies; a Python node
# enrolled under the same centre is refused without a grant, then fetches the
# old log under one, checks chain, signatures and values itself, confirms,
# and finds the used grant serving no more.  Skipped (77) without python3's
# zmq, nacl and msgpack outside CI, like pynode_e2e.
source "$(dirname "$0")/../integration/lib.sh"
HERE=$(cd "$(dirname "$0")" && pwd)
SPEC="$HERE/../../proto/PROTOCOL.md"

need_python_peer "pyrecover"

server_init
server_start
node_new a "e-Rozgar Lahore" e-rozgar Punjab Lahore
A=$(awk '/^node-id:/ {print $2}' "$T/a.init")
python3 - "$T/p.csv" <<'PY'
import sys
with open(sys.argv[1], "w") as f:
    f.write("Full Name,CNIC No,Mobile,Year of Birth,M/F\n")
    for i in range(600):  # more than one CHUNK
        f.write("Person %03d,35202%07d2,0300-%07d,2000,F\n" % (i, 1000000 + i, 1000000 + i))
PY
node a import people "$T/p.csv" > /dev/null 2>&1
P=$(node a person add --name "To Erase" --gender male --birth-year 1999 --cnic 35202-7654321-4 2>/dev/null)
E=$(node a event add --kind workshop --title "Taxes" --date 2026-01-20 2>/dev/null)
node a attend "$E" "$P" > /dev/null
node a sync > /dev/null
"$SERVER" -d "$T/srv" erase "$P" --reason test > /dev/null
rm -rf "$T/a"

TOKEN=$(timeout 60 "$PY" "$HERE/pynode.py" keygen "$T/py" | awk '/^enroll-token:/ {print $2}')
"$SERVER" -d "$T/srv" enroll --token "$TOKEN" --centre "e-Rozgar Lahore" --programme e-rozgar \
  --province Punjab --district Lahore > /dev/null
PYID=${TOKEN:4:16}
run() { timeout 120 "$PY" "$HERE/pyrecover.py" fetch "$T/py" --endpoint "$ENDPOINT" \
  --server-key "$SERVER_KEY" --spec "$SPEC" --old "$A" "$@"; }
run --refused > "$T/refused.out" 2>&1 || { cat "$T/refused.out"; fail "pyrecover without a grant"; }
"$SERVER" -d "$T/srv" recover-grant "$PYID" --from "$A" > /dev/null
run > "$T/py.out" 2>&1 || { cat "$T/py.out"; fail "pyrecover"; }
grep -E '^FAIL' "$T/py.out" && fail "pyrecover reported failures"
grep -q '(2 erased)' "$T/py.out" || fail "the erased values: $(tail -1 "$T/py.out")"
grep -q ' in 2 chunks' "$T/py.out" || fail "chunks: $(tail -1 "$T/py.out")"
"$SERVER" -d "$T/srv" recover-grant --list | grep -q "$PYID  $A .*used" || fail "grant not used"
echo "PASS pyrecover: $(grep '^pyrecover:' "$T/py.out")"
