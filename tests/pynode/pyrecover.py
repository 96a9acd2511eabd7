#!/usr/bin/env python3
"""pyrecover: the recovery of a replaced PC (PROTOCOL §12) written from the
spec alone, as a second implementation beside the C node's.

  pyrecover.py fetch DIR --endpoint EP --server-key HEX --spec PROTOCOL.md --old HEX
      [--refused]

DIR is a pynode directory (pynode.py keygen) enrolled under the old node's
centre.  Without --refused: HELLO, FETCH from 1 until the final CHUNK,
every check of §12.6 (chain across chunks and epochs, every batch signature
with a key of the old node's history, the head signed, every personal value
against its commitment or reported erased), then FETCH_DONE and
FETCH_CLOSED; a FETCH after that must be refused (the grant is used).  With
--refused: the first FETCH must be refused with `auth` (no grant).  One
PASS/FAIL line per check, a summary line, exit 1 on any failure.
"""
import argparse
import hashlib
import sys

import msgpack
import nacl.bindings as nb
import nacl.exceptions
import nacl.signing
import zmq
import zmq.utils.z85

import pynode
import rzspec


def be32(n):
    return n.to_bytes(4, "big")


def be64(n):
    return n.to_bytes(8, "big")


def run(args):
    c = rzspec.load(args.spec)
    node = pynode.Node(args.dir, c)
    old = bytes.fromhex(args.old)
    server_pk = bytes.fromhex(args.server_key)
    server_curve = zmq.utils.z85.encode(nb.crypto_sign_ed25519_pk_to_curve25519(server_pk))
    ctx = zmq.Context()
    check = pynode.Check()
    conn = pynode.Conn(ctx, node, args.endpoint, server_curve)
    hdr = [c["RZ_WIRE_SIGNATURE"], c["RZ_PROTO_VERSION"]]

    def fetch(frm):
        return conn.ask(pynode.pack(hdr + [c["RZ_MSG_FETCH"], node.node_id, old, frm]))

    m = conn.ask(node.hello())
    if not check(m[2] == c["RZ_MSG_WELCOME"], "HELLO answered with WELCOME", repr(m)[:200]):
        return 1
    if args.refused:
        m = fetch(1)
        check(m[2] == c["RZ_MSG_ERROR"] and m[4] == c["RZ_E_AUTH"],
              "FETCH without a grant refused with auth", repr(m)[:200])
        print(f"pyrecover: {check.passed} passed, {check.failed} failed")
        return 1 if check.failed else 0

    frm, prev, epoch0 = 1, bytes(32), None
    head = keys = None
    signed_to = 0
    counts = {"entries": 0, "values": 0, "erased": 0, "signatures": 0, "chunks": 0}
    pii = (c["RZ_PF_CNIC"], c["RZ_PF_NAME"], c["RZ_PF_PHONE"])
    while True:
        m = fetch(frm)
        if not check(m[2] == c["RZ_MSG_CHUNK"] and len(m) == 14, f"CHUNK from {frm}",
                     repr(m)[:200]):
            return 1
        (_, old_id, head_seq, head_hash, ks, epoch, first, final, entries, values,
         sigs) = m[3:14]
        if head is None:
            head, keys = (head_seq, head_hash), ks
        same = (old_id == old and (head_seq, head_hash) == head and ks == keys and
                first == frm and (epoch0 is None or epoch >= epoch0))
        if not check(same, f"chunk {counts['chunks'] + 1}: same log, head, keys; continues"):
            return 1
        epoch0 = epoch
        hashes = []
        vi = 0
        for i, e in enumerate(entries):
            seq = first + i
            h = hashlib.blake2b(b"RZ-ENTRY-1" + old + be32(epoch) + be64(seq) + prev + e,
                                digest_size=32).digest()
            hashes.append(h)
            prev = h
            fields = msgpack.unpackb(e, raw=False, strict_map_key=False)[5]
            commits = {f: v for f, v in fields.items() if f in pii and isinstance(v, bytes)}
            mine = []
            while vi < len(values) and values[vi][0] == i:
                mine.append(values[vi])
                vi += 1
            got = {v[1] for v in mine}
            if not check(got == set(commits), f"entry {seq}: every commitment answered once",
                         f"{sorted(got)} vs {sorted(commits)}"):
                return 1
            for _, field, salt, value in mine:
                if salt is None and value is None:
                    counts["erased"] += 1
                    continue
                com = hashlib.blake2b(b"RZ-PII-1" + salt + value.encode("utf-8"),
                                      digest_size=16).digest()
                if not check(com == commits[field], f"entry {seq} field {field} opens"):
                    return 1
                counts["values"] += 1
        for last, sig in sigs:
            ok = False
            for from_seq, pk in keys:
                if from_seq <= last:
                    try:
                        nacl.signing.VerifyKey(pk).verify(
                            b"RZ-BATCH-1" + old + be32(epoch) + be64(last) + hashes[last - first],
                            sig)
                        ok = True
                    except nacl.exceptions.BadSignatureError:
                        pass
            if not check(ok, f"signature at {last}"):
                return 1
            signed_to = last
            counts["signatures"] += 1
        counts["entries"] += len(entries)
        counts["chunks"] += 1
        frm += len(entries)
        if final:
            break
    check(prev == head[1] and frm - 1 == head[0], "the chain ends at the reported head")
    check(head[0] == 0 or signed_to == head[0], "the head is signed")
    if check.failed:
        return 1
    m = conn.ask(pynode.pack(hdr + [c["RZ_MSG_FETCH_DONE"], node.node_id, old, head[0],
                                    head[1]]))
    check(m[2] == c["RZ_MSG_FETCH_CLOSED"] and m[4] == old and m[5] == head[0],
          "FETCH_DONE answered with FETCH_CLOSED", repr(m)[:200])
    m = fetch(1)
    check(m[2] == c["RZ_MSG_ERROR"] and m[4] == c["RZ_E_AUTH"], "the used grant serves no more",
          repr(m)[:200])
    conn.close()
    print(f"pyrecover: {counts['entries']} entries in {counts['chunks']} chunks, "
          f"{counts['signatures']} signatures, {counts['values']} values ({counts['erased']} "
          f"erased) verified; {check.passed} passed, {check.failed} failed")
    return 1 if check.failed else 0


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    f = sub.add_parser("fetch")
    f.add_argument("dir")
    f.add_argument("--endpoint", required=True)
    f.add_argument("--server-key", required=True)
    f.add_argument("--spec", required=True)
    f.add_argument("--old", required=True)
    f.add_argument("--refused", action="store_true")
    args = ap.parse_args()
    sys.exit(run(args))


if __name__ == "__main__":
    main()
