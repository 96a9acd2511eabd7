#!/usr/bin/env bash
# The centre app's sign-in and gate over real HTTP and HTTPS (issue 9), with
# curl against real `rozgar-node serve` processes:
#  - no session: / redirects to /login, the API answers 401;
#  - sign-in: a wrong password is refused, the right one sets an HttpOnly,
#    SameSite=Strict cookie; a staff account cannot export (admins only);
#  - rate limit: after 5 wrong passwords even the right one waits;
#  - expiry: the same cookie is refused by a server whose clock is an hour on;
#  - forged posts: another site's Origin, a missing CSRF token, a wrong Host,
#    an oversized form, a NUL byte, bad UTF-8: each gets a clear error page
#    and nothing changes (the person count is compared);
#  - a session cookie from another node is refused by name;
#  - beyond 127.0.0.1 (127.0.0.2 here) the app serves HTTPS only: a plain
#    HTTP request gets a plain answer saying to use https:// with the
#    certificate's fingerprint, which equals the certificate served; the key
#    file is 0600; the cookie is Secure;
#  - plain HTTP beyond 127.0.0.1 with a made certificate, and signing in there.
# Bounded: every curl has a time limit; the suite is capped by ctest.
source "$(dirname "$0")/lib.sh"

checks=0
ok() { checks=$((checks + 1)); echo "   ok  $*"; }
SERVE_PIDS=()
# Stops every app started; each must exit 0 on SIGTERM (no sanitizer report).
stop_serves() {
  local p rc=0
  for p in "${SERVE_PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${SERVE_PIDS[@]}"; do wait "$p" 2>/dev/null || rc=$?; done
  SERVE_PIDS=()
  if [ $rc -ne 0 ] || grep -l "Sanitizer" "$T"/*.serve.log 2>/dev/null; then
    fail "a serve process exited with $rc: $(grep -h -A5 Sanitizer "$T"/*.serve.log | head -20)"
  fi
}
trap 'rc=$?; stop_serves || true; (exit $rc); cleanup' EXIT

CURL=(curl -sS --max-time 20)

# serve NAME ADDR [env...]: starts the app of node NAME on ADDR; sets URL.
serve() {
  local name=$1 addr=$2; shift 2
  rm -f "$T/$name.ready"
  env "$@" "$NODE" -d "$T/$name" serve --listen "$addr" --ready-file "$T/$name.ready" \
    > "$T/$name.serve.log" 2>&1 &
  SERVE_PIDS+=($!)
  local i
  for i in $(seq 1 100); do
    [ -s "$T/$name.ready" ] && break
    kill -0 "${SERVE_PIDS[-1]}" 2>/dev/null || fail "serve $name exited: $(tail -n 5 "$T/$name.serve.log")"
    sleep 0.1
  done
  [ -s "$T/$name.ready" ] || fail "serve $name did not start"
  URL=$(cat "$T/$name.ready")
  URL=${URL%/}
}

# login URL USER PASS JAR [curl args...] -> prints HTTP status
login() {
  local url=$1 user=$2 pass=$3 jar=$4; shift 4
  "${CURL[@]}" "$@" -o "$T/login.out" -w '%{http_code}' -c "$jar" -H "Origin: $url" \
    --data-urlencode "user=$user" --data-urlencode "password=$pass" "$url/login"
}
csrf_of() { "${CURL[@]}" "${@:3}" -b "$2" "$1/api/me" | python3 -c 'import json,sys; print(json.load(sys.stdin)["csrf"])'; }
persons() { "${CURL[@]}" "${@:3}" -b "$2" "$1/api/persons?deleted=1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["total"])'; }
msg_of() { python3 -c 'import re,sys,html; m=re.search(r"<p id=\"msg\">(.*?)</p>", open(sys.argv[1]).read(), re.S); print(html.unescape(m.group(1)) if m else "")' "$1"; }

note "a node with an administrator and a staff account"
"$NODE" -d "$T/a" init > /dev/null
echo "admin pass 1" | "$NODE" -d "$T/a" staff add Admin --role admin > /dev/null
echo "staff pass 1" | "$NODE" -d "$T/a" staff add sana > /dev/null
# A server that is never started: the app's sync must say it is unreachable.
server_init
"$NODE" -d "$T/a" config "server=$ENDPOINT" "server-key=$SERVER_KEY" sync-timeout=1 > /dev/null
echo "x" | "$NODE" -d "$T/a" staff add bob 2> "$T/short.err" && fail "a 1-character password was accepted"
grep -q "at least 8" "$T/short.err" && ok "a short password is refused at the command line" || fail "not: a short password is refused at the command line"
"$NODE" -d "$T/a" staff list > "$T/staff.list"
[ "$(cut -f1,2 "$T/staff.list" | tr '\n' ' ')" = "admin	admin sana	staff " ] && ok "staff list: admin (admin), sana (staff)" || fail "not: staff list: admin (admin), sana (staff)"
P=$(free_port)
serve a "127.0.0.1:$P"
A=$URL
[ "$A" = "http://127.0.0.1:$P" ] || fail "ready URL $A"

note "no session"
code=$("${CURL[@]}" -o /dev/null -w '%{http_code} %{redirect_url}' "$A/")
[ "$code" = "303 $A/login" ] && ok "/ without a session redirects to /login" || fail "not: / without a session redirects to /login"
code=$("${CURL[@]}" -o "$T/out" -w '%{http_code}' "$A/api/persons")
[ "$code" = 401 ] && grep -q '"signin":true' "$T/out" && ok "the API without a session answers 401" || fail "not: the API without a session answers 401"
"${CURL[@]}" "$A/login" | grep -q 'id="login-form"' && ok "/login serves the sign-in page" || fail "not: /login serves the sign-in page"

note "sign-in"
[ "$(login "$A" admin "wrong password" "$T/jar0")" = 403 ] && grep -q "wrong username or password" "$T/login.out" &&
  ok "a wrong password is refused" || fail "not: a wrong password is refused"
[ "$(login "$A" nobody "admin pass 1" "$T/jar0")" = 403 ] && grep -q "wrong username or password" "$T/login.out" &&
  ok "an unknown name gets the same answer" || fail "not: an unknown name gets the same answer"
"${CURL[@]}" -D "$T/hdr" -o /dev/null -c "$T/jar" -H "Origin: $A" \
  --data-urlencode "user=ADMIN" --data-urlencode "password=admin pass 1" "$A/login"
grep -i '^set-cookie: rz_session=' "$T/hdr" | grep -q 'HttpOnly; SameSite=Strict' &&
  ! grep -i '^set-cookie:' "$T/hdr" | grep -q Secure && ok "sign-in sets an HttpOnly, SameSite=Strict cookie (not Secure over plain HTTP)" || fail "not: sign-in sets an HttpOnly, SameSite=Strict cookie (not Secure over plain HTTP)"
CS=$(csrf_of "$A" "$T/jar")
[ ${#CS} -eq 32 ] && ok "the session has a CSRF token" || fail "not: the session has a CSRF token"
[ "$("${CURL[@]}" -b "$T/jar" -o /dev/null -w '%{http_code}' "$A/")" = 200 ] && ok "/ with the session serves the app" || fail "not: / with the session serves the app"

# A person through the app, so there is something to protect.
r=$("${CURL[@]}" -b "$T/jar" -H "Origin: $A" --data-urlencode "name=عائشہ بی بی" \
      -d "gender=female&birth_year=1999&cnic=35202-1234567-3&csrf=$CS" "$A/api/person/save")
echo "$r" | grep -q '"saved":true' && ok "a person with an Urdu name is saved" || fail "not: a person with an Urdu name is saved"
N0=$(persons "$A" "$T/jar")
[ "$N0" = 1 ] || fail "persons: $N0"
[ "$("$NODE" -d "$T/a" audit --limit 1 | cut -f3,4)" = "admin	person" ] && ok "the audit trail notes the signed-in account (admin) as the actor"

note "forged and malformed requests change nothing"
code=$("${CURL[@]}" -b "$T/jar" -o "$T/out" -w '%{http_code}' -H "Origin: http://evil.example" \
         -d "name=Forged&gender=male&csrf=$CS" "$A/api/person/save")
[ "$code" = 403 ] && msg_of "$T/out" | grep -q "not sent from the centre app" && ok "a cross-site post (foreign Origin) is refused with a page saying so" || fail "not: a cross-site post (foreign Origin) is refused with a page saying so"
code=$("${CURL[@]}" -b "$T/jar" -o "$T/out" -w '%{http_code}' -H "Referer: http://evil.example/x" \
         -d "name=Forged&gender=male&csrf=$CS" "$A/api/person/save")
[ "$code" = 403 ] && ok "a cross-site post (foreign Referer, no Origin) is refused" || fail "not: a cross-site post (foreign Referer, no Origin) is refused"
code=$("${CURL[@]}" -b "$T/jar" -o "$T/out" -w '%{http_code}' -d "name=Forged&gender=male&csrf=$CS" "$A/api/person/save")
[ "$code" = 403 ] && ok "a post with neither Origin nor Referer is refused" || fail "not: a post with neither Origin nor Referer is refused"
code=$("${CURL[@]}" -b "$T/jar" -o "$T/out" -w '%{http_code}' -H "Origin: $A" -d "name=Forged&gender=male" "$A/api/person/save")
[ "$code" = 403 ] && msg_of "$T/out" | grep -q "security token" && ok "a same-origin post without the CSRF token is refused" || fail "not: a same-origin post without the CSRF token is refused"
code=$("${CURL[@]}" -b "$T/jar" -o "$T/out" -w '%{http_code}' -H "Origin: $A" -d "name=Forged&gender=male&csrf=00000000000000000000000000000000" "$A/api/person/save")
[ "$code" = 403 ] && ok "a wrong CSRF token is refused" || fail "not: a wrong CSRF token is refused"
code=$("${CURL[@]}" -b "$T/jar" -o "$T/out" -w '%{http_code}' -H "Host: evil.example:$P" "$A/api/persons")
[ "$code" = 421 ] && msg_of "$T/out" | grep -q "not one of its names" && ok "a foreign Host header (DNS rebinding) is refused" || fail "not: a foreign Host header (DNS rebinding) is refused"
head -c 70000 /dev/zero | tr '\0' 'a' > "$T/big"
code=$("${CURL[@]}" -b "$T/jar" -o "$T/out" -w '%{http_code}' -H "Origin: $A" --data-binary "name=@$T/big" \
         -H "Content-Type: application/x-www-form-urlencoded" --data-binary "@$T/big" "$A/api/person/save")
[ "$code" = 413 ] && ok "an oversized form (70 kB) is refused" || fail "not: an oversized form (70 kB) is refused"
code=$("${CURL[@]}" -b "$T/jar" -o "$T/out" -w '%{http_code}' -H "Origin: $A" --data-binary "name=A%00B&gender=male&csrf=$CS" "$A/api/person/save")
[ "$code" = 400 ] && msg_of "$T/out" | grep -q "NUL" && ok "a NUL byte in a form is refused" || fail "not: a NUL byte in a form is refused"
code=$("${CURL[@]}" -b "$T/jar" -o "$T/out" -w '%{http_code}' -H "Origin: $A" --data-binary "name=A%C3%28B&gender=male&csrf=$CS" "$A/api/person/save")
[ "$code" = 400 ] && msg_of "$T/out" | grep -q "UTF-8" && ok "bad UTF-8 in a form is refused" || fail "not: bad UTF-8 in a form is refused"
code=$("${CURL[@]}" -b "$T/jar" -o "$T/out" -w '%{http_code}' -H "Origin: $A" --data-binary "name=A%ZZB&gender=male&csrf=$CS" "$A/api/person/save")
[ "$code" = 400 ] && ok "a malformed percent-encoding is refused" || fail "not: a malformed percent-encoding is refused"
for body in "a" "a&b" "=" "&&" "%" "x=%4" "=v" "a=1&a" "$(printf 'k%d=v&' $(seq 1 50))"; do
  code=$("${CURL[@]}" -b "$T/jar" -o /dev/null -w '%{http_code}' -H "Origin: $A" -H "X-CSRF-Token: $CS" \
           --data-binary "$body" "$A/api/person/save")
  case $code in 400|403|422) ;; *) fail "odd form '$body' got $code";; esac
done
ok "odd forms (no '=', empty names, cut escapes, 50 fields) get 400/403/422"
[ "$(persons "$A" "$T/jar")" = "$N0" ] && ok "after all of these the node still holds $N0 person" || fail "not: after all of these the node still holds \$N0 person"

note "roles"
[ "$(login "$A" sana "staff pass 1" "$T/jar_s")" = 200 ] || fail "staff sign-in"
code=$("${CURL[@]}" -b "$T/jar_s" -o "$T/out" -w '%{http_code}' "$A/api/staff")
[ "$code" = 403 ] && grep -q "administrator" "$T/out" && ok "staff may not manage accounts (admins only)" || fail "not: staff may not manage accounts (admins only)"
code=$("${CURL[@]}" -b "$T/jar_s" -o /dev/null -w '%{http_code}' "$A/api/export?kind=people")
[ "$code" = 403 ] && ok "staff may not export personal values (admins only)" || fail "not: staff may not export personal values (admins only)"
code=$("${CURL[@]}" -b "$T/jar" -o "$T/exp.csv" -w '%{http_code}' "$A/api/export?kind=people")
[ "$code" = 200 ] && head -c 3 "$T/exp.csv" | od -An -tx1 | grep -q "ef bb bf" &&
  ok "an administrator's export is CSV with a byte-order mark" || fail "not: the export is CSV with a BOM"
SC=$(csrf_of "$A" "$T/jar")
r=$("${CURL[@]}" -b "$T/jar" -H "Origin: $A" -d "user=sana&password=new staff pass&csrf=$SC" "$A/api/staff/passwd")
echo "$r" | grep -q '"ok":true' && ok "an administrator resets a password in the app" || fail "not: an administrator resets a password in the app"
code=$("${CURL[@]}" -b "$T/jar_s" -o /dev/null -w '%{http_code}' "$A/api/me")
[ "$code" = 401 ] && ok "the reset ended that account's session" || fail "not: the reset ended that account's session"

r=$("${CURL[@]}" -b "$T/jar" -H "Origin: $A" -d "user=ravi&role=staff&password=ravi pass 1&csrf=$SC" "$A/api/staff/add")
echo "$r" | grep -q '"ok":true' && [ "$(login "$A" ravi "ravi pass 1" "$T/jar_r")" = 200 ] && ok "an administrator adds an account in the app; it signs in"

code=$("${CURL[@]}" -b "$T/jar_r" -o /dev/null -w '%{http_code}' -H "Origin: $A" -X POST "$A/logout")
# The old cookie itself is dead at the server, not only dropped by the browser.
[ "$code" = 200 ] && [ "$("${CURL[@]}" -b "$T/jar_r" -o /dev/null -w '%{http_code}' "$A/api/me")" = 401 ] &&
  ok "sign-out ends the session at the server" || fail "not: sign-out ends the session"

note "sync: the server's answer in plain words"
r=$("${CURL[@]}" -b "$T/jar" -H "Origin: $A" -d "csrf=$SC" "$A/api/sync")
echo "$r" | grep -q '"ok":true' || fail "sync did not start: $r"
for i in $(seq 1 150); do
  "${CURL[@]}" -b "$T/jar" "$A/api/sync" > "$T/sync.json"
  grep -q '"last":' "$T/sync.json" && break
  sleep 0.2
done
python3 - "$T/sync.json" <<'PY' && ok "Sync now with the server down: 'could not be reached', what to do, nothing lost" || fail "sync answer: $(cat "$T/sync.json")"
import json, sys
s = json.load(open(sys.argv[1]))
l = s["last"]
assert not l["ok"] and "could not be reached" in l["words"] and "Nothing is lost" in l["words"], l
assert l["todo"] and l["by"] == "admin" and s["pending"] > 0 and not s["running"], s
assert s["last_ok"] == "", s  # never synced: no "last successful sync"
PY

note "rate limit"
for i in 1 2 3 4 5; do login "$A" sana "guess $i" "$T/jar0" > /dev/null; done
code=$(login "$A" sana "new staff pass" "$T/jar0")
[ "$code" = 429 ] && grep -q "too many wrong passwords" "$T/login.out" && ok "after 5 wrong passwords even the right one waits (429)" || fail "not: after 5 wrong passwords even the right one waits (429)"

note "a session cookie from another node"
"$NODE" -d "$T/b" init > /dev/null
echo "admin pass 2" | "$NODE" -d "$T/b" staff add admin --role admin > /dev/null
P2=$(free_port)
serve b "127.0.0.1:$P2"
B_URL=$URL
[ "$(login "$B_URL" admin "admin pass 2" "$T/jar_b")" = 200 ] || fail "sign-in at node b"
cookie_b=$(awk '$6 == "rz_session" {print $7}' "$T/jar_b")
code=$("${CURL[@]}" -o "$T/out" -w '%{http_code}' -H "Cookie: rz_session=$cookie_b" "$A/api/persons")
[ "$code" = 401 ] && grep -q "another Rozgar node" "$T/out" && ok "node a refuses node b's session, saying so" || fail "not: node a refuses node b's session, saying so"
code=$("${CURL[@]}" -o "$T/out" -w '%{http_code}' -H "Origin: $A" -H "Cookie: rz_session=$cookie_b" \
         -d "name=Forged&gender=male&csrf=$CS" "$A/api/person/save")
[ "$code" = 401 ] && msg_of "$T/out" | grep -q "another Rozgar node" && ok "and a post with it gets an error page" || fail "not: and a post with it gets an error page"
[ "$(persons "$A" "$T/jar")" = "$N0" ] && ok "nothing changed" || fail "not: nothing changed"

note "expiry"
stop_serves
serve a "127.0.0.1:$P" RZ_FAKE_NOW_MS=+3600000
code=$("${CURL[@]}" -o "$T/out" -w '%{http_code}' -b "$T/jar" "$A/api/persons")
[ "$code" = 401 ] && grep -q "unused too long" "$T/out" && ok "an hour later the session has ended" || fail "not: an hour later the session has ended"
stop_serves

note "beyond 127.0.0.1: HTTPS only"
if ! ip -4 addr show lo 2>/dev/null | grep -q "127.0.0.1/8"; then
  fail "loopback is not 127.0.0.0/8; cannot bind 127.0.0.2"
fi
P3=$(free_port)
serve a "127.0.0.2:$P3"
[ "$URL" = "https://127.0.0.2:$P3" ] && ok "on 127.0.0.2 the app is served at $URL" || fail "not: on 127.0.0.2 the app is served at \$URL"
FPR=$(awk '/fingerprint/ {getline; print $1}' "$T/a.serve.log")
[ ${#FPR} -eq 95 ] && ok "the certificate fingerprint is printed" || fail "not: the certificate fingerprint is printed"
[ "$(stat -c %a "$T/a/web-key.pem")" = 600 ] && ok "the made key file is mode 0600" || fail "not: the made key file is mode 0600"
code=$("${CURL[@]}" -o "$T/out" -w '%{http_code}' "http://127.0.0.2:$P3/login")
[ "$code" = 400 ] && grep -q "only answers over HTTPS" "$T/out" && grep -q "$FPR" "$T/out" &&
  ok "plain HTTP gets a clear refusal naming https:// and the fingerprint" || fail "not: plain HTTP gets a clear refusal naming https:// and the fingerprint"
served=$(python3 - "127.0.0.2" "$P3" <<'PY'
import hashlib, socket, ssl, sys
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
with socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=10) as s:
    with ctx.wrap_socket(s, server_hostname=sys.argv[1]) as t:
        d = hashlib.sha256(t.getpeercert(binary_form=True)).hexdigest().upper()
print(":".join(d[i:i + 2] for i in range(0, 64, 2)))
PY
)
[ "$served" = "$FPR" ] && ok "the certificate served has the printed fingerprint" || fail "not: the certificate served has the printed fingerprint"
[ "$(login "https://127.0.0.2:$P3" admin "admin pass 1" "$T/jar_tls" -k -D "$T/hdr_tls")" = 200 ] &&
  grep -i '^set-cookie:' "$T/hdr_tls" | grep -q '; Secure' && ok "sign-in over HTTPS; the cookie is Secure" || fail "not: sign-in over HTTPS; the cookie is Secure"
code=$("${CURL[@]}" -k -o /dev/null -w '%{http_code}' -b "$T/jar_tls" "https://127.0.0.2:$P3/api/persons")
[ "$code" = 200 ] && ok "the API answers over HTTPS"
# 40 clients that connect and say nothing (each would hold a one-at-a-time
# acceptor for 3 s: 2 minutes) must not keep a real browser out.
python3 - "$P3" > "$T/silent.out" 2>&1 <<'PY' &
import socket, sys, time
held = [socket.create_connection(("127.0.0.2", int(sys.argv[1])), timeout=5) for _ in range(40)]
print("holding", len(held), flush=True)
time.sleep(40)
PY
SILENT=$!
for _ in $(seq 1 50); do grep -q holding "$T/silent.out" && break; sleep 0.1; done
code=$("${CURL[@]}" -k -o /dev/null -w '%{http_code}' -b "$T/jar_tls" "https://127.0.0.2:$P3/api/persons")
kill "$SILENT" 2>/dev/null; wait "$SILENT" 2>/dev/null || true
[ "$code" = 200 ] && ok "40 silent connections do not keep a browser out" || fail "not: the API answers over HTTPS"
code=$("${CURL[@]}" -k -o /dev/null -w '%{http_code}' -b "$T/jar_tls" -H "Host: 127.0.0.1:$P3" "https://127.0.0.2:$P3/api/persons")
[ "$code" = 421 ] && ok "a Host the app does not answer to is refused over HTTPS too" || fail "not: a Host the app does not answer to is refused over HTTPS too"
stop_serves
serve a "127.0.0.2:$P3"
FPR2=$(awk '/fingerprint/ {getline; print $1}' "$T/a.serve.log")
[ "$FPR2" = "$FPR" ] && ok "a restart serves the same certificate" || fail "not: a restart serves the same certificate"
stop_serves

echo "centre-app: $checks passed, 0 failed"
