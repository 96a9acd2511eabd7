#!/usr/bin/env bash
# Backup and restore (issue 11).  A backup is taken while the server runs and
# nodes sync; afterwards more is acknowledged, a person is erased and a node
# revoked.  The server's files are then destroyed and restored from the
# backup.  It must hold: the revocation and the erasure are not undone (the
# journal re-applies them, an API token's revocation too); the ranges acknowledged after the backup are
# reported per node; a surviving node re-sends its range on its next sync and
# the totals end exact; a destroyed node's range stays reported by `gaps`;
# verify agrees.  Accounts and tokens changed after the backup (a new
# password, a new account, a new token) are re-applied from the journal: the
# new password signs in over HTTPS, the old one does not; the journal holds
# their hashes only (mode 600, no password or token in it).
source "$(dirname "$0")/lib.sh"

server_init
# The journal on "another disk", linked from the server directory (README).
mkdir -p "$T/jdisk"
ln -s "$T/jdisk/journal" "$T/srv/journal"
node_new a "e-Rozgar Lahore" e-rozgar Punjab Lahore
node_new b "e-Rozgar Multan" e-rozgar Punjab Multan
node_new c "Innovista Peshawar" innovista "Khyber Pakhtunkhwa" Peshawar
server_start
person() { local n=$1; shift; node "$n" person add --date 2026-10-01 "$@"; }

note "before the backup: each centre records and syncs"
for n in a b c; do
  for i in 1 2 3; do person "$n" --name "Person $n$i" --gender female --birth-year 2000 > /dev/null; done
  node "$n" sync > /dev/null || fail "sync $n"
done
pz=$(person a --name "Zubaida Erasable" --gender female --birth-year 1999 --phone 03001234567)
person a --name "Cantt Resident" --gender male --birth-year 1998 --district "Lahore Cantt" > /dev/null 2>&1
ev=$(node a event add --kind workshop --title "Profiles" --date 2026-10-02)
node a attend "$ev" "$pz" > /dev/null
node a sync > /dev/null || fail "sync a"

for i in 1 2 3 4 5; do person b --name "Before $i" --gender male --birth-year 1995 > /dev/null; done
node b sync > /dev/null || fail "sync b"

"$SERVER" -d "$T/srv" token add reports > "$T/token" 2>/dev/null || fail "token add"
echo "Old-Password-2026" | "$SERVER" -d "$T/srv" account add ayesha --role admin > /dev/null ||
  fail "account add"

note "backup while the server runs and node a syncs (a survives: whatever the race, it re-sends)"
for i in 1 2 3; do person a --name "During $i" --gender male --birth-year 1996 > /dev/null; done
node a sync > /dev/null &
apid=$!
"$SERVER" -d "$T/srv" backup "$T/bk" > "$T/backup.out" 2>&1 || fail "backup: $(cat "$T/backup.out")"
wait $apid || fail "sync a during the backup"
grep -q "^head " "$T/bk/MANIFEST" || fail "manifest without log heads"
[ "$(stat -c %a "$T/bk")" = 700 ] || fail "backup directory is not private"
for f in "$T"/bk/*; do [ "$(stat -c %a "$f")" = 600 ] || fail "$f is not mode 600"; done
[ -e "$T/bk/journal" ] && fail "the journal must stay out of backups"

note "after the backup: more acknowledged, an erasure, a revocation"
for i in 1 2 3 4; do person a --name "After a$i" --gender female --birth-year 2001 > /dev/null; done
node a sync > /dev/null || fail "sync a after backup"
for i in 1 2; do person b --name "After b$i" --gender male --birth-year 2002 > /dev/null; done
node b sync > /dev/null || fail "sync b after backup"
"$SERVER" -d "$T/srv" erase "$pz" > /dev/null || fail "erase"
c_id=$(awk '/^node-id:/ {print $2}' "$T/c.init")
[ -n "$c_id" ] || c_id=$(awk -F: '/^enroll-token:/ {print $3}' "$T/c.init")
"$SERVER" -d "$T/srv" revoke "$c_id" > /dev/null || fail "revoke c"
"$SERVER" -d "$T/srv" token revoke reports > /dev/null || fail "token revoke"
# Trainees by place are counted where the centre was when merged: a move
# after the backup must be recounted after the restore too.
"$SERVER" -d "$T/srv" centre move "e-Rozgar Lahore" --province Punjab --district Kasur > /dev/null ||
  fail "centre move"
# A places list imported after the backup (it knows "Lahore Cantt") is kept
# beside the journal and imported again by the restore.
sed 's/^district\tPunjab\tLahore\tLHR$/district\tPunjab\tLahore\tLHR;Lahore Cantt/; s/^version\t.*/version\t2026-12-01.1/' \
  "$(dirname "$0")/../../data/places.tsv" > "$T/places-v2.tsv"
