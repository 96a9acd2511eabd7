#!/usr/bin/env python3
"""Prints why each failed suite of a ctest run failed, briefly.

ctest's LastTest.log holds every suite's whole output; a failing suite's
reason sits in the middle of a long CI log, which is often shown cut.  This
prints, per failed suite, the lines that say what failed (FAIL, sanitizer
reports, assertions) and the suite's last lines, bounded in size.
"""
import re
import sys

SAY = re.compile(r"(FAIL|Assertion|runtime error|AddressSanitizer|LeakSanitizer|"
                 r"test failed|Timeout|timed out|rc=)")
TAIL = 12      # last lines of a failed suite
MAX_SAY = 25   # lines that say what failed, per suite


def main(path):
    text = open(path, encoding="utf-8", errors="replace").read()
    # Each suite: "NN/MM Testing: name" ... "Test Failed." or "Test Passed."
    parts = re.split(r"\n-{58}\n", text)
    name, out, shown = None, [], 0
    for part in parts:
        m = re.search(r"^\d+/\d+ Testing: (\S+)", part, re.M)
        if m:
            name = m.group(1)
            continue
        if "<end of output>" in part:
            out = part.split("<end of output>")[0].splitlines()
            continue
        if name and re.search(r"^Test (Failed|Timeout)", part, re.M):
            print(f"-- {name}")
            said = [line for line in out if SAY.search(line)][:MAX_SAY]
            for line in said:
                print(f"   {line}")
            print("   (last lines)")
            for line in [x for x in out if x.strip()][-TAIL:]:
                print(f"   {line}")
            shown += 1
            name, out = None, []
    if shown == 0:
        print("(no failed suite found in the log)")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "build-asan/Testing/Temporary/LastTest.log")
