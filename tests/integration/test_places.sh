#!/usr/bin/env bash
# Places are reference data (issue 11): enrollment matches province and
# district against the master list ("KPK", "Khyber Pakhtunkhwa" and
# "khyber pakhtunkhwa" are one province; unknown names are refused with the
# closest names; a district must belong to its province); a person's home
# district counts under its official name or as unknown (no more
# "D.g. Khan"); headquarters imports an updated list as a new version and
# the totals are recounted under it, still equal to a rebuild.  A running
# server takes an imported list and a renamed or moved centre without a
# restart: its merger, its HTTP answers and its home filters.
source "$(dirname "$0")/lib.sh"
checks=0
ok() { checks=$((checks + 1)); }
server_init
HTTP_PORT=$(free_port)
server_start --http "127.0.0.1:$HTTP_PORT"
api() { curl -fsS --max-time 20 "http://127.0.0.1:$HTTP_PORT$1"; }
jget() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }

note "one province however it is written"
node_new k1 "Centre K1" e-rozgar KPK Peshawar
node_new k2 "Centre K2" e-rozgar "Khyber Pakhtunkhwa" "D.I. Khan"
node_new k3 "Centre K3" innovista "khyber pakhtunkhwa" mardan
node_new p1 "Centre P1" e-rozgar punjab "dg khan"
"$SERVER" -d "$T/srv" register | grep -c "Khyber Pakhtunkhwa)" | grep -qx 3 || fail "register: $("$SERVER" -d "$T/srv" register)"
"$SERVER" -d "$T/srv" register | grep -q "Centre K2 (Dera Ismail Khan, Khyber Pakhtunkhwa)" ||
  fail "district not official: $("$SERVER" -d "$T/srv" register)"; ok

note "unknown places are refused with the closest names"
"$NODE" -d "$T/x" init > "$T/x.init"
tok=$(awk '/^enroll-token:/ {print $2}' "$T/x.init")
refused() { # expect a refusal whose message contains $1
  local want=$1; shift
  set +e; "$SERVER" -d "$T/srv" enroll --token "$tok" --centre "Centre X" --programme other "$@" \
    > "$T/refused.out" 2>&1; local rc=$?; set -e
  expect_eq "$rc" 1 "exit code of a refused enrollment ($*)"
  grep -q "$want" "$T/refused.out" || fail "enroll $*: $(cat "$T/refused.out")"; ok
}
refused "unknown province 'Punjb'; did you mean 'Punjab'" --province Punjb --district Lahore
refused "unknown district 'Lahor' in Punjab; did you mean 'Lahore'" --province Punjab --district Lahor
refused "district 'Lahore' is in Punjab, not in Sindh" --province Sindh --district Lahore
refused "unknown province 'Atlantis'" --province Atlantis --district Lahore
"$SERVER" -d "$T/srv" nodes | grep -q "Centre X" && fail "a refused enrollment was recorded"

note "home districts count under their official names"
for n in k1 k2 k3 p1; do
  for home in "D.G. Khan" "DG Khan" "dera ghazi khan" "Lahore Cantt"; do
    node "$n" person add --name "P $n $home" --gender female --birth-year 2000 --date 2026-10-10 \
      --district "$home" > /dev/null
  done
  node "$n" sync > /dev/null || fail "sync $n"
done
merged
"$SERVER" -d "$T/srv" totals --format csv --metric registered --by home > "$T/home.csv"
expect_eq "$(cat "$T/home.csv")" "$(printf 'period,home,count\nall,Dera Ghazi Khan,12\nall,unknown,4')" \
  "registrations by home district"; ok
"$SERVER" -d "$T/srv" totals --format csv --metric registered --by province > "$T/prov.csv"
expect_eq "$(cat "$T/prov.csv")" "$(printf 'period,province,count\nall,Khyber Pakhtunkhwa,12\nall,Punjab,4')" \
  "registrations by province"; ok
expect_eq "$(total --metric registered --where "home=D.G. Khan")" 12 "a filter by an alias"; ok

note "headquarters imports an updated list: a new version, totals recounted"
sed 's/^district\tPunjab\tLahore\tLHR$/district\tPunjab\tLahore\tLHR;Lahore Cantt/; s/^version\t.*/version\t2026-12-01.1/' \
  "$(dirname "$0")/../../data/places.tsv" > "$T/places-v2.tsv"
