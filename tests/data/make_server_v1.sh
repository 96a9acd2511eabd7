# Made once with the release of 2026-11-23 (356e72e): bash make_server_v1.sh BUILD_DIR TMPDIR,
# then TMPDIR/srv/{server.db,server.db.evidence,server.key} copied here.  Kept for the record;
# the checked-in files, not this script, are the fixture.
set -euo pipefail
B=$1; T=$2
S="$B/rozgar-server"; N="$B/rozgar-node"
"$S" -d "$T/srv" init > "$T/init.out"
KEY=$(awk '/^server-key:/ {print $2}' "$T/init.out")
PORT=$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
EP="tcp://127.0.0.1:$PORT"
mk() { "$N" -d "$T/$1" init > "$T/$1.init"; tok=$(awk '/^enroll-token:/ {print $2}' "$T/$1.init");
  "$S" -d "$T/srv" enroll --token "$tok" --centre "$2" --programme "$3" --province "$4" --district "$5" >/dev/null;
  "$N" -d "$T/$1" config --server "$EP" --server-key "$KEY" >/dev/null; }
mk lhr "e-Rozgar Lahore" e-rozgar Punjab Lahore
mk psh "e-Rozgar Peshawar" e-rozgar "Khyber Pakhtunkhwa" Peshawar
p() { n=$1; shift; "$N" -d "$T/$n" person add --date 2026-10-01 "$@"; }
a1=$(p lhr --name "Ayesha Khan" --gender female --birth-year 2001 --cnic 35202-1234567-2 --area urban --skill white-collar --district Lahore)
a2=$(p lhr --name "Bilal Ahmed" --gender male --birth-year 1998 --area urban --district "D.G. Khan")
a3=$(p lhr --name "عائشہ بی بی" --gender female --birth-year 1999 --area rural)
b1=$(p psh --name "Gul Zaman" --gender male --birth-year 2000 --district Peshawar)
b2=$(p psh --name "Ayesha K." --gender female --birth-year 2001 --cnic 3520212345672)
e1=$("$N" -d "$T/lhr" event add --kind bootcamp --title "Upwork bootcamp" --date 2026-10-05)
e2=$("$N" -d "$T/psh" event add --kind awareness --title "Rights" --date 2026-11-10)
for x in $a1 $a2 $a3; do "$N" -d "$T/lhr" attend "$e1" "$x" >/dev/null; done
"$N" -d "$T/psh" attend "$e2" "$b1" >/dev/null
"$N" -d "$T/psh" attend "$e2" "$b2" >/dev/null
"$S" -d "$T/srv" run --bind "$EP" --http 127.0.0.1:0 > "$T/srv.log" 2>&1 & pid=$!
for i in $(seq 50); do grep -q serving "$T/srv.log" && break; sleep 0.1; done
"$N" -d "$T/lhr" sync; "$N" -d "$T/psh" sync
kill $pid; wait $pid || true
"$S" -d "$T/srv" totals
"$S" -d "$T/srv" totals --format csv --metric attendances --by province
