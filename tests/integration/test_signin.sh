#!/usr/bin/env bash
# Sign-in for the headquarters view: HTTPS with a configured certificate,
# accounts (admin, analyst), sessions, rate-limited attempts, API tokens,
# and the refusal to serve beyond loopback in clear text.
#
#   - `run --http 0.0.0.0:P` without a certificate refuses to start (and
#     never binds that address);
#   - with --tls-cert/--tls-key: plain HTTP gets no answer; every API route
#     is 401 without credentials, "/" redirects to /login; /healthz and the
#     sign-in page are open;
#   - a wrong password is 403, a sign-in from another site is refused, the
#     right one gives a cookie (HttpOnly, Secure, SameSite=Strict) that
#     reads the API; sign-out ends it;
#   - six wrong passwords lock the account (429) even for the right one;
#   - an API token reads /metrics and the API; a revoked or forged one is 401;
#   - roles: every /api/admin/ route (CNIC lookup, accounts, tokens, the
#     lawful register) answers an administrator and refuses an analyst's
#     session and an API token (403), and the open loopback view (403);
#     analysts and tokens read every figure and export;
#   - passwords never appear in the log.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
command -v openssl > /dev/null || fail "openssl missing"
pass=0
ok() { pass=$((pass + 1)); }

server_init
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
  -subj "/CN=127.0.0.1" -addext "subjectAltName=IP:127.0.0.1" \
  -keyout "$T/key.pem" -out "$T/cert.pem" 2> /dev/null
