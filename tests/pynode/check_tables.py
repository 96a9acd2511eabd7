#!/usr/bin/env python3
"""check_tables: the spec's code tables equal the C headers, and the values
the spec states for the clock and the epoch rule are what they compute to.

usage: check_tables.py PROTOCOL.md wire.h domain.h rz_err.h log_v1.txt

Every RZ_* constant of wire.h (except the *_MAX sentinels and the include
guard), every member of the enums of coded field values in domain.h, and
every wire error code of rz_err.h must be a row of the spec with the same
value, and every row of the spec must be one of them.  Prints the counts it
compared; exit 1 on any difference.
"""
import hashlib
import re
import struct
import sys

import rzspec


# The enums of domain.h whose numbers travel in entries (PROTOCOL A.4).
WIRE_ENUMS = ("rz_gender", "rz_area", "rz_skill", "rz_event_kind", "rz_mode")


def c_constants(wire, domain, errs):
    out = {}
    text = open(wire, encoding="utf-8").read()
    for name, body in re.findall(r"\benum\s+(rz_\w+)\s*\{(.*?)\}", open(domain, encoding="utf-8").read(),
                                 re.S):
        if name in WIRE_ENUMS:
            text += "\n" + body
    for name, expr in re.findall(r"^#define[ \t]+(RZ_\w+)[ \t]+(\S.*?)[ \t]*(?:/\*.*)?$", text, re.M):
        if re.fullmatch(r"[0-9a-fA-Fx()*+ ]+", expr):
            out[name] = int(eval(expr, {"__builtins__": {}}))  # arithmetic of literals only
    for name, value in re.findall(r"\b(RZ_\w+)\s*=\s*(-?\d+)", text):  # enum members
        if not name.endswith("_MAX"):
            out[name] = int(value)
    for name, value in re.findall(r"^\s*(RZ_E_\w+)\s*=\s*(-\d+)",
                                  open(errs, encoding="utf-8").read(), re.M):
        if 20 <= -int(value) <= 39:  # the codes ERROR carries on the wire
            out[name] = -int(value)
    return out


def main(spec, wire, domain, errs, vectors):
    bad = 0
    spec_codes = rzspec.load(spec)
    c = c_constants(wire, domain, errs)
    for name in sorted(set(c) | set(spec_codes)):
        if name not in spec_codes:
            print(f"FAIL {name} = {c[name]} is in the C headers but in no table of the spec")
            bad += 1
        elif name not in c:
            print(f"FAIL {name} = {spec_codes[name]} is in the spec but not in the C headers")
            bad += 1
        elif c[name] != spec_codes[name]:
            print(f"FAIL {name}: spec says {spec_codes[name]}, C says {c[name]}")
            bad += 1
    print(f"spec tables: {len(spec_codes)} codes in the spec, {len(c)} in the headers, "
          f"{bad} differences")

    text = open(spec, encoding="utf-8").read()
    v = dict(l.split(" = ", 1) for l in open(vectors, encoding="utf-8").read().splitlines()
             if " = " in l and not l.startswith("#"))
    # §4.6: the clock algorithm on the §8 times.
    def tick(last, now):
        return max(last + 1, now << 16)
    last = int(v["entry.4.hlc"])
    folded = tick(max(last, 1773558002500 << 16), 1773558000000)
    after = tick(folded, 1773558000000)
    ahead = tick(after, 1773558003000)
    checks = [("fold = entry 5's hlc", folded == int(v["entry.5.hlc"]))]
    for what, n in (("fold", folded), ("tick", after), ("tick ahead", ahead)):
        checks.append((f"§4.6 states {what} {n:016x}", f"`{n:016x}`" in text))
    # §7: epoch E+1 continues at head+1 chained from the previous head.
    nid = bytes.fromhex(v["node.id"])
    h6 = hashlib.blake2b(b"RZ-ENTRY-1" + nid + struct.pack(">IQ", 1, 6) +
                         bytes.fromhex(v["entry.5.hash"]) + bytes.fromhex(v["entry.4.bytes"]),
                         digest_size=32).hexdigest()
    checks.append((f"§7 states the epoch-1 h(6) {h6}", f"`{h6}`" in text))
    for what, ok in checks:
        print(("PASS " if ok else "FAIL ") + what)
        bad += not ok
    print(f"spec vectors: {len(checks)} checked, {sum(not ok for _, ok in checks)} wrong")
    return 1 if bad else 0


if __name__ == "__main__":
    if len(sys.argv) != 6:
        sys.exit(__doc__)
    sys.exit(main(*sys.argv[1:]))
