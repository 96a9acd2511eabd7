#!/usr/bin/env python3
"""Differencing attack on the public catalogue, with exact rational arithmetic.

Fetches the whole public catalogue (/public/catalogue.json), writes down
the linear system it publishes, and solves it:

  unknowns   every suppressed cell
  equations  every additive relation a reader can infer from the labels
             alone (not from the server's word): national = sum of
             provinces, province = sum of its districts, year = its four
             quarters, fiscal year FYyyyy-yy = Q3, Q4 of yyyy and Q1, Q2 of
             the next year; for each metric and period / place.  Published
             cells move to the right-hand side.

The system is brought to reduced row echelon form over the rationals
(fractions.Fraction, no floating point); a suppressed cell is determined
exactly when its echelon row is a unit vector, and then its value is that
row's right-hand side.  Relations whose cells are all published must hold
exactly (a check that the published figures and the inferred structure
are right).

Modes:
  attack.py --public URL --expect-safe
      exit 0 when no suppressed cell is determined (prints the counts).
  attack.py --public URL --private URL --expect-leak
      rebuilds the same catalogue from the private API's true figures
      (/api/totals by province and district per quarter), checks that every
      figure the public catalogue publishes equals the true one, then
      applies naive primary-only suppression (cells 1..4 withheld, nothing
      else) and attacks that: exit 0 when the attack recovers at least one
      withheld cell, and with the true value, i.e. proves this attack can
      fail a catalogue.
"""
import argparse
import json
import sys
import urllib.request
from fractions import Fraction

THRESHOLD = 5


def fetch(url):
    with urllib.request.urlopen(url, timeout=60) as r:
        return json.loads(r.read().decode("utf-8"))


def quarters_of(label):
    """The quarters a period label covers, derived from the label alone."""
    if label.startswith("FY"):
        y = int(label[2:6])
        assert label == "FY%04d-%02d" % (y, (y + 1) % 100), label
        return ["%d-Q3" % y, "%d-Q4" % y, "%d-Q1" % (y + 1), "%d-Q2" % (y + 1)]
    if len(label) == 4:
        return ["%s-Q%d" % (label, q) for q in range(1, 5)]
    return None


def relations(cat):
    """Yields (total_key, [part_keys]) with key = (metric, level, prov, dist, period)."""
    places = [(p["level"], p["province"], p["district"]) for p in cat["places"]]
    periods = [p["period"] for p in cat["periods"]]
    pset = set(periods)
    for m in cat["metrics"]:
        for t in periods:
            nat = (m, "national", "", "", t)
            provs = [(m, "province", pr, "", t) for (lv, pr, d) in places if lv == "province"]
            if provs:
                yield nat, provs
            for (lv, pr, d) in places:
                if lv != "province":
                    continue
                dists = [(m, "district", pr, dd, t) for (l2, p2, dd) in places
                         if l2 == "district" and p2 == pr]
                if dists:
                    yield (m, "province", pr, "", t), dists
        for (lv, pr, d) in places:
            for t in periods:
                qs = quarters_of(t)
                if qs is None:
                    continue
                assert all(q in pset for q in qs), (t, qs)
                yield (m, lv, pr, d, t), [(m, lv, pr, d, q) for q in qs]


def cell_key(c):
    return (c["metric"], c["level"], c["province"], c["district"], c["period"])


def solve(cat, values):
    """values: key -> int or None (suppressed).  Returns (determined dict, counts)."""
    unknown = {k for k, v in values.items() if v is None}
    rows = []
    checked = 0
    for total, parts in relations(cat):
        coef = {total: Fraction(1)}
        for p in parts:
            coef[p] = coef.get(p, Fraction(0)) - 1
        row, rhs = {}, Fraction(0)
        for k, c in coef.items():
            if k not in values:
                raise SystemExit("relation names a cell the catalogue lacks: %r" % (k,))
            if k in unknown:
                row[k] = c
            else:
                rhs -= c * values[k]
        if row:
            rows.append((row, rhs))
        else:
            checked += 1
            if rhs != 0:
                raise SystemExit("published figures break %r = sum %r" % (total, parts))
    # Sparse Gauss-Jordan over Q.
    pivots = {}  # column -> (row, rhs), row normalised to 1 at column
    for row, rhs in rows:
        row = dict(row)
        for col, (prow, prhs) in pivots.items():
            f = row.get(col)
            if f:
                for k, v in prow.items():
                    nv = row.get(k, Fraction(0)) - f * v
                    if nv:
                        row[k] = nv
                    else:
                        row.pop(k, None)
                rhs -= f * prhs
        if not row:
            if rhs != 0:
                raise SystemExit("inconsistent published system")
            continue
        col = min(row, key=lambda k: (len(k), k))
        piv = row[col]
        row = {k: v / piv for k, v in row.items()}
        rhs = rhs / piv
        for c2, (prow, prhs) in list(pivots.items()):
            f = prow.get(col)
            if f:
                for k, v in row.items():
                    nv = prow.get(k, Fraction(0)) - f * v
                    if nv:
                        prow[k] = nv
                    else:
                        prow.pop(k, None)
                pivots[c2] = (prow, prhs - f * rhs)
        pivots[col] = (row, rhs)
    determined = {col: rhs for col, (row, rhs) in pivots.items() if len(row) == 1}
    return determined, {"cells": len(values), "suppressed": len(unknown),
                        "equations": len(rows), "checked": checked, "rank": len(pivots)}


