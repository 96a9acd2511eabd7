#!/usr/bin/env python3
"""Compares the dashboard DOM chromium dumped after the page's JavaScript ran
with the JSON API answers fetched beside it (tests/browser/dashboard_test.sh).

Usage: check_dom.py DIR PROVINCE DISTRICT
DIR holds national.html, province.html, district.html, summary.json,
summary_prov.json, summary_dist.json, by_province.json, by_district.json,
by_centre.json, centres.json.  Prints each check; exits
non-zero on the first mismatch.
"""
import json
import math
import os
import sys
from html.parser import HTMLParser

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta",
        "source", "track", "wbr"}


class Node:
    def __init__(self, tag, attrs, parent):
        self.tag, self.attrs, self.parent = tag, dict(attrs), parent
        self.children = []

    def text(self):
        return "".join(c if isinstance(c, str) else c.text() for c in self.children)

    def find_all(self, pred):
        for c in self.children:
            if isinstance(c, Node):
                if pred(c):
                    yield c
                yield from c.find_all(pred)


class Tree(HTMLParser):
    def __init__(self, html):
        super().__init__(convert_charrefs=True)
        self.root = Node("#root", [], None)
        self.cur = self.root
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        n = Node(tag, attrs, self.cur)
        self.cur.children.append(n)
        if tag not in VOID:
            self.cur = n

    def handle_endtag(self, tag):
        n = self.cur
        while n is not self.root and n.tag != tag:
            n = n.parent
        if n is not self.root:
            self.cur = n.parent

    def handle_data(self, data):
        self.cur.children.append(data)

    def by_id(self, ident):
        for n in self.root.find_all(lambda x: x.attrs.get("id") == ident):
            return n
        raise AssertionError(f"no element #{ident} in the page")


def fmt(n):
    return "n/a" if n is None else f"{n:,}"


def pct(x):
    # The page's (Math.round(x * 1000) / 10).toFixed(1) + "%".
    return "n/a" if x is None else f"{math.floor(x * 1000 + 0.5) / 10:.1f}%"


def check(cond, what):
    if not cond:
        raise AssertionError(what)
    print(f"   ok  {what}")


def rows_of(tree, table_id):
    body = next(tree.by_id(table_id).find_all(lambda n: n.tag == "tbody"))
    return [[td.text().strip() for td in tr.find_all(lambda n: n.tag == "td")]
            for tr in body.children if isinstance(tr, Node) and tr.tag == "tr"]


def check_ready(tree, name):
    body = next(tree.root.find_all(lambda n: n.tag == "body"))
    state = body.attrs.get("data-state")
    if state != "ready":
        err = tree.by_id("error").text().strip()
        raise AssertionError(f"{name}: page state {state!r}, error box: {err!r}")
    print(f"   ok  {name}: scripts ran, page state ready")


def check_figures(tree, s, where):
    for key in ("registered", "trainees", "attendances", "events"):
        got = tree.by_id(f"kpi-{key}").text().strip()
        check(got == fmt(s[key]), f"{where}: {key} shows {got} = API {fmt(s[key])}")
    if s["registered"]:
        for key, el in (("women_share", "kpi-women"), ("youth_share", "kpi-youth")):
            got = tree.by_id(el).text().strip()
            check(got == pct(s[key]), f"{where}: {key} shows {got} = API {pct(s[key])}")


def check_charts(tree, where, place_points):
    for cid in ("chart-place", "chart-month", "chart-gender", "chart-kind"):
        c = tree.by_id(cid)
        check(c.tag == "canvas" and c.attrs.get("data-rendered") == "1",
              f"{where}: {cid} drawn by Chart.js")
    pts = tree.by_id("chart-place").attrs.get("data-points")
    check(pts == str(place_points), f"{where}: place chart has {pts} bars = API rows {place_points}")


def check_stale(tree, centres, prov, where):
    stale = sorted(x["centre"] for x in centres["centres"]
                   if x["stale"] and (prov is None or x["province"] == prov))
    if stale:
        shown = sorted(r[0] for r in rows_of(tree, "stale-table"))
        check(shown == stale, f"{where}: stale centres listed: {shown}")
    else:
        check("hidden" not in tree.by_id("stale-none").attrs,
              f"{where}: no stale centre, says every centre synced recently")


