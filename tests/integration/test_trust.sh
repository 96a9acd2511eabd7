#!/usr/bin/env bash
# Trust lifecycle (issue 3) with real processes: key rotation with a kept key
# history (the whole log still verifies), a versioned enrollment register,
# lawful erasure of personal values (logs still verify, totals unchanged,
# values gone from the server's files), and the clock guard (a PC a year
# ahead neither wins conflicts past its sync nor puts a future date in any
# total; staff are warned).
source "$(dirname "$0")/lib.sh"
server_init
server_start
node_new a "Centre A" e-rozgar Sindh Hyderabad
node_new b "Centre B" innovista Sindh Sukkur
Y=$(date -u +%Y)

note "key rotation"
node a person add --name "Rotation One" --gender female --birth-year 2001 --date "$Y-01-15" >/dev/null
node a sync >/dev/null
node a rekey > "$T/rekey.out"
token=$(grep -o 'rz1:[0-9a-f]*:[0-9a-f]*' "$T/rekey.out")
id=$(node a status | awk -F': *' '/^node id/ {print $2}')
[ "$(stat -c %a "$T/a/node.key")" = 600 ] || fail "new key file is not 0600"
ls "$T/a"/node.key.old-* >/dev/null || fail "retired key not kept"
node a person add --name "Rotation Two" --gender male --birth-year 1999 --date "$Y-01-16" >/dev/null
set +e; node a sync --timeout 3 > "$T/s.out" 2>&1; rc=$?; set -e
[ $rc -ne 0 ] || fail "a key headquarters has not enrolled must not sync"
"$SERVER" -d "$T/srv" rekey "$id" --token "$token" >/dev/null
node a sync >/dev/null || fail "sync with the re-enrolled key"
"$SERVER" -d "$T/srv" register > "$T/register.out"
grep -q "rekey" "$T/register.out" || fail "register lacks the rekey version"
[ "$(grep -c '^[0-9]' "$T/register.out")" -eq 3 ] || fail "register should hold 3 versions"
"$SERVER" -d "$T/srv" verify > "$T/v1.out" || fail "log signed by two keys does not verify: $(tail -n 3 "$T/v1.out")"
expect_eq "$(total --metric registered)" 2 "registered after rotation"

note "lawful erasure"
secret_name="Erasable Zubaida Qureshi"
p=$(node b person add --name "$secret_name" --gender female --birth-year 1995 --cnic 41303-7654321-4 \
      --phone 03001234567 --date "$Y-02-01")
node b person add --name "Erasable Twin" --gender female --birth-year 1995 --cnic 41303-7654321-4 --date "$Y-02-02" >/dev/null
node b sync >/dev/null
before=$("$SERVER" -d "$T/srv" totals --wait --timeout 120 --format csv --metric registered --by gender)
expect_eq "$(total --metric registered)" 3 "CNIC twins count once"
out=$("$SERVER" -d "$T/srv" erase "$p")
echo "$out" | grep -q "erased 3 personal values" || fail "erase: $out"
after=$("$SERVER" -d "$T/srv" totals --wait --timeout 120 --format csv --metric registered --by gender)
[ "$before" = "$after" ] || fail "erasure changed totals"
server_stop
for f in "$T/srv"/server.db* "$T/srv"/state.db*; do
  if grep -aq "Zubaida" "$f"; then fail "erased name still in $f"; fi
  if grep -aq "03001234567" "$f"; then fail "erased phone still in $f"; fi
done
"$SERVER" -d "$T/srv" verify > "$T/v2.out" || fail "verify after erasure: $(tail -n 3 "$T/v2.out")"
"$SERVER" -d "$T/srv" rebuild > /dev/null || fail "rebuild after erasure"
expect_eq "$(total --metric registered)" 3 "registered after erasure + rebuild"
server_start

note "clock guard: a PC a year ahead"
AHEAD=+31536000000
RZ_FAKE_NOW_MS=$AHEAD node a person add --name "Ahead One" --gender female --birth-year 2000 \
  --cnic 35202-1111111-1 > /dev/null
RZ_FAKE_NOW_MS=$AHEAD node a sync >/dev/null
RZ_FAKE_NOW_MS=$AHEAD node a person add --name "Ahead Two" --gender male --birth-year 2000 \
  > /dev/null 2> "$T/warn.out"
grep -qi "clock" "$T/warn.out" || fail "no clock warning for staff: $(cat "$T/warn.out")"
RZ_FAKE_NOW_MS=$AHEAD node a sync >/dev/null
sleep 1
# A correct PC later registers the same CNIC with another gender: it must win,
# because the ahead PC's stamps are clamped to the server time of its sync.
node b person add --name "Correct" --gender male --birth-year 2000 --cnic 35202-1111111-1 --date "$Y-03-01" >/dev/null
node b sync >/dev/null
male_before=$(total --metric registered --where gender=male)
"$SERVER" -d "$T/srv" totals --wait --timeout 120 --format csv --metric registered --by gender > "$T/g.csv"
grep -q "^all,male,3" "$T/g.csv" || grep -q "male,3$" "$T/g.csv" || fail "correct PC's later edit did not win: $(cat "$T/g.csv")"
next=$((Y + 1))
expect_eq "$(total --metric registered --period "$next")" 0 "registrations dated next year"
expect_eq "$(total --metric registered --period 1970)" 0 "registrations dated 1970"
"$SERVER" -d "$T/srv" nodes | grep -q "+3153" || fail "HQ does not see the ahead node's clock offset"
echo "PASS trust: rotation with key history, register versions, erasure, clock guard (male=$male_before)"
