#!/usr/bin/env python3
"""Checks rozgar-bench's JSON line (the last line of stdin) for the smoke tests.

usage: smoke_check.py first-sync|never-synced

Both: the run completed with its totals check ok.  first-sync: the nodes synced
once before recording, so their logs carry checkpoints (PROTOCOL 4.6): more
entries were acknowledged than records plus one clock entry per node.
never-synced: no checkpoints, exactly one clock entry per node.
"""
import json
import sys

mode = sys.argv[1]
lines = [l for l in sys.stdin.read().splitlines() if l.startswith('{"bench":"rozgar-bench"')]
if not lines:
    sys.exit("no JSON line from rozgar-bench")
b = json.loads(lines[-1])
if b["check"] != "ok":
    sys.exit("totals check: %s" % b["check"])
clocks = b["ingest_entries"] - b["records"]
if mode == "first-sync":
    ok = b["never_synced"] == 0 and clocks > b["centres"]
else:
    ok = b["never_synced"] == 1 and clocks == b["centres"]
if not ok:
    sys.exit("%s: never_synced %d, %d clock entries from %d nodes"
             % (mode, b["never_synced"], clocks, b["centres"]))
print("%s: %d clock entries and checkpoints from %d nodes, check ok" % (mode, clocks, b["centres"]))