def truth_values(cat, private):
    """Every catalogue cell computed from the private API's true leaves."""
    periods = [p["period"] for p in cat["periods"]]
    places = [(p["level"], p["province"], p["district"]) for p in cat["places"]]
    leaf = {}
    for m in cat["metrics"]:
        ans = fetch("%s/api/totals?metric=%s&by=province&by2=district&grain=quarter"
                    % (private, m))
        for r in ans["rows"]:
            if r["period"] in ("unknown", ""):
                continue
            k = (m, r["province"], r["district"], r["period"])
            leaf[k] = leaf.get(k, 0) + r["count"]
    vals = {}
    for m in cat["metrics"]:
        for (lv, pr, d) in places:
            for t in periods:
                qs = quarters_of(t) or [t]
                vals[(m, lv, pr, d, t)] = sum(
                    n for (m2, p2, d2, q), n in leaf.items()
                    if m2 == m and q in qs and (lv == "national" or p2 == pr)
                    and (lv != "district" or d2 == d))
    covered = sum(n for (m2, p2, d2, q), n in leaf.items())
    listed = sum(vals[(m, "national", "", "", t)] for m in cat["metrics"]
                 for t in periods if quarters_of(t) is None)
    if covered != listed:
        raise SystemExit("catalogue misses figures: %d in quarters, %d listed" % (covered, listed))
    return vals


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--public", required=True)
    ap.add_argument("--private")
    ap.add_argument("--expect-safe", action="store_true")
    ap.add_argument("--expect-leak", action="store_true")
    a = ap.parse_args()
    cat = fetch(a.public.rstrip("/") + "/public/catalogue.json")
    published = {}
    for c in cat["cells"]:
        if c["suppressed"]:
            if c["value"] is not None:
                raise SystemExit("suppressed cell carries a value: %r" % c)
            published[cell_key(c)] = None
        else:
            if not isinstance(c["value"], int):
                raise SystemExit("published cell without a number: %r" % c)
            if 0 < c["value"] < THRESHOLD:
                raise SystemExit("a count under %d is published: %r" % (THRESHOLD, c))
            published[cell_key(c)] = c["value"]

    if a.expect_safe:
        det, n = solve(cat, published)
        print("attack: %(cells)d cells, %(suppressed)d suppressed, %(equations)d equations "
              "with unknowns (rank %(rank)d), %(checked)d fully published relations hold" % n)
        print("attack: %d suppressed cells determined" % len(det))
        for k, v in sorted(det.items())[:20]:
            print("  determined %r = %s" % (k, v))
        if n["suppressed"] == 0:
            print("attack: FAIL: nothing suppressed, the data cannot exercise the attack")
            return 1
        return 1 if det else 0

    if a.expect_leak:
        truth = truth_values(cat, a.private.rstrip("/"))
        wrong = [k for k, v in published.items() if v is not None and v != truth[k]]
        if wrong:
            print("attack: FAIL: published figures differ from the true ones: %r" % wrong[:5])
            return 1
        hidden = [k for k, v in published.items() if v is None]
        if any(truth[k] == 0 for k in hidden):
            pass  # a withheld zero (complement) is allowed
        naive = {k: (None if 0 < v < THRESHOLD else v) for k, v in truth.items()}
        det, n = solve(cat, naive)
        right = [k for k, v in det.items() if v == truth[k]]
        print("attack on primary-only suppression: %(cells)d cells, %(suppressed)d suppressed, "
              "%(equations)d equations (rank %(rank)d)" % n)
        print("attack on primary-only suppression: %d of %d suppressed cells recovered, "
              "%d with their true value" % (len(det), n["suppressed"], len(right)))
        for k in sorted(right)[:5]:
            print("  recovered %r = %s" % (k, truth[k]))
        return 0 if det and len(right) == len(det) else 1
    ap.error("give --expect-safe or --expect-leak")
    return 2


if __name__ == "__main__":
    sys.exit(main())