chmod 600 "$T/key.pem"
echo "Lahore-2026-hq" | "$SERVER" -d "$T/srv" account add ayesha --role admin > /dev/null
echo "Multan-2026-an" | "$SERVER" -d "$T/srv" account add bilal --role analyst > /dev/null
TOKEN=$("$SERVER" -d "$T/srv" token add reporting-bot 2> /dev/null)
[ ${#TOKEN} -eq 68 ] || fail "token add printed '$TOKEN'"
if "$SERVER" -d "$T/srv" token add reporting-bot > /dev/null 2>&1; then fail "a second token of the same name"; fi

note "beyond loopback without a certificate: refused"
WPORT=$(free_port)
if "$SERVER" -d "$T/srv" run --bind "tcp://127.0.0.1:$(free_port)" --http "0.0.0.0:$WPORT" \
  > "$T/refused.out" 2>&1; then
  fail "served 0.0.0.0 without TLS"
fi
grep -q "HTTPS only" "$T/refused.out" || fail "refusal does not say why: $(cat "$T/refused.out")"
ok

HTTP_PORT=$(free_port)
server_start --http "127.0.0.1:$HTTP_PORT" --tls-cert "$T/cert.pem" --tls-key "$T/key.pem"
B="https://127.0.0.1:$HTTP_PORT"
C=(curl -s --cacert "$T/cert.pem" --max-time 20)
code() { "${C[@]}" -o /dev/null -w '%{http_code}' "$@"; }

note "HTTPS only; nothing without credentials"
if curl -s --max-time 5 -o /dev/null "http://127.0.0.1:$HTTP_PORT/api/summary"; then
  fail "plain HTTP answered"
fi
ok
for path in /api/summary /api/totals /api/totals.csv /api/centres /api/centres.csv /metrics /static/dashboard.js; do
  expect_eq "$(code "$B$path")" 401 "$path without sign-in"; ok
done
expect_eq "$(code "$B/")" 303 "/ without sign-in redirects"
"${C[@]}" -D - -o /dev/null "$B/" | tr -d '\r' | grep -qi '^location: /login$' || fail "/ does not go to /login"
expect_eq "$(code "$B/healthz")" 200 "healthz open"
expect_eq "$(code "$B/login")" 200 "sign-in page open"
expect_eq "$(code "$B/static/style.css")" 200 "style open"
ok

note "sign-in"
login() {  # login USER PASS [ORIGIN] -> status; cookie jar in $T/jar
  "${C[@]}" -o "$T/login.html" -w '%{http_code}' -c "$T/jar" -D "$T/login.hdr" \
    -H "Origin: ${3:-$B}" --data-urlencode "user=$1" --data-urlencode "password=$2" "$B/login"
}
expect_eq "$(login ayesha wrong-password)" 403 "wrong password"
grep -q "signin-error" "$T/login.html" || fail "wrong password page has no message"
expect_eq "$(login ayesha Lahore-2026-hq https://evil.example)" 403 "cross-site sign-in"
expect_eq "$(login ayesha Lahore-2026-hq)" 303 "right password"
tr -d '\r' < "$T/login.hdr" | grep -i '^set-cookie: rz_session=' | grep -qi 'httponly' ||
  fail "session cookie not HttpOnly: $(grep -i set-cookie "$T/login.hdr")"
grep -i '^set-cookie:' "$T/login.hdr" | grep -qi 'secure' || fail "session cookie not Secure"
grep -i '^set-cookie:' "$T/login.hdr" | grep -qi 'samesite=strict' || fail "cookie not SameSite=Strict"
expect_eq "$(code -b "$T/jar" "$B/api/summary")" 200 "API with the session"
expect_eq "$(code -b "$T/jar" "$B/")" 200 "dashboard with the session"
"${C[@]}" -b "$T/jar" "$B/api/summary" | grep -q '"as_of"' || fail "summary body"
expect_eq "$("${C[@]}" -b "$T/jar" "$B/api/whoami")" '{"signin":true,"user":"ayesha","role":"admin","token":false,"admin":true}' "whoami"
ok
expect_eq "$(login bilal Multan-2026-an)" 303 "analyst signs in"
expect_eq "$(code -b "$T/jar" "$B/api/centres")" 200 "analyst reads centres"
expect_eq "$("${C[@]}" -b "$T/jar" "$B/api/whoami")" '{"signin":true,"user":"bilal","role":"analyst","token":false,"admin":false}' "whoami of an analyst"
expect_eq "$("${C[@]}" -o /dev/null -w '%{http_code}' -b "$T/jar" -H "Origin: $B" -X POST "$B/logout")" 303 "sign-out"
expect_eq "$(code -b "$T/jar" "$B/api/summary")" 401 "session ended by sign-out"
ok

note "CNIC lookup for a lawful request: admins only, registered"
node_new lhr "e-Rozgar Lahore" e-rozgar Punjab Lahore
PID=$(node lhr person add --name "Ayesha Khan" --gender female --birth-year 2001 --cnic 35202-1234567-2)
node lhr sync > "$T/sync.out" || fail "sync: $(cat "$T/sync.out")"
LOOK="$B/api/admin/person?cnic=35202-1234567-2"
expect_eq "$(code -b "$T/jar" "$LOOK")" 401 "lookup after sign-out"
expect_eq "$(login bilal Multan-2026-an)" 303 "analyst signs in again"
expect_eq "$(code -b "$T/jar" "$LOOK")" 403 "analyst lookup"
expect_eq "$(code -H "Authorization: Bearer $TOKEN" "$LOOK")" 403 "token lookup"
expect_eq "$(login ayesha Lahore-2026-hq)" 303 "admin signs in again"
expect_eq "$(code -b "$T/jar" "$B/api/admin/person?cnic=123")" 400 "malformed CNIC"
"${C[@]}" -b "$T/jar" "$LOOK" > "$T/lookup.json"
python3 - "$T/lookup.json" "$PID" <<'PY' || fail "lookup answer: $(cat "$T/lookup.json")"
import json, sys
a = json.load(open(sys.argv[1]))
assert a["cnic"] == "35202-*******-2", a
assert [p["person_id"] for p in a["persons"]] == [sys.argv[2]], a
assert a["persons"][0]["centre"] == "e-Rozgar Lahore" and "name" not in a["persons"][0], a
PY
"$SERVER" -d "$T/srv" erase "$PID" --reason "request 2026/17 by the person" > "$T/erase.out" ||
  fail "erase: $(cat "$T/erase.out")"
grep -q "^erased [1-9]" "$T/erase.out" || fail "nothing erased: $(cat "$T/erase.out")"
# The link token stays (totals do not change), so the record is still found.
"${C[@]}" -b "$T/jar" "$LOOK" | grep -q "\"$PID\"" || fail "record not found after erasure"
"$SERVER" -d "$T/srv" lawful list > "$T/lawful.txt"
expect_eq "$(grep -c ' lookup ' "$T/lawful.txt")" 2 "lookups registered (refused and malformed ones are not lookups)"
grep -q "lookup  ayesha .*35202-\*\*\*\*\*\*\*-2 .*1 record" "$T/lawful.txt" || fail "lookup line: $(cat "$T/lawful.txt")"
grep -q "erase .*$PID .*reason: request 2026/17" "$T/lawful.txt" || fail "erasure not registered: $(cat "$T/lawful.txt")"
if grep -q "1234567" "$T/lawful.txt" "$T/server.log" "$T/srv/journal"; then
  fail "a full CNIC was kept in the register, the log or the journal"
fi
expect_eq "$(grep -c "	lawful	" "$T/srv/journal")" 3 "register entries journaled (2 lookups, 1 erasure)"
ok

note "roles: administration is for administrators; figures for everyone signed in"
ADMIN_ROUTES="/api/admin/person?cnic=35202-1234567-2 /api/admin/accounts /api/admin/tokens /api/admin/lawful /api/admin/nothing"
cp "$T/jar" "$T/admin.jar"
expect_eq "$(login bilal Multan-2026-an)" 303 "analyst signs in for the role checks"
cp "$T/jar" "$T/analyst.jar"
lookups_before=$("$SERVER" -d "$T/srv" lawful list | grep -c ' lookup ')
for r in $ADMIN_ROUTES; do
  expect_eq "$(code -b "$T/analyst.jar" "$B$r")" 403 "analyst on $r"
  expect_eq "$(code -H "Authorization: Bearer $TOKEN" "$B$r")" 403 "token on $r"
  expect_eq "$(code "$B$r")" 401 "no sign-in on $r"
  ok
done
"${C[@]}" -H "Authorization: Bearer $TOKEN" "$B/api/whoami" | grep -q '"role":"token","token":true,"admin":false}' ||
  fail "whoami of a token: $("${C[@]}" -H "Authorization: Bearer $TOKEN" "$B/api/whoami")"
"${C[@]}" -b "$T/analyst.jar" "$B/api/admin/accounts" | grep -q '"administrators only"' ||
  fail "the analyst's refusal does not say why"
expect_eq "$("$SERVER" -d "$T/srv" lawful list | grep -c ' lookup ')" "$lookups_before" \
  "refused lookups are not lookups"
grep -q "analyst bilal from 127.0.0.1 refused /api/admin/accounts" "$T/server.log" ||
  fail "a refused administration request is not logged"
for r in "/api/summary" "/api/totals?metric=registered&by=province" "/api/totals.csv?by=province" \
         "/api/centres" "/api/centres.csv" "/metrics" "/" "/static/dashboard.js"; do
  expect_eq "$(code -b "$T/analyst.jar" "$B$r")" 200 "analyst reads $r"
  expect_eq "$(code -H "Authorization: Bearer $TOKEN" "$B$r")" 200 "token reads $r"
done
ok
expect_eq "$(code -b "$T/admin.jar" "$B/api/admin/accounts")" 200 "admin lists accounts"
"${C[@]}" -b "$T/admin.jar" "$B/api/admin/accounts" > "$T/accounts.json"
"${C[@]}" -b "$T/admin.jar" "$B/api/admin/tokens" > "$T/tokens.json"
"${C[@]}" -b "$T/admin.jar" "$B/api/admin/lawful" > "$T/lawful.json"
python3 - "$T/accounts.json" "$T/tokens.json" "$T/lawful.json" <<'PY' || fail "admin lists: $(cat "$T/accounts.json" "$T/tokens.json" "$T/lawful.json")"
import json, sys
acc = json.load(open(sys.argv[1]))["accounts"]
assert [(a["name"], a["role"], a["disabled"]) for a in acc] == [("ayesha", "admin", False), ("bilal", "analyst", False)], acc
tok = json.load(open(sys.argv[2]))["tokens"]
assert [(t["name"], t["revoked"]) for t in tok] == [("reporting-bot", None)], tok
law = json.load(open(sys.argv[3]))["lawful"]
assert [l["kind"] for l in law] == ["lookup", "erase", "lookup"], law
assert all("1234567" not in json.dumps(l) for l in law), law
PY
if grep -q -e 'argon2' -e 'pwhash' -e "$TOKEN" "$T/accounts.json" "$T/tokens.json"; then
  fail "a hash or a token in an administration list"
fi
expect_eq "$(code -b "$T/admin.jar" "$B/api/admin/nothing")" 404 "admin on an unknown admin route"
expect_eq "$(code -b "$T/admin.jar" "$B/api/admin/tokens?x=1")" 400 "admin list with a parameter"
ok

note "rate limit"
for i in 1 2 3 4 5; do login bilal "bad-guess-$i" > /dev/null; done
expect_eq "$(login bilal bad-guess-6)" 429 "sixth failure"
expect_eq "$(login bilal Multan-2026-an)" 429 "locked even with the right password"
ok

note "API tokens"
expect_eq "$(code -H "Authorization: Bearer $TOKEN" "$B/metrics")" 200 "token reads metrics"
expect_eq "$(code -H "Authorization: Bearer $TOKEN" "$B/api/totals?metric=registered")" 200 "token reads totals"
expect_eq "$(code -H "Authorization: Bearer rzt_$(printf '0%.0s' $(seq 1 64))" "$B/metrics")" 401 "forged token"
"$SERVER" -d "$T/srv" token revoke reporting-bot > /dev/null
expect_eq "$(code -H "Authorization: Bearer $TOKEN" "$B/metrics")" 401 "revoked token"
ok

if grep -q -e "Lahore-2026-hq" -e "Multan-2026-an" -e "$TOKEN" "$T/server.log"; then
  fail "a password or token reached the log"
fi
grep -q "ayesha (admin) signed in" "$T/server.log" || fail "sign-in not logged"
ok

note "the open loopback view (no certificate) serves no administration"
server_stop
LPORT=$(free_port)
server_start --http "127.0.0.1:$LPORT"
for r in $ADMIN_ROUTES; do
  expect_eq "$(curl -s --max-time 20 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$LPORT$r")" 403 "open view: $r"
done
expect_eq "$(curl -s --max-time 20 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$LPORT/api/summary")" 200 "open view: figures"
ok
echo "PASS signin: $pass groups of checks (HTTPS only, 401 without credentials, sessions, lock-out, tokens, no secrets in the log)"
