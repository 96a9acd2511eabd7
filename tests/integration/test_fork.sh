#!/usr/bin/env bash
# Fork recovery end to end (issue 3): a centre restores an old backup of its
# node and keeps recording.  The next sync is refused as a fork (the node
# detects it from the WELCOME; a forced batch is caught by the server, which
# keeps evidence and quarantines the node).  Headquarters authorises a new
# epoch, the node rebases, and every record, from before and after the
# restore, is counted exactly once.
source "$(dirname "$0")/lib.sh"
server_init
server_start
node_new c1 "Centre R" e-rozgar Punjab Faisalabad
add() { node c1 person add --name "$1" --gender female --birth-year 2000 --date 2026-10-10 > /dev/null; }

add "Before 1"; add "Before 2"
node c1 sync > /dev/null
note "staff back up the node"
cp -a "$T/c1" "$T/c1.backup"
add "Lost timeline 1"; add "Lost timeline 2"
node c1 sync > /dev/null
expect_eq "$(total --metric registered)" 4 "registered before the restore"

note "the PC dies; the backup is restored and the centre keeps recording"
rm -rf "$T/c1"; cp -a "$T/c1.backup" "$T/c1"
add "After restore 1"; add "After restore 2"; add "After restore 3"
set +e; out=$(node c1 sync 2>&1); rc=$?; set -e
expect_eq "$rc" 3 "sync exit code on a fork"
echo "$out" | grep -qi "fork" || fail "no fork message: $out"
echo "$out" | grep -q "new-epoch" || fail "message does not tell the recovery path: $out"
expect_eq "$(total --metric registered)" 4 "nothing of the forked log applied"

note "headquarters authorises a new epoch; the node rebases and syncs"
id=$(node c1 status | awk -F': *' '/^node id/ {print $2}')
"$SERVER" -d "$T/srv" new-epoch "$id" > /dev/null
node c1 rebase > "$T/rebase.out" || fail "rebase: $(cat "$T/rebase.out")"
node c1 sync > /dev/null || fail "sync after rebase"
expect_eq "$(total --metric registered)" 7 "all records once (2 before, 2 lost timeline, 3 after)"
"$SERVER" -d "$T/srv" verify > "$T/verify.out" || fail "verify after recovery: $(tail -n 3 "$T/verify.out")"
echo "PASS fork: detected, refused, recovered via new epoch + rebase, 7 people counted once"