def main():
    d, prov, dist = sys.argv[1], sys.argv[2], sys.argv[3]
    load = lambda n: json.load(open(os.path.join(d, n), encoding="utf-8"))
    summary, summary_prov = load("summary.json"), load("summary_prov.json")
    by_prov, by_dist, centres = load("by_province.json"), load("by_district.json"), load("centres.json")
    summary_dist, by_centre = load("summary_dist.json"), load("by_centre.json")
    nat = Tree(open(os.path.join(d, "national.html"), encoding="utf-8").read())
    pro = Tree(open(os.path.join(d, "province.html"), encoding="utf-8").read())
    dis = Tree(open(os.path.join(d, "district.html"), encoding="utf-8").read())

    print("-- national view")
    check_ready(nat, "national")
    check_figures(nat, summary, "national")
    t = summary["target"]
    text = nat.by_id("target-text").text()
    check(fmt(t["goal"]) == "50,000" and text.startswith(f"{fmt(t['value'])} of 50,000"),
          f"target bar: '{text}'")
    check(str(t["year"]) in nat.by_id("target-label").text(), f"target year {t['year']} shown")
    c = summary["completeness"]
    banner = nat.by_id("banner").text()
    want = f"{fmt(c['centres_synced'])} of {fmt(c['centres'])} centres synced in the last {c['stale_days']} days"
    check(want in banner, f"banner says '{want}'")
    check(summary["as_of"][:10] in banner, f"banner carries the as-of date {summary['as_of'][:10]}")
    check_charts(nat, "national", len(by_prov["rows"]))
    label = nat.by_id("chart-place").attrs.get("aria-label", "")
    for r in by_prov["rows"]:
        check(f"{r['province']} {fmt(r['count'])}" in label,
              f"province chart: {r['province']} {r['count']}")
    table = [r[0] for r in rows_of(nat, "place-table")]
    check(table == [r["province"] for r in by_prov["rows"]], f"province table rows {table}")
    check_stale(nat, centres, None, "national")
    crumbs = nat.by_id("crumbs").text()
    check(crumbs.strip() == "Pakistan", f"breadcrumbs '{crumbs.strip()}'")

    print(f"-- drill-down view: {prov}")
    check_ready(pro, "province")
    check_figures(pro, summary_prov, prov)
    crumbs = pro.by_id("crumbs")
    links = [a.text() for a in crumbs.find_all(lambda n: n.tag == "a")]
    here = [s.text() for s in crumbs.find_all(lambda n: n.attrs.get("class") == "here")]
    check(links == ["Pakistan"] and here == [prov], f"breadcrumbs Pakistan › {prov}")
    check("district" in pro.by_id("cap-place").text(), "place chart now by district")
    check_charts(pro, prov, len(by_dist["rows"]))
    table = [r[0] for r in rows_of(pro, "place-table")]
    check(table == [r["district"] for r in by_dist["rows"]], f"district table rows {table}")
    drill = list(pro.by_id("place-table").find_all(lambda n: n.tag == "tr" and n.attrs.get("class") == "drill"))
    check(len(drill) == len(by_dist["rows"]), "district rows are clickable (drill to centre)")
    check_stale(pro, centres, prov, prov)

    print(f"-- drill-down view: {prov} › {dist}")
    check_ready(dis, "district")
    check_figures(dis, summary_dist, dist)
    crumbs = dis.by_id("crumbs")
    links = [a.text() for a in crumbs.find_all(lambda n: n.tag == "a")]
    here = [s.text() for s in crumbs.find_all(lambda n: n.attrs.get("class") == "here")]
    check(links == ["Pakistan", prov] and here == [dist], f"breadcrumbs Pakistan › {prov} › {dist}")
    check("centre" in dis.by_id("cap-place").text(), "place chart now by centre")
    check_charts(dis, dist, len(by_centre["rows"]))
    table = [r[0] for r in rows_of(dis, "place-table")]
    check(table == [r["centre"] for r in by_centre["rows"]], f"centre table rows {table}")


if __name__ == "__main__":
    try:
        main()
    except AssertionError as e:
        print(f"FAIL: {e}", file=sys.stderr)
        sys.exit(1)
