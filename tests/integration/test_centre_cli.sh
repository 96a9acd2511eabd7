#!/usr/bin/env bash
# The centre's daily work from the command line, as staff would do it
# without ids (issue 9): person find by name (Urdu too), CNIC and phone;
# attend by short codes; the duplicate warning; import of people, events and
# attendance with a bad row (nothing imported, its line named), a dry run, a
# re-import and a longer file adding only new rows, DD/MM/YYYY dates; an
# export that opens in Excel (BOM, CRLF) with mode 0600; and the audit
# trail naming the operating-system user.
source "$(dirname "$0")/lib.sh"
checks=0
ok() { checks=$((checks + 1)); }
N() { "$NODE" -d "$T/n" "$@"; }

N init > /dev/null
N person add --name "Ayesha Khan" --gender female --birth-year 2001 --cnic 35202-1234567-1 \
  --phone "0300 1234567" --district Lahore > /dev/null 2> "$T/add1.err"
code1=$(sed -n 's/^rozgar-node: short code //p' "$T/add1.err")
[ -n "$code1" ] || fail "person add printed no short code: $(cat "$T/add1.err")"; ok
N person add --name "عائشہ بی بی" --gender female --birth-year 1999 --phone abc \
  > /dev/null 2> "$T/add2.err"
grep -q "phone: This is not a Pakistani phone number" "$T/add2.err" || fail "no phone warning"; ok
N person add --name "ayesha khan" --gender f --birth-year 2001 > /dev/null 2> "$T/add3.err"
grep -q "may already be registered as $code1 (same name and birth year)" "$T/add3.err" ||
  fail "no duplicate warning: $(cat "$T/add3.err")"; ok

N person find "بی بی" > "$T/f.out" 2> /dev/null
expect_eq "$(cut -f2 "$T/f.out")" "عائشہ بی بی" "find by Urdu part of a name"; ok
for q in 3520212345671 35202-1234567-1 "+92 300 1234567" 03001234567 KHAN "$code1"; do
  N person find "$q" > "$T/f.out" 2> /dev/null
  cut -f1 "$T/f.out" | grep -qx "$code1" || fail "find '$q' misses Ayesha: $(cat "$T/f.out")"; ok
done

N event add --kind training --title "Freelancing 101" --date 14/03/2026 > /dev/null 2> "$T/ev.err"
ecode=$(sed -n 's/^rozgar-node: short code //p' "$T/ev.err")
N attend "$ecode" "$(echo "$code1" | tr 'A-Z' 'a-z')" || fail "attend by short codes"
N show "$ecode" | grep -q "attendance: 1 present, 0 absent" || fail "attendance not recorded"; ok
set +e; N attend "$ecode" "${code1%?}Z" 2> "$T/typo.err"; rc=$?; set -e
expect_eq "$rc" 1 "exit code of a mistyped code"
grep -q "check letter\|no person" "$T/typo.err" || fail "typo not explained: $(cat "$T/typo.err")"; ok

# Import: one bad row refuses the whole file, naming its line.
printf 'Full Name,CNIC No,Mobile,Year of Birth,District,M/F\r\n' > "$T/p.csv"
printf 'Bilal Ahmed,,0321-7654321,1990,Multan,M\r\n' >> "$T/p.csv"
printf 'Sara,,,2004,Karachi,q\r\n' >> "$T/p.csv"
set +e; N import people "$T/p.csv" > /dev/null 2> "$T/imp.err"; rc=$?; set -e
expect_eq "$rc" 1 "exit code of an import with a bad row"
grep -q "p.csv:3: gender" "$T/imp.err" || fail "bad row not named: $(cat "$T/imp.err")"
expect_eq "$(N person find Bilal 2>/dev/null | wc -l)" 0 "rows imported from a refused file"; ok
sed -i 's/,q\r$/,f\r/' "$T/p.csv"
N import people "$T/p.csv" --dry-run > "$T/dry.out" 2> /dev/null
grep -q "2 would be added" "$T/dry.out" || fail "dry run: $(cat "$T/dry.out")"
expect_eq "$(N person find Bilal 2>/dev/null | wc -l)" 0 "rows recorded by a dry run"; ok
N import people "$T/p.csv" > "$T/imp.out" 2> /dev/null
grep -q "2 added, 0 already here" "$T/imp.out" || fail "import: $(cat "$T/imp.out")"; ok
N import people "$T/p.csv" > "$T/imp.out" 2> /dev/null
grep -q "0 added, 2 already here" "$T/imp.out" || fail "re-import: $(cat "$T/imp.out")"; ok
printf 'Zainab,,,1995,Lahore,f\r\n' >> "$T/p.csv"
N import people "$T/p.csv" > "$T/imp.out" 2> /dev/null
grep -q "1 added, 2 already here" "$T/imp.out" || fail "longer file: $(cat "$T/imp.out")"; ok

printf 'Event Title,Event Date,CNIC,Present\n' > "$T/a.csv"
printf 'Freelancing 101,14/03/2026,35202-1234567-1,A\n' >> "$T/a.csv"
N import attendance "$T/a.csv" > /dev/null 2>&1 || fail "attendance import"
N show "$ecode" | grep -q "attendance: 0 present, 1 absent" || fail "attendance import not applied"; ok

# The event's list for ticking names, and events past and upcoming.
N event roster "$ecode" --marked > "$T/r.out" 2> "$T/r.err"
expect_eq "$(cat "$T/r.out")" "$code1"$'\t'"Ayesha Khan"$'\t'"absent" "roster of marked people"
grep -q "0 present, 1 absent" "$T/r.err" || fail "roster counts: $(cat "$T/r.err")"; ok
N event add --kind workshop --title "Later" --date 2999-01-01 > /dev/null 2>&1
expect_eq "$(N event list --upcoming 2>/dev/null | cut -f4)" "Later" "upcoming events"
expect_eq "$(N event list --past 2>/dev/null | cut -f4)" "Freelancing 101" "past events"; ok

# Export: BOM, CRLF, 0600, a guarded cell.
N export people "$T/out.csv" > /dev/null
expect_eq "$(stat -c %a "$T/out.csv")" 600 "export file mode"
expect_eq "$(head -c 3 "$T/out.csv" | od -An -tx1 | tr -d ' ')" efbbbf "export byte-order mark"
grep -q $'\r$' "$T/out.csv" || fail "export without CRLF"
grep -q ",35202-1234567-1,'+923001234567," "$T/out.csv" || fail "CNIC/phone cells: $(cat "$T/out.csv")"; ok
N import people "$T/out.csv" > "$T/imp.out" 2> /dev/null
grep -q " 0 added" "$T/imp.out" || fail "exported file re-imported: $(cat "$T/imp.out")"; ok

# Audit: who made each change.
N audit --limit 100 > "$T/audit.out"
user=$(id -un)
grep -q $'\t'"os:$user"$'\tattendance\tset\t'"$ecode $code1" "$T/audit.out" ||
  fail "audit: $(head -5 "$T/audit.out")"; ok
echo "PASS centre cli: $checks checks"