grep -q "Lahore Cantt" "$T/places-v2.tsv" || fail "test list not made"
"$SERVER" -d "$T/srv" places import "$T/places-v2.tsv" > "$T/import.out" || fail "import: $(cat "$T/import.out")"
grep -q "places version 2" "$T/import.out" || fail "import: $(cat "$T/import.out")"
# No restart: the running server follows the import by itself.
merged
"$SERVER" -d "$T/srv" totals --format csv --metric registered --by home > "$T/home2.csv"
expect_eq "$(cat "$T/home2.csv")" "$(printf 'period,home,count\nall,Dera Ghazi Khan,12\nall,Lahore,4')" \
  "registrations by home district under version 2"; ok
"$SERVER" -d "$T/srv" places | grep -Eq '^2 +.* 2026-12-01\.1 ' || fail "versions: $("$SERVER" -d "$T/srv" places)"; ok
node k1 person add --name "After import" --gender male --birth-year 1999 --date 2026-10-11 \
  --district "lahore cantt" > /dev/null
node k1 sync > /dev/null || fail "sync after import"
expect_eq "$(total --metric registered --where home=Lahore)" 5 \
  "a person synced after the import, counted by the running server under version 2"; ok
grep -q "places version 2 in force (was 1)" "$T/server.log" || fail "the server did not say it took version 2"
expect_eq "$(api "/api/totals?metric=registered&home=Lahore%20Cantt" | jget "d['total']")" 5 \
  "an HTTP home filter by an alias of version 2 (no restart)"; ok
"$SERVER" -d "$T/srv" verify > "$T/verify.out" || fail "verify after import: $(tail -n 3 "$T/verify.out")"; ok
set +e; "$SERVER" -d "$T/srv" places import "$T/places-v2.tsv" > "$T/again.out" 2>&1; rc=$?; set -e
expect_eq "$rc" 1 "re-importing the list in force"
grep -q "already in force" "$T/again.out" || fail "re-import: $(cat "$T/again.out")"; ok
note "the totals under version 1 are reproduced by importing it again"
"$SERVER" -d "$T/srv" places show 1 > "$T/v1.tsv"
cmp -s "$T/v1.tsv" "$(dirname "$0")/../../data/places.tsv" || fail "places show 1 is not the list imported"
"$SERVER" -d "$T/srv" places import "$T/v1.tsv" > "$T/import3.out" || fail "import: $(cat "$T/import3.out")"
merged
"$SERVER" -d "$T/srv" totals --format csv --metric registered --by home > "$T/home3.csv"
expect_eq "$(cat "$T/home3.csv")" "$(printf 'period,home,count\nall,Dera Ghazi Khan,12\nall,unknown,5')" \
  "registrations by home district under version 1 again"; ok
printf 'version\tbad\nprovince\tPunjab\t\ndistrict\tSindh\tKarachi\t\n' > "$T/bad.tsv"
set +e; "$SERVER" -d "$T/srv" places import "$T/bad.tsv" > "$T/bad.out" 2>&1; rc=$?; set -e
expect_eq "$rc" 1 "importing a malformed list"
grep -q "bad.tsv:3: district of province 'Sindh', not declared above" "$T/bad.out" || fail "bad list: $(cat "$T/bad.out")"
"$SERVER" -d "$T/srv" places | grep -q "^3 versions" || fail "a malformed list became a version"; ok
note "a centre renamed and moved while the server runs"
"$SERVER" -d "$T/srv" centre rename "Centre P1" "Centre P1 Main" > /dev/null
api /api/centres | jget "sorted(c['centre'] for c in d['centres'])" | grep -q "'Centre P1 Main'" ||
  fail "/api/centres after a rename: $(api /api/centres)"; ok
"$SERVER" -d "$T/srv" centre move "Centre K3" --province Sindh --district Sukkur > /dev/null
node k3 person add --name "After move" --gender male --birth-year 1990 --date 2026-10-12 > /dev/null
node k3 sync > /dev/null || fail "sync after move"
merged
expect_eq "$(api "/api/totals?metric=registered&province=Sindh" | jget "d['total']")" 5 \
  "registrations of the moved centre under Sindh (no restart)"; ok
"$SERVER" -d "$T/srv" verify > "$T/verify2.out" || fail "verify after a move: $(tail -n 3 "$T/verify2.out")"; ok
echo "PASS places: $checks checks passed, 0 failed (one province per spelling, refusals with suggestions, official home districts, versioned import)"
