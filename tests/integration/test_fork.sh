#!/usr/bin/env bash
# Fork recovery end to end (issues 3 and 11): a centre restores an old
# backup of its node and keeps recording.  The next sync catches the fork at
# the node (from the WELCOME), sends nothing of the forked log and reports
# the fork to headquarters in a signed FORK_REPORT (PROTOCOL.md 4.8): the
# server keeps it as evidence (`forks`) and quarantines the node.
# Headquarters authorises a new epoch, which it refuses for a node without
# fork evidence unless forced with a reason (kept as evidence); the node
# rebases, and every record, from before and after the restore, is counted
# exactly once.
source "$(dirname "$0")/lib.sh"
server_init
server_start
node_new c1 "Centre R" e-rozgar Punjab Faisalabad
node_new c2 "Centre S" e-rozgar Punjab Lahore
add() { node c1 person add --name "$1" --gender female --birth-year 2000 --date 2026-10-10 > /dev/null; }
forks() { "$SERVER" -d "$T/srv" forks; }
state_of() { "$SERVER" -d "$T/srv" nodes | awk -v id="$1" 'toupper($1) == toupper(id)'; }

add "Before 1"; add "Before 2"
node c1 sync > /dev/null
note "staff back up the node"
cp -a "$T/c1" "$T/c1.backup"
add "Lost timeline 1"; add "Lost timeline 2"
node c1 sync > /dev/null
expect_eq "$(total --metric registered)" 4 "registered before the restore"
id=$(node c1 status | awk -F': *' '/^node id/ {print $2}')
id2=$(node c2 status | awk -F': *' '/^node id/ {print $2}')
expect_eq "$(forks | tail -n 1)" "0 fork reports" "no fork before the restore"

note "the PC dies; the backup is restored and the centre keeps recording"
rm -rf "$T/c1"; cp -a "$T/c1.backup" "$T/c1"
add "After restore 1"; add "After restore 2"; add "After restore 3"
set +e; out=$(node c1 sync 2>&1); rc=$?; set -e
expect_eq "$rc" 3 "sync exit code on a fork"
echo "$out" | grep -qi "fork" || fail "no fork message: $out"
echo "$out" | grep -q "reported to headquarters" || fail "the node did not report the fork: $out"
echo "$out" | grep -q "new-epoch" || fail "message does not tell the recovery path: $out"
expect_eq "$(total --metric registered)" 4 "nothing of the forked log applied"

note "headquarters sees the node's report and the quarantine"
forks > "$T/forks.out"
grep -qi "node $id epoch 0 seq [0-9]*: reported by the node: its entry [0-9]* differs from the server's" "$T/forks.out" ||
  fail "forks does not show the node's report: $(cat "$T/forks.out")"
expect_eq "$(tail -n 1 "$T/forks.out")" "1 fork report" "fork evidence count"
state_of "$id" | grep -q QUARANTINED || fail "node not quarantined: $(state_of "$id")"
set +e; out=$(node c1 sync 2>&1); rc=$?; set -e
expect_eq "$rc" 3 "sync of a quarantined node"
echo "$out" | grep -q "quarantined" || fail "no quarantine message: $out"
expect_eq "$(tail -n 1 <(forks))" "1 fork report" "a quarantined node's retry adds no evidence"

note "new-epoch needs fork evidence, or --force with a reason that is kept"
set +e; out=$("$SERVER" -d "$T/srv" new-epoch "$id2" 2>&1); rc=$?; set -e
expect_eq "$rc" 1 "new-epoch of a node without fork evidence"
echo "$out" | grep -qi "no fork is recorded for node $id2" || fail "refusal: $out"
set +e; out=$("$SERVER" -d "$T/srv" new-epoch "$id2" --force 2>&1); rc=$?; set -e
expect_eq "$rc" 1 "--force without a reason"
"$SERVER" -d "$T/srv" new-epoch "$id2" --force --reason "PC stolen, no backup" > "$T/forced.out" 2> "$T/forced.err" ||
  fail "forced new-epoch: $(cat "$T/forced.err")"
grep -qi "new-epoch forced for node $id2 without fork evidence: PC stolen, no backup" "$T/forced.err" ||
  fail "forced new-epoch not logged: $(cat "$T/forced.err")"
forks | grep -qi "node $id2 epoch 0 .*forced by headquarters without fork evidence: PC stolen, no backup" ||
  fail "forced new-epoch not kept: $(forks)"

note "headquarters authorises a new epoch; the node rebases and syncs"
"$SERVER" -d "$T/srv" new-epoch "$id" > /dev/null || fail "new-epoch with the node's report on record"
state_of "$id" | grep -q QUARANTINED && fail "quarantine not lifted: $(state_of "$id")"
node c1 rebase > "$T/rebase.out" || fail "rebase: $(cat "$T/rebase.out")"
node c1 sync > /dev/null || fail "sync after rebase"
expect_eq "$(total --metric registered)" 7 "all records once (2 before, 2 lost timeline, 3 after)"
"$SERVER" -d "$T/srv" verify > "$T/verify.out" || fail "verify after recovery: $(tail -n 3 "$T/verify.out")"

note "a second restore, this time the server is ahead of the node (nothing recorded since)"
cp -a "$T/c1" "$T/c1.backup2"
add "Second timeline 1"
node c1 sync > /dev/null || fail "sync before the second restore"
rm -rf "$T/c1"; cp -a "$T/c1.backup2" "$T/c1"
set +e; out=$(node c1 sync 2>&1); rc=$?; set -e
expect_eq "$rc" 3 "sync exit code when the server is ahead"
echo "$out" | grep -q "reported to headquarters" || fail "server-ahead fork not reported: $out"
forks | grep -qi "node $id epoch 1 seq [0-9]*: reported by the node: server holds [0-9]* entries, the node [0-9]*" ||
  fail "forks: $(forks)"
"$SERVER" -d "$T/srv" new-epoch "$id" > /dev/null || fail "second new-epoch"
node c1 rebase > "$T/rebase2.out" || fail "second rebase: $(cat "$T/rebase2.out")"
node c1 sync > /dev/null || fail "sync after the second rebase"
expect_eq "$(total --metric registered)" 8 "all records once after the second recovery"
echo "PASS fork: caught at the node and reported (entry differs, server ahead), seen in forks and quarantined, new-epoch needs evidence or a forced reason, recovered via rebase twice, 8 people counted once"