grep -q "Lahore Cantt" "$T/places-v2.tsv" || fail "test list not made"
"$SERVER" -d "$T/srv" places import "$T/places-v2.tsv" > /dev/null || fail "places import"
ls "$T"/jdisk/journal.places-*.tsv > /dev/null 2>&1 || fail "the imported list is not kept beside the journal"
for f in "$T"/jdisk/journal.places-*.tsv; do [ "$(stat -c %a "$f")" = 600 ] || fail "$f is not mode 600"; done
echo "New-Password-2026" | "$SERVER" -d "$T/srv" account passwd ayesha > /dev/null || fail "passwd"
echo "Analyst-Password-26" | "$SERVER" -d "$T/srv" account add bilal --role analyst > /dev/null ||
  fail "account add after the backup"
"$SERVER" -d "$T/srv" token add late-bot > "$T/token2" 2>/dev/null || fail "token add after the backup"
[ "$(stat -c %a "$T/jdisk/journal")" = 600 ] || fail "the journal is not mode 600"
if grep -q -e "Password-2026" -e "Analyst-Password" -e "$(cat "$T/token")" -e "$(cat "$T/token2")" \
  "$T/jdisk/journal"; then fail "a password or a token in the journal"; fi
grep -qF "$(printf 'account-passwd\tayesha\t$argon2id$')" "$T/jdisk/journal" || fail "password change not journaled"
"$SERVER" -d "$T/srv" totals --wait --timeout 120 > /dev/null
want_reg=$(total --metric registered)
expect_eq "$want_reg" 25 "registered before the disaster (3x3 + 2 + 5 + 3 + 4 + 2)"

