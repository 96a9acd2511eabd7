#!/usr/bin/env python3
"""Independent check of tests/vectors/log_v1.txt against proto/PROTOCOL.md.

This is a second implementation of what PROTOCOL.md sections 4 and 8 specify,
written without the C library: its own msgpack encoder (smallest encoding of
every integer, as section 8 requires), BLAKE2b from hashlib, Ed25519 from
python3-cryptography (RFC 8032, deterministic), and the Ed25519 -> X25519
public-key map for the CurveZMQ key.  It builds the five entries from the
inputs listed in section 8, recomputes every line of the file and reports the
first difference.  Exit status 0 when all lines match.

Usage: check_log_v1.py [path/to/log_v1.txt]
"""
import hashlib
import os
import struct
import sys

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey


# ---- msgpack, smallest encodings (the subset the protocol uses) ----

def mp_uint(v):
    if v < 0x80:
        return bytes([v])
    if v < 0x100:
        return b"\xcc" + bytes([v])
    if v < 0x10000:
        return b"\xcd" + struct.pack(">H", v)
    if v < 0x100000000:
        return b"\xce" + struct.pack(">I", v)
    return b"\xcf" + struct.pack(">Q", v)


def mp_str(s):
    b = s.encode("utf-8")
    n = len(b)
    if n < 32:
        return bytes([0xA0 | n]) + b
    if n < 0x100:
        return b"\xd9" + bytes([n]) + b
    return b"\xda" + struct.pack(">H", n) + b


def mp_bin(b):
    n = len(b)
    if n < 0x100:
        return b"\xc4" + bytes([n]) + b
    return b"\xc5" + struct.pack(">H", n) + b


def mp_array_header(n):
    return bytes([0x90 | n]) if n < 16 else b"\xdc" + struct.pack(">H", n)


def mp_map_header(n):
    return bytes([0x80 | n]) if n < 16 else b"\xde" + struct.pack(">H", n)


def mp_value(v):
    if v is None:
        return b"\xc0"
    if v is True:
        return b"\xc3"
    if v is False:
        return b"\xc2"
    if isinstance(v, int):
        return mp_uint(v)
    if isinstance(v, str):
        return mp_str(v)
    return mp_bin(bytes(v))


def mp_array(items):
    return mp_array_header(len(items)) + b"".join(items)


# ---- the protocol's hashes and layouts (PROTOCOL.md 4.1, 4.2) ----

def commit(salt, value):
    return hashlib.blake2b(b"RZ-PII-1" + salt + value.encode(), digest_size=16).digest()


def chain_input(node, epoch, seq, prev, entry):
    return b"RZ-ENTRY-1" + node + struct.pack(">IQ", epoch, seq) + prev + entry


def batch_signed(node, epoch, last, head):
    return b"RZ-BATCH-1" + node + struct.pack(">IQ", epoch, last) + head


def receipt_signed(node, epoch, first, last, head, ms):
    return (b"RZ-RECEIPT-1" + node + struct.pack(">IQQ", epoch, first, last) + head
            + struct.pack(">Q", ms))


def entry(schema, hlc, table, op, key, fields):
    fmap = mp_map_header(len(fields)) + b"".join(
        mp_uint(fid) + mp_value(val) for fid, val in fields)
    return mp_array([mp_uint(schema), mp_uint(hlc), mp_uint(table), mp_uint(op),
                     mp_bin(key), fmap])


def message(mtype, fields):
    return mp_array([mp_uint(0x525A), mp_uint(1), mp_uint(mtype)] + fields)


# ---- keys ----

P = 2 ** 255 - 19
Z85 = ("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
       ".-:+=^!/*?&<>()[]{}@%$#")


def z85(data):
    out = []
    for i in range(0, len(data), 4):
        v = struct.unpack(">I", data[i:i + 4])[0]
        chunk = []
        for _ in range(5):
            chunk.append(Z85[v % 85])
            v //= 85
        out.extend(reversed(chunk))
    return "".join(out)


def curve_pk(ed_pk):
    """Montgomery u = (1 + y) / (1 - y) mod p of the Edwards point."""
    y = int.from_bytes(ed_pk, "little") & ((1 << 255) - 1)
    u = (1 + y) * pow((1 - y) % P, P - 2, P) % P
    return z85(u.to_bytes(32, "little"))


def keypair(first):
    seed = bytes((first + i) & 0xFF for i in range(32))
    sk = Ed25519PrivateKey.from_private_bytes(seed)
    pk = sk.public_key().public_bytes(serialization.Encoding.Raw,
                                      serialization.PublicFormat.Raw)
    return seed, sk, pk


# ---- the log of PROTOCOL.md section 8 ----

