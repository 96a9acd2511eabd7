#!/usr/bin/env bash
# Progress display (issue 10): a sync of a large backlog run on a terminal (a
# pty made by python3's pty module) redraws one line in place: carriage
# returns, a bar, counts of the total, a rate; the same sync with its output
# in a file prints plain periodic lines (no carriage return, no escape
# codes) ending in ", done".  Outcomes (exact totals) are checked too.
source "$(dirname "$0")/lib.sh"
checks=0
ok() { checks=$((checks + 1)); }
server_init
node_new tty "Centre T" e-rozgar Punjab Lahore
node_new log "Centre L" e-rozgar Punjab Lahore
python3 - "$T/p.csv" 20000 <<'PY'
import sys
path, n = sys.argv[1], int(sys.argv[2])
with open(path, "w") as f:
    f.write("name,gender,birth_year,cnic,phone,district,area,skill,reg_date\n")
    for k in range(n):
        f.write(f"P {k},{'female' if k % 2 else 'male'},{1980 + k % 25},,,Lahore,urban,"
                f"white-collar,2026-10-{1 + k % 28:02d}\n")
PY
node tty import persons "$T/p.csv" > /dev/null
node log import persons "$T/p.csv" > /dev/null
server_start

note "on a terminal"
python3 - "$NODE" "$T/tty" "$T/tty.out" <<'PY'
import os, pty, sys
node, d, out = sys.argv[1], sys.argv[2], sys.argv[3]
pid, fd = pty.fork()
if pid == 0:
    os.execv(node, [node, "-d", d, "sync", "--window", "1"])
data = b""
while True:
    try:
        chunk = os.read(fd, 65536)
    except OSError:
        break
    if not chunk:
        break
    data += chunk
_, status = os.waitpid(pid, 0)
open(out, "wb").write(data)
sys.exit(os.waitstatus_to_exitcode(status))
PY
tr -cd '\r' < "$T/tty.out" | wc -c > "$T/cr"
redraws=$(cat "$T/cr")
[ "$redraws" -ge 2 ] || fail "no redraws on a terminal: $(head -c 300 "$T/tty.out" | od -c | head)"; ok
grep -aq 'sync \[#*\.*\] [0-9]*/20001 entries ([0-9]*%), [0-9]*/s' "$T/tty.out" || fail "no bar with counts and rate"; ok
grep -aq 'sync \[##############################\] 20001/20001 entries (100%)' "$T/tty.out" || fail "the bar did not end full"; ok
grep -aq "20001 entries delivered" "$T/tty.out" || fail "no summary on the terminal"; ok

note "into a file (a log, the journal)"
RZ_PROGRESS_MS=100 "$NODE" -d "$T/log" sync --window 1 > "$T/log.out" 2> "$T/log.err" || fail "sync into a file"
lines=$(grep -c '^sync: [0-9]*/20001 entries ([0-9]*%), [0-9]*/s' "$T/log.err" || true)
[ "$lines" -ge 2 ] || fail "expected periodic plain lines, got: $(cat "$T/log.err")"; ok
grep -q '^sync: 20001/20001 entries (100%), [0-9]*/s, done$' "$T/log.err" || fail "no final plain line"; ok
if grep -q $'\r\|\x1b' "$T/log.err"; then fail "terminal codes in a log"; fi; ok
grep -q "20001 entries delivered" "$T/log.out" || fail "no summary in the file"; ok
expect_eq "$(total --metric registered)" 40000 "registered"; ok
echo "  check: progress tty-redraws=$redraws plain-lines=$lines checks=$checks"
