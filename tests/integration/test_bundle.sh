#!/usr/bin/env bash
# USB bundles (issue 10, PROTOCOL.md §11): a centre without a link exports
# what the server lacks into a sealed file (mode 0600); headquarters imports
# it through the same verification and idempotent storing as a live sync and
# writes a receipt file; the centre imports the receipts and its entries
# count as delivered.  Checked: imported twice (nothing doubled), bundle then
# live sync of the same entries, a truncated and a tampered bundle and one
# sealed to another server (refused with the reason, nothing applied), a
# revoked node's bundle (refused), half a backlog by bundle and the rest
# live in either order (exact totals), receipts of another node refused,
# verify agrees.
source "$(dirname "$0")/lib.sh"
checks=0
ok() { checks=$((checks + 1)); }
recorded=0
rec() { # rec NODE COUNT
  local k
  python3 - "$T/$1.csv" "$2" "$1-$recorded" <<'PY'
import sys
path, n, tag = sys.argv[1], int(sys.argv[2]), sys.argv[3]
with open(path, "w") as f:
    f.write("name,gender,birth_year,cnic,phone,district,area,skill,reg_date\n")
    for k in range(n):
        f.write(f"B {tag}-{k},{'female' if k % 2 else 'male'},{1980 + k % 25},,,Lahore,urban,"
                f"white-collar,2026-10-{1 + k % 28:02d}\n")
PY
  node "$1" import persons "$T/$1.csv" > /dev/null
  recorded=$((recorded + $2))
}
srv() { "$SERVER" -d "$T/srv" "$@"; }
head_of() { # server head of node NAME
  local id; id=$(node "$1" status | awk -F': *' '/^node id/ {print $2}')
  sqlite3 -readonly "$T/srv/server.db" "SELECT head_seq FROM node WHERE hex(node_id)=upper('$id')"
}
pending() { node "$1" status | awk -F': *' '/^pending/ {print $2}'; }
refused() { # refused FILE WHAT PATTERN: import must fail with PATTERN, nothing applied
  local before; before=$(total --metric registered)
  set +e; srv bundle import "$1" --receipt "$T/x.rcpt" > /dev/null 2> "$T/refused.err"; local rc=$?; set -e
  [ $rc -ne 0 ] || fail "$2 was accepted"
  grep -q "$3" "$T/refused.err" || fail "$2: unclear refusal: $(cat "$T/refused.err")"
  expect_eq "$(total --metric registered)" "$before" "$2 applied something"
  ok
}

server_init
for n in a b c d e r; do node_new "$n" "Centre $n" e-rozgar Punjab Lahore; done

note "a centre with no link: export, import, receipts"
rec a 1200
node a bundle export "$T/a.rzb" > "$T/a.out"
expect_eq "$(stat -c %a "$T/a.rzb")" 600 "bundle mode"; ok
head -c 4 "$T/a.rzb" | grep -q RZB1 || fail "no magic"; ok
if grep -q "B a-0-1" "$T/a.rzb"; then fail "personal values in the clear"; fi; ok
srv bundle import "$T/a.rzb" --receipt "$T/a.rcpt" > "$T/imp.out" || fail "import: $(cat "$T/imp.out")"
grep -q "1200 entries new to the server, closed for merging at the import time" "$T/imp.out" || fail "import said: $(cat "$T/imp.out")"; ok
expect_eq "$(total --metric registered)" 1200 "registered after the import"; ok
expect_eq "$(stat -c %a "$T/a.rcpt")" 600 "receipt mode"; ok
expect_eq "$(pending a)" 1200 "pending before receipts"
node a bundle receipts "$T/a.rcpt" > "$T/r.out" || fail "receipts: $(cat "$T/r.out")"
expect_eq "$(pending a)" 0 "pending after receipts"; ok

note "imported twice: nothing doubles"
srv bundle import "$T/a.rzb" --receipt "$T/a2.rcpt" > "$T/imp2.out"
grep -q " 0 entries new to the server" "$T/imp2.out" || fail "second import: $(cat "$T/imp2.out")"; ok
expect_eq "$(total --metric registered)" 1200 "registered after importing twice"; ok
node a bundle receipts "$T/a2.rcpt" > /dev/null || fail "receipts of the second import"; ok

