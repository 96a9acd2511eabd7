#!/usr/bin/env bash
# A unique count is not a sum (issue 11): three people each trained in
# January, February and March are 3 trainees of the quarter, not 3+3+3.
# The API's total (and the CLI's) counts each person once for the whole
# window and says that the per-month rows do not add up to it.
source "$(dirname "$0")/lib.sh"
server_init
HTTP_PORT=$(free_port)
server_start --http "127.0.0.1:$HTTP_PORT"
node_new c1 "Centre Unique" e-rozgar Punjab Lahore
ps=()
for i in 1 2 3; do
  ps+=("$(node c1 person add --name "Trainee $i" --gender female --birth-year 2000 --date 2026-01-02)")
done
for d in 2026-01-10 2026-02-10 2026-03-10; do
  e=$(node c1 event add --kind training --title "Session $d" --date "$d")
  for p in "${ps[@]}"; do node c1 attend "$e" "$p" > /dev/null; done
done
node c1 sync > /dev/null || fail "sync"
merged
api() { curl -fsS --max-time 20 "http://127.0.0.1:$HTTP_PORT$1"; }
py() { python3 -c "import json,sys; b=json.load(sys.stdin); print($1)"; }

body=$(api "/api/totals?metric=trainees&grain=month&period=2026-Q1")
expect_eq "$(echo "$body" | py 'sum(r["count"] for r in b["rows"])')" 9 "sum of the monthly rows"
expect_eq "$(echo "$body" | py 'b["total"]')" 3 "API total of trainees over three months"
expect_eq "$(echo "$body" | py 'b["rows_add_up"]')" False "API says the rows do not add up"
echo "$body" | py 'b["note"]' | grep -q "unique persons" || fail "no note: $body"
body=$(api "/api/totals?metric=trainees&grain=month")
expect_eq "$(echo "$body" | py 'b["total"]')" 3 "API total of trainees, all time by month"
body=$(api "/api/totals?metric=attendances&grain=month&period=2026-Q1")
expect_eq "$(echo "$body" | py 'b["total"]')" 9 "attendances do add up"
expect_eq "$(echo "$body" | py 'b["rows_add_up"]')" True "attendances rows add up"
body=$(api "/api/totals?metric=trainees&period=2026-Q1")
expect_eq "$(echo "$body" | py 'b["rows_add_up"]')" True "one row for the window adds up"
curl -fsS --max-time 20 "http://127.0.0.1:$HTTP_PORT/api/totals.csv?metric=trainees&grain=month&period=2026-Q1" > "$T/t.csv"
grep -q "^# 3 people in all; trainees are unique persons" "$T/t.csv" || fail "CSV without the note: $(cat "$T/t.csv")"
curl -fsS --max-time 20 "http://127.0.0.1:$HTTP_PORT/api/totals.csv?metric=attendances&grain=month&period=2026-Q1" > "$T/a.csv"
grep -q "people in all" "$T/a.csv" && fail "a note on rows that add up: $(cat "$T/a.csv")"
cli=$("$SERVER" -d "$T/srv" totals --wait --timeout 120 --metric trainees --grain month --period 2026-Q1 --format json)
expect_eq "$(echo "$cli" | py 'b["total"]')" 3 "CLI total of trainees over three months"
"$SERVER" -d "$T/srv" totals --metric trainees --grain month --period 2026-Q1 | grep -Eq '^total +3 +\(unique' ||
  fail "CLI text total: $("$SERVER" -d "$T/srv" totals --metric trainees --grain month --period 2026-Q1)"
echo "PASS unique total: 3 trainees over 3 months (rows sum 9), rows_add_up false, attendances 9 add up"