note "disaster: the server dies and its database files are lost; node b's PC is destroyed too"
server_kill9
rm -f "$T"/srv/*.db "$T"/srv/*.db-wal "$T"/srv/*.db-shm "$T"/srv/*.evidence
rm -rf "$T/b"

note "restore from the backup"
"$SERVER" -d "$T/srv" restore "$T/bk" > "$T/restore.out" 2>&1 || fail "restore: $(cat "$T/restore.out")"
cat "$T/restore.out"
grep -q "re-applied revoke of node $c_id" "$T/restore.out" || fail "revocation not re-applied"
grep -q "erased again person $pz" "$T/restore.out" || fail "erasure not re-applied"
grep -q "re-applied move of centre 'e-Rozgar Lahore'" "$T/restore.out" || fail "move not re-applied"
grep -q "re-applied places-import as places version 2" "$T/restore.out" || fail "places import not re-applied"
"$SERVER" -d "$T/srv" lawful list | grep -q " erase .*$pz" ||
  fail "the erasure is missing from the lawful register after the restore: $("$SERVER" -d "$T/srv" lawful list)"
"$SERVER" -d "$T/srv" places | grep -Eq '^2 +.* 2026-12-01\.1 ' || fail "places after restore: $("$SERVER" -d "$T/srv" places)"
"$SERVER" -d "$T/srv" totals --format csv --metric registered --by home | grep -q "^all,Lahore,1$" ||
  fail "the home district under the list re-applied: $("$SERVER" -d "$T/srv" totals --format csv --metric registered --by home)"
expect_eq "$("$SERVER" -d "$T/srv" totals --format csv --metric trainees --by district | tail -n +2)" \
  "all,Kasur,1" "the trainee where the centre moved after the backup"
ngaps=$(awk '/^gaps:/ {print $2}' "$T/restore.out")
expect_eq "$ngaps" 2 "nodes with acknowledged entries missing after the restore (a and b)"
"$SERVER" -d "$T/srv" nodes | grep -iF "${c_id:0:8}" | grep -qi revoked || fail "node c is not revoked after the restore"
grep -q "re-applied token-revoke of 'reports'" "$T/restore.out" || fail "token revocation not re-applied"
"$SERVER" -d "$T/srv" token list | grep "^reports " | grep -q "revoked 20" || fail "API token alive again after the restore"
for f in "$T"/srv/*.db; do
  if grep -aq "Zubaida" "$f"; then fail "erased name back in $f after the restore"; fi
done
for want in "account-passwd of 'ayesha'" "account-add of 'bilal'" "token-add of 'late-bot'"; do
  grep -q "re-applied $want" "$T/restore.out" || fail "not re-applied: $want"
done
if grep -q -e "argon2" -e "Password" "$T/restore.out"; then fail "restore printed a hash or password"; fi

note "the server comes back (HTTPS, sign-in); accounts and tokens as after the backup"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
  -subj "/CN=127.0.0.1" -addext "subjectAltName=IP:127.0.0.1" \
  -keyout "$T/key.pem" -out "$T/cert.pem" 2> /dev/null
HTTP_PORT=$(free_port)
server_start --http "127.0.0.1:$HTTP_PORT" --tls-cert "$T/cert.pem" --tls-key "$T/key.pem"
B="https://127.0.0.1:$HTTP_PORT"
login() {
  curl -s --cacert "$T/cert.pem" --max-time 20 -o /dev/null -w '%{http_code}' -H "Origin: $B" \
    --data-urlencode "user=$1" --data-urlencode "password=$2" "$B/login"
}
bearer() {
  curl -s --cacert "$T/cert.pem" --max-time 20 -o /dev/null -w '%{http_code}' \
    -H "Authorization: Bearer $1" "$B/api/summary"
}
expect_eq "$(login ayesha New-Password-2026)" 303 "the password changed after the backup"
expect_eq "$(login ayesha Old-Password-2026)" 403 "the password the backup held"
expect_eq "$(login bilal Analyst-Password-26)" 303 "the account added after the backup"
expect_eq "$(bearer "$(cat "$T/token2")")" 200 "the token made after the backup"
expect_eq "$(bearer "$(cat "$T/token")")" 401 "the token revoked after the backup"

note "node a re-sends what the backup lacks; node c stays refused"
node a sync > "$T/a.sync" || fail "sync a after restore: $(cat "$T/a.sync")"
set +e; node c sync --timeout 3 > "$T/c.sync" 2>&1; rc=$?; set -e
[ $rc -ne 0 ] || fail "revoked node c synced after the restore"
"$SERVER" -d "$T/srv" totals --wait --timeout 120 > /dev/null
got=$(total --metric registered)
# b's two entries after the backup are gone with its PC: 25 - 2.
expect_eq "$got" 23 "registered after restore and re-sync"
"$SERVER" -d "$T/srv" gaps > "$T/gaps.out" || true
grep -q "^gaps: 1 node" "$T/gaps.out" || fail "gaps after re-sync: $(cat "$T/gaps.out")"
b_id=$(awk -F: '/^enroll-token:/ {print $3}' "$T/b.init")
grep -q "node $b_id" "$T/gaps.out" || fail "destroyed node b's range not reported: $(cat "$T/gaps.out")"
server_stop
"$SERVER" -d "$T/srv" verify > "$T/verify.out" 2>&1 || fail "verify after restore: $(tail -n 5 "$T/verify.out")"
ls "$T"/bk/journal* > /dev/null 2>&1 && fail "a journal file in the backup"
echo "PASS backup: restored, revocation and erasure kept (and in the lawful register), password change, account and token re-applied, a move and a places import re-applied and recounted, 1 node's range reported lost, $got registered, verify agrees"
