// The dashboard's date-range helpers (web/dashboard.js), run with node: the
// "last N days" ranges end today and count N days (across month, year and
// leap-day boundaries), a range reads back as the choice that made it, and
// anything else is a custom range.  Exit 0 pass, 1 fail.
"use strict";
const path = require("path");
const assert = require("assert");
const dash = require(path.join(__dirname, "..", "..", "web", "dashboard.js"));

let n = 0;
function check(name, got, want) {
  assert.deepStrictEqual(got, want, name);
  n++;
}

check("last 7 days end today", dash.daysBefore("2026-03-10", 7), "2026-03-04");
check("last 1 day is today", dash.daysBefore("2026-03-10", 1), "2026-03-10");
check("across a leap day", dash.daysBefore("2024-03-01", 2), "2024-02-29");
check("across a year", dash.daysBefore("2026-01-15", 30), "2025-12-17");
check("365 days", dash.daysBefore("2026-11-30", 365), "2025-12-01");
const today = "2026-11-30";
for (const d of [7, 30, 90, 365])
  check(`last ${d} days reads back`, dash.daysChoice({ from: dash.daysBefore(today, d), to: today }, today), String(d));
check("no range", dash.daysChoice({ from: "", to: "" }, today), "");
check("a range ending yesterday is custom",
      dash.daysChoice({ from: dash.daysBefore("2026-11-29", 7), to: "2026-11-29" }, today), "custom");
check("an open end is custom", dash.daysChoice({ from: "2026-01-01", to: "" }, today), "custom");
check("range text", dash.rangeText({ from: "2026-01-01", to: "2026-03-31" }), "2026-01-01 – 2026-03-31");
check("range text, open end", dash.rangeText({ from: "2026-01-01", to: "" }), "from 2026-01-01");
check("no range text", dash.rangeText({ from: "", to: "" }), "");
console.log(`PASS date range: ${n} checks passed, 0 failed`);
