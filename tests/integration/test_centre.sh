#!/usr/bin/env bash
# Renaming and moving a centre (issue 11): `rozgar-server centre rename|move`
# records a new version of the enrollment register; today's breakdowns by
# place follow it, the breakdowns as they stood at an earlier version are
# reproduced exactly by `totals --register-version N` and the API's
# register_version parameter (a bad value is a clear 400), and verify /
# rebuild agree before and after.
source "$(dirname "$0")/lib.sh"
checks=0
ok() { checks=$((checks + 1)); }
server_init
HTTP_PORT=$(free_port)
server_start --http "127.0.0.1:$HTTP_PORT"
api() { curl -sS --max-time 20 -o "$T/api.out" -w '%{http_code}' "http://127.0.0.1:$HTTP_PORT$1"; }
node_new l1 "Centre L" e-rozgar Punjab Lahore
node_new m1 "Centre M" innovista Punjab Multan
for n in l1 m1; do
  for i in 1 2 3; do
    node "$n" person add --name "P $n $i" --gender female --birth-year 2000 --date 2026-10-1$i \
      --district Lahore > /dev/null
  done
  node "$n" sync > /dev/null || fail "sync $n"
done
pm=$(node m1 person add --name "P m1 4" --gender male --birth-year 1990 --date 2026-10-14)
em=$(node m1 event add --kind workshop --title "Profiles" --date 2026-10-15)
node m1 attend "$em" "$pm" > /dev/null
node m1 sync > /dev/null || fail "sync m1"
merged
S() { "$SERVER" -d "$T/srv" "$@"; }
cuts() { # the breakdowns by place, at the register version given (or now)
  local v=("$@") q
  for q in "--by province" "--by district" "--by centre" "--by province --by gender" \
           "--metric registered --by programme --by district"; do
    # shellcheck disable=SC2086
    S totals --format csv $q "${v[@]}"
  done
}
before_version=$(S register | awk 'NR > 1 {v = $1} END {print v}')
cuts > "$T/before.csv"
grep -q "^all,Punjab,7$" "$T/before.csv" || fail "setup: $(cat "$T/before.csv")"
expect_eq "$(S totals --format csv --metric trainees --by province)" \
  "$(printf 'period,province,count\nall,Punjab,1')" "a trainee at Centre M, in Punjab"; ok

note "headquarters moves Centre M to Sukkur (Sindh) and renames Centre L"
S centre move "Centre M" --province sind --district sukkur > "$T/move.out" || fail "move: $(cat "$T/move.out")"
grep -q "centre 'Centre M' moved to Sukkur, Sindh" "$T/move.out" || fail "move: $(cat "$T/move.out")"; ok
S centre rename "Centre L" "e-Rozgar Lahore Main" > "$T/rename.out" || fail "rename: $(cat "$T/rename.out")"
after_version=$(S register | awk 'NR > 1 {v = $1} END {print v}')
expect_eq "$after_version" $((before_version + 2)) "two new register versions"
S register | grep -Eq "^$((before_version + 1)) .* move +- .*Centre M \(Sukkur, Sindh\)" ||
  fail "register: $(S register)"; ok
S totals --format csv --by province > "$T/now.csv"
expect_eq "$(cat "$T/now.csv")" "$(printf 'period,province,count\nall,Punjab,3\nall,Sindh,4')" \
  "today's totals by province follow the move"; ok
S totals --format csv --by centre | grep -q "^all,e-Rozgar Lahore Main,3$" || fail "rename not shown"; ok
# Trainee counters by place hold the place when merged: the move recounted them.
expect_eq "$(S totals --format csv --metric trainees --by province)" \
  "$(printf 'period,province,count\nall,Sindh,1')" "the trainee follows the move"; ok
expect_eq "$(S totals --format csv --metric trainees --by province --register-version "$before_version" | tail -n +2)" \
  "all,Punjab,1" "the trainee where the centre was at the earlier version"; ok

note "the totals as they stood at the earlier version are reproduced"
cuts --register-version "$before_version" > "$T/asof.csv"
diff "$T/before.csv" "$T/asof.csv" > "$T/diff.out" || fail "totals at version $before_version differ: $(cat "$T/diff.out")"; ok
cuts --register-version "$after_version" > "$T/asof2.csv"
cuts > "$T/now-all.csv"
diff "$T/now-all.csv" "$T/asof2.csv" > /dev/null || fail "totals at the newest version differ from today's"; ok

note "the API answers as at a register version (register_version)"
expect_eq "$(api "/api/totals.csv?by=province&register_version=$before_version")" 200 "totals.csv as of"
expect_eq "$(tail -n +2 "$T/api.out" | tr -d '\r')" "$(printf 'period,province,count\nall,Punjab,7')" \
  "the API's breakdown by province at the earlier version"; ok