def expected_lines():
    node = bytes(range(1, 9))
    epoch = 0
    t1 = 1773550800000
    local_ms = t1 + 7200000
    server_ms = local_ms + 2500
    ack_ms = server_ms + 1500
    hlcs = [t1 << 16, (t1 + 60000) << 16, ((t1 + 60000) << 16) + 1,
            (t1 + 3600000) << 16, (server_ms << 16) + 1]
    reveals = [(0, 1, 0x40, "3520212345671"), (0, 2, 0x50, "Ayesha Khan"),
               (0, 3, 0x60, "+923001234567"), (3, 3, 0x70, "+923331234567")]
    salts = [bytes(s0 + i for i in range(16)) for _, _, s0, _ in reveals]
    commits = [commit(salts[i], r[3]) for i, r in enumerate(reveals)]
    person = struct.pack(">Q", hlcs[0]) + node
    event = struct.pack(">Q", hlcs[1]) + node
    entries = [
        entry(1, hlcs[0], 1, 1, person,
              [(1, commits[0]), (2, commits[1]), (3, commits[2]), (4, 1), (5, 2001),
               (6, "Lahore"), (7, 1), (8, 2), (9, "graphic design"), (10, "fiverr"),
               (11, 20260315)]),
        entry(1, hlcs[1], 2, 1, event,
              [(1, 6), (2, "Freelancing and taxes"), (3, 20260315), (4, 120),
               (5, "Freelancers Association"), (6, 1)]),
        entry(1, hlcs[2], 3, 1, event + person, [(1, True)]),
        entry(1, hlcs[3], 1, 1, person, [(3, commits[3]), (7, 2)]),
        entry(1, hlcs[4], 4, 1, b"", [(1, server_ms), (2, local_ms)]),
    ]
    nseed, nsk, npk = keypair(0x00)
    sseed, ssk, spk = keypair(0x20)

    lines = []

    def add(key, value):
        if isinstance(value, (bytes, bytearray)):
            value = value.hex()
        lines.append("%s = %s" % (key, value))

    for who, seed, pk in (("node", nseed, npk), ("server", sseed, spk)):
        add(who + ".seed", seed)
        add(who + ".pk", pk)
        add(who + ".curve_pk", curve_pk(pk))
        if who == "node":
            add("node.id", node)
            add("node.epoch", epoch)
    for i, (index, field, _, value) in enumerate(reveals):
        add("reveal.%d.index" % i, index)
        add("reveal.%d.field" % i, field)
        add("reveal.%d.salt" % i, salts[i])
        add("reveal.%d.value" % i, value)
        add("reveal.%d.commit" % i, commits[i])
    prev = bytes(32)
    for i, e in enumerate(entries):
        seq = i + 1
        data = chain_input(node, epoch, seq, prev, e)
        h = hashlib.blake2b(data, digest_size=32).digest()
        add("entry.%d.seq" % seq, seq)
        add("entry.%d.hlc" % seq, hlcs[i])
        add("entry.%d.bytes" % seq, e)
        add("entry.%d.prev" % seq, prev)
        add("entry.%d.chain_input" % seq, data)
        add("entry.%d.hash" % seq, h)
        prev = h
    head = prev
    last = len(entries)
    signed = batch_signed(node, epoch, last, head)
    sig = nsk.sign(signed)
    add("batch.first_seq", 1)
    add("batch.last_seq", last)
    add("batch.head", head)
    add("batch.signed", signed)
    add("batch.signature", sig)
    rev = [mp_array([mp_uint(ix), mp_uint(f), mp_bin(salts[i]), mp_str(v)])
           for i, (ix, f, _, v) in enumerate(reveals)]
    add("batch.frame", message(3, [mp_bin(node), mp_uint(epoch), mp_uint(1),
                                   mp_bin(bytes(32)),
                                   mp_array([mp_bin(e) for e in entries]),
                                   mp_array(rev), mp_bin(sig)]))
    rsigned = receipt_signed(node, epoch, 1, last, head, ack_ms)
    receipt = ssk.sign(rsigned)
    add("receipt.server_ms", ack_ms)
    add("receipt.signed", rsigned)
    add("receipt.signature", receipt)
    add("ack.frame", message(4, [mp_uint(ack_ms), mp_uint(epoch), mp_uint(1), mp_uint(last),
                                 mp_bin(head), mp_bin(receipt), mp_uint(last)]))
    add("hello.frame", message(1, [mp_bin(node), mp_uint(1)]))
    add("welcome.frame", message(2, [mp_uint(server_ms), mp_uint(epoch), mp_uint(0),
                                     mp_bin(bytes(32)), b"\xc2"]))
    add("error.frame", message(5, [mp_uint(ack_ms), mp_uint(26), mp_str("sequence gap")]))
    return lines


def main():
    path = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "log_v1.txt")
    with open(path, encoding="utf-8") as f:
        got = [l.rstrip("\n") for l in f if l.strip() and not l.startswith("#")]
    want = expected_lines()
    for i, w in enumerate(want):
        if i >= len(got):
            print("missing line %d: %s" % (i + 1, w))
            return 1
        if got[i] != w:
            print("line %d differs\n  file:     %s\n  expected: %s" % (i + 1, got[i], w))
            return 1
    if len(got) != len(want):
        print("%d unexpected extra lines, first: %s" % (len(got) - len(want), got[len(want)]))
        return 1
    print("log_v1: all %d lines match the independent implementation" % len(want))
    return 0


if __name__ == "__main__":
    sys.exit(main())
