# Made once with the node of schema version 1 (client/node_store.c of 356e72e, the release
# of 2026-11-23): bash make_node_v1.sh BUILD_DIR TMPDIR, then
# TMPDIR/n/{node.db,node.key} copied to tests/data/node-v1/ (node.db
# checkpointed: no -wal file).  Kept for the record; the checked-in files, not
# this script, are the fixture.  The node has 4 persons, 1 event, 2
# attendances and one correction; the first 5 entries + clock are
# acknowledged by a server that is not kept (its key is in server.pub so
# the receipts can be checked), the last 2 entries are pending.
set -euo pipefail
B=$1; T=$2
S="$B/rozgar-server"; N="$B/rozgar-node"
"$S" -d "$T/srv" init > "$T/init.out"
KEY=$(awk '/^server-key:/ {print $2}' "$T/init.out")
PORT=$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
EP="tcp://127.0.0.1:$PORT"
"$N" -d "$T/n" init > "$T/n.init"; tok=$(awk '/^enroll-token:/ {print $2}' "$T/n.init")
"$S" -d "$T/srv" enroll --token "$tok" --centre "e-Rozgar Multan" --programme e-rozgar --province Punjab --district Multan >/dev/null
"$N" -d "$T/n" config --server "$EP" --server-key "$KEY" >/dev/null
p() { "$N" -d "$T/n" person add --date 2026-10-01 "$@"; }
a1=$(p --name "Sana Iqbal" --gender female --birth-year 2002 --cnic 36302-1234567-8 --area urban --skill white-collar)
a2=$(p --name "Usman Tariq" --gender male --birth-year 1999 --area rural)
e1=$("$N" -d "$T/n" event add --kind training --title "Fiverr basics" --date 2026-10-07)
"$N" -d "$T/n" attend "$e1" "$a1" >/dev/null
"$N" -d "$T/n" attend "$e1" "$a2" >/dev/null
"$S" -d "$T/srv" run --bind "$EP" > "$T/srv.log" 2>&1 & pid=$!
for i in $(seq 50); do grep -q serving "$T/srv.log" && break; sleep 0.1; done
"$N" -d "$T/n" sync
kill $pid; wait $pid || true
p --name "Hina Baloch" --gender female --birth-year 2000 >/dev/null
"$N" -d "$T/n" person edit "$a2" --phone 03001234567 >/dev/null
echo "$KEY" > "$T/server.pub"
sqlite3 "$T/n/node.db" "PRAGMA wal_checkpoint(TRUNCATE);" >/dev/null
"$N" -d "$T/n" status