head -n 1 "$T/api.out" | grep -q "places as at register version $before_version" ||
  fail "the CSV does not say which register version: $(head -n 1 "$T/api.out")"; ok
expect_eq "$(api "/api/totals?by=province&metric=trainees&register_version=$before_version")" 200 "totals as of"
python3 -c "import json,sys; d=json.load(open(sys.argv[1])); r=[(x['province'], x['count']) for x in d['rows']]; assert r == [('Punjab', 1)], r" \
  "$T/api.out" || fail "the trainee in Punjab at the earlier version (API): $(cat "$T/api.out")"; ok
python3 -c "import json,sys; d=json.load(open(sys.argv[1])); assert d['register_version'] == int(sys.argv[2]), d" \
  "$T/api.out" "$before_version" || fail "register_version not echoed: $(cat "$T/api.out")"; ok
expect_eq "$(api "/api/totals.csv?by=province")" 200 "totals.csv now"
expect_eq "$(tail -n +2 "$T/api.out" | tr -d '\r')" "$(printf 'period,province,count\nall,Punjab,3\nall,Sindh,4')" \
  "the pooled handle answers today's places again after an as-of request"; ok
expect_eq "$(api "/api/summary?province=Punjab&register_version=$before_version")" 200 "summary as of"
python3 -c "import json,sys; d=json.load(open(sys.argv[1])); assert d['registered'] == 7, d" "$T/api.out" ||
  fail "summary of Punjab as of version $before_version: $(cat "$T/api.out")"; ok
for bad in 0 -1 abc 1.5 "$((after_version + 1))" 99999999999999999999; do
  expect_eq "$(api "/api/totals?by=province&register_version=$bad")" 400 "register_version=$bad"
  grep -q "register version" "$T/api.out" || fail "register_version=$bad: $(cat "$T/api.out")"; ok
done
expect_eq "$(api "/api/totals?register_version=$((after_version + 1))")" 400 "a version beyond the newest"
grep -q "the register has versions 1 to $after_version" "$T/api.out" || fail "beyond: $(cat "$T/api.out")"; ok
expect_eq "$(api "/api/centres?register_version=1")" 400 "register_version on /api/centres"; ok
expect_eq "$(api /api/register)" 200 "/api/register"
python3 - "$T/api.out" "$after_version" "$((before_version + 1))" <<'PY' || fail "/api/register: $(cat "$T/api.out")"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["newest"] == int(sys.argv[2]), d
v = {x["version"]: x for x in d["versions"]}
assert v[int(sys.argv[2])]["action"] == "rename" and v[int(sys.argv[2])]["centre"] == "e-Rozgar Lahore Main", d
m = v[int(sys.argv[3])]
assert (m["action"], m["centre"], m["province"], m["district"]) == ("move", "Centre M", "Sindh", "Sukkur"), m
assert [x["version"] for x in d["versions"]] == sorted(v, reverse=True), d
PY
ok
set +e; S totals --by province --register-version "$((after_version + 1))" > "$T/cli.out" 2>&1; rc=$?; set -e
expect_eq "$rc" 1 "totals --register-version beyond the newest"
grep -q "the register has versions 1 to $after_version" "$T/cli.out" || fail "CLI beyond: $(cat "$T/cli.out")"; ok

note "verify and rebuild agree; the past stays reproducible after a rebuild"
S verify > "$T/verify.out" || fail "verify after the move: $(tail -n 3 "$T/verify.out")"; ok
S rebuild > "$T/rebuild.out" || fail "rebuild: $(tail -n 3 "$T/rebuild.out")"
cuts --register-version "$before_version" > "$T/asof3.csv"
diff "$T/before.csv" "$T/asof3.csv" > /dev/null || fail "totals at version $before_version differ after rebuild"; ok
cuts > "$T/now-rebuilt.csv"
diff "$T/now-all.csv" "$T/now-rebuilt.csv" > /dev/null || fail "today's totals changed by a rebuild"; ok

note "refusals"
refuse() { local want=$1; shift
  set +e; S centre "$@" > "$T/r.out" 2>&1; local rc=$?; set -e
  expect_eq "$rc" 1 "exit code of centre $*"
  grep -q "$want" "$T/r.out" || fail "centre $*: $(cat "$T/r.out")"; ok
}
refuse "no centre named 'Centre X'" rename "Centre X" "Centre Y"
refuse "a centre named 'Centre M' already exists" rename "e-Rozgar Lahore Main" "Centre M"
refuse "unknown district 'Sukur' in Sindh; did you mean 'Sukkur'" move "Centre M" --province Sindh --district Sukur
refuse "district 'Lahore' is in Punjab, not in Sindh" move "Centre M" --province Sindh --district Lahore
expect_eq "$(S register | awk 'NR > 1 {v = $1} END {print v}')" "$after_version" "refusals add no version"; ok
echo "PASS centre: $checks checks passed, 0 failed (rename and move are register versions; totals at an older version reproduced, also after rebuild)"
