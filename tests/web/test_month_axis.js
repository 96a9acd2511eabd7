// The dashboard's month axis (web/dashboard.js monthAxis), run with node:
// months that have only training must stay on the axis (issue 11), the
// year view runs January to this month, all time spans first to last
// month of any series.  Exit 0 pass, 1 fail.
"use strict";
const path = require("path");
const assert = require("assert");
const dash = require(path.join(__dirname, "..", "..", "web", "dashboard.js"));

let n = 0;
function check(name, got, want) {
  assert.deepStrictEqual(got, want, name);
  n++;
}

const reg = [{ period: "2026-03", count: 4 }, { period: "2026-05", count: 2 },
             { period: "unknown", count: 1 }];
const trained = [{ period: "2026-01", count: 3 }, { period: "2026-07", count: 5 }];

check("all time: the axis spans training-only months before and after registrations",
      dash.monthAxis("", [reg, trained], "2026-11"),
      ["2026-01", "2026-02", "2026-03", "2026-04", "2026-05", "2026-06", "2026-07"]);
check("all time, registrations only",
      dash.monthAxis("", [reg, []], "2026-11"),
      ["2026-03", "2026-04", "2026-05"]);
check("all time, training only (no registration in the view at all)",
      dash.monthAxis("", [[], trained], "2026-11"),
      ["2026-01", "2026-02", "2026-03", "2026-04", "2026-05", "2026-06", "2026-07"]);
check("nothing on record", dash.monthAxis("", [[], null], "2026-11"), []);
check("this year: January to this month",
      dash.monthAxis("2026", [reg, trained], "2026-08").length, 8);
check("this year, a browser clock behind the data's last month",
      dash.monthAxis("2026", [reg, trained], "2026-06").slice(-1)[0], "2026-07");
check("a past year: all twelve months", dash.monthAxis("2025", [[], []], "2026-11").length, 12);
check("across a year boundary",
      dash.monthAxis("", [[{ period: "2025-11", count: 1 }], [{ period: "2026-02", count: 1 }]], "2026-11"),
      ["2025-11", "2025-12", "2026-01", "2026-02"]);
console.log(`PASS month axis: ${n} checks passed, 0 failed`);