note "receipts of another node are refused"
set +e; node b bundle receipts "$T/a.rcpt" > /dev/null 2> "$T/other.err"; rc=$?; set -e
[ $rc -ne 0 ] && grep -q "another node" "$T/other.err" || fail "another node's receipts accepted"; ok

note "bundle, then a live sync of the same entries"
rec b 300
node b bundle export "$T/b.rzb" > /dev/null
srv bundle import "$T/b.rzb" --receipt "$T/b.rcpt" > /dev/null
server_start
node b sync > "$T/bsync.out" || fail "live sync after bundle"
expect_eq "$(pending b)" 0 "pending after the live sync"; ok
expect_eq "$(total --metric registered)" $((1200 + 300)) "registered: bundle + live of the same"; ok
node b bundle receipts "$T/b.rcpt" > /dev/null || fail "late receipts"; ok

note "truncated, tampered, wrong server: refused, nothing applied"
rec c 700
node c bundle export "$T/c.rzb" > /dev/null
size=$(stat -c %s "$T/c.rzb")
head -c $((size - 100)) "$T/c.rzb" > "$T/c-trunc.rzb"; refused "$T/c-trunc.rzb" "a truncated bundle" "truncated"
head -c 3000 "$T/c.rzb" > "$T/c-trunc2.rzb"; refused "$T/c-trunc2.rzb" "a bundle cut in its first batch" "truncated"
cp "$T/c.rzb" "$T/c-tamp.rzb"
printf '\x55' | dd of="$T/c-tamp.rzb" bs=1 seek=$((size / 2)) conv=notrunc 2> /dev/null
refused "$T/c-tamp.rzb" "a tampered bundle" "does not open"
"$SERVER" -d "$T/srv2" init > /dev/null
key2=$("$SERVER" -d "$T/srv2" pubkey | awk '/^ed25519:/ {print $2}')
node c config server-key="$key2" > /dev/null
node c bundle export "$T/c-other.rzb" > /dev/null
node c config server-key="$SERVER_KEY" > /dev/null
refused "$T/c-other.rzb" "a bundle sealed to another server" "sealed to another server"
printf 'garbage' > "$T/junk.rzb"; refused "$T/junk.rzb" "a file that is no bundle" "not a bundle"
cat "$T/c.rzb" "$T/c.rzb" > "$T/c-twice.rzb"; refused "$T/c-twice.rzb" "a bundle with data after its end" "after the last batch"
srv bundle import "$T/c.rzb" --receipt "$T/c.rcpt" > /dev/null || fail "the intact bundle after the refusals"; ok

note "a revoked node's bundle is refused"
rec r 50
node r bundle export "$T/r.rzb" > /dev/null
rid=$(node r status | awk -F': *' '/^node id/ {print $2}')
srv revoke "$rid" > /dev/null
refused "$T/r.rzb" "a revoked node's bundle" "revoked"
recorded=$((recorded - 50))

note "half by bundle, half live: bundle first"
rec d 400
node d bundle export "$T/d.rzb" > /dev/null
rec d 400
srv bundle import "$T/d.rzb" --receipt "$T/d.rcpt" > /dev/null
node d bundle receipts "$T/d.rcpt" > /dev/null
node d sync > /dev/null || fail "live rest of d"
expect_eq "$(pending d)" 0 "d pending"; ok

note "half live, half by bundle: live first"
rec e 400
node e sync > /dev/null
rec e 400
node e bundle export "$T/e.rzb" > "$T/e.out"
grep -q "(400 entries)" "$T/e.out" || fail "the bundle should carry only what is not acknowledged: $(cat "$T/e.out")"; ok
srv bundle import "$T/e.rzb" --receipt "$T/e.rcpt" > /dev/null
node e bundle receipts "$T/e.rcpt" > /dev/null
expect_eq "$(pending e)" 0 "e pending"; ok
node e sync > /dev/null

reg=$(total --metric registered)
expect_eq "$reg" "$recorded" "registered, all centres"; ok
srv verify > "$T/verify.out" || fail "verify disagrees: $(tail -n 4 "$T/verify.out")"; ok
echo "  check: bundle recorded=$recorded registered=$reg checks=$checks"
