#!/usr/bin/env python3
"""pynode: a Rozgar Sync node written from proto/PROTOCOL.md alone.

A second, independent implementation of the protocol: Python with Debian's
python3-zmq (CurveZMQ), python3-nacl (Ed25519, key conversion) and
python3-msgpack, BLAKE2b from hashlib.  Every message type, table, op, field
id, enum code and error code it uses is read at run time from the spec's
tables (rzspec.py); nothing is taken from the C sources.

  pynode.py keygen DIR
      a new node key and id in DIR/node.json (0600); prints the enrollment
      token (PROTOCOL §2) for `rozgar-server enroll --token`.
  pynode.py run DIR --endpoint EP --server-key HEX --spec PROTOCOL.md
      records, syncs, re-sends and checks every receipt against the server,
      then the conversation rules and refusals the spec defines.  One line
      per check (PASS/FAIL), a summary line, exit 1 on any failure.
"""
import argparse
import hashlib
import json
import os
import struct
import sys
import time

import msgpack
import nacl.bindings as nb
import nacl.signing
import zmq
import zmq.utils.z85

import rzspec

PKT = 5 * 3600 * 1000  # Pakistan time is UTC+5 (PROTOCOL §4.1 dates)


def be32(n):
    return struct.pack(">I", n)


def be64(n):
    return struct.pack(">Q", n)


def pack(obj):
    # Shortest encodings, bytes as bin, str as str (PROTOCOL §8.1).
    return msgpack.packb(obj, use_bin_type=True)


class Node:
    """One node: key, id, hybrid clock, hash-chained log, receipts."""

    def __init__(self, directory, spec):
        with open(os.path.join(directory, "node.json"), encoding="utf-8") as f:
            st = json.load(f)
        self.c = spec
        self.seed = bytes.fromhex(st["seed"])
        self.node_id = bytes.fromhex(st["node_id"])
        self.pk, self.sk = nb.crypto_sign_seed_keypair(self.seed)
        self.signer = nacl.signing.SigningKey(self.seed)
        self.curve_pk = zmq.utils.z85.encode(nb.crypto_sign_ed25519_pk_to_curve25519(self.pk))
        self.curve_sk = zmq.utils.z85.encode(nb.crypto_sign_ed25519_sk_to_curve25519(self.sk))
        self.hlc = 0
        self.epoch = 0
        self.log = []  # (entry bytes, reveals [(field, salt, value)], hash)
        self.receipts = []

    # §4.6
    def tick(self, now_ms=None):
        now = int(time.time() * 1000) if now_ms is None else now_ms
        self.hlc = max(self.hlc + 1, now << 16)
        return self.hlc

    def fold(self, server_ms):
        self.hlc = max(self.hlc, server_ms << 16)
        return self.tick()

    def head(self):
        return len(self.log)

    def hash_at(self, seq):
        return bytes(32) if seq == 0 else self.log[seq - 1][2]

    # §4.2: h(seq) = BLAKE2b-256("RZ-ENTRY-1" || node_id || be32(epoch) || be64(seq) || h(seq-1) || entry)
    def append(self, entry, reveals=()):
        seq = self.head() + 1
        h = hashlib.blake2b(b"RZ-ENTRY-1" + self.node_id + be32(self.epoch) + be64(seq) +
                            self.hash_at(seq - 1) + entry, digest_size=32).digest()
        self.log.append((entry, list(reveals), h))
        return seq

    def new_id(self):
        return be64(self.tick()) + self.node_id

    def entry(self, table, op, key, fields):
        c = self.c
        return pack([c["RZ_SCHEMA_CURRENT"], self.tick(), table, op, key,
                     dict(sorted(fields.items()))])

    def commit(self, value):
        salt = os.urandom(16)
        data = value.encode("utf-8")
        return salt, data, hashlib.blake2b(b"RZ-PII-1" + salt + data, digest_size=16).digest()

    def record_person(self, name, cnic=None, phone=None, **plain):
        c = self.c
        pid = self.new_id()
        fields, reveals = {}, []
        for fid, value in ((c["RZ_PF_CNIC"], cnic), (c["RZ_PF_NAME"], name),
                           (c["RZ_PF_PHONE"], phone)):
            if value is not None:
                salt, data, com = self.commit(value)
                fields[fid] = com
                reveals.append((fid, salt, data))
        for k, v in plain.items():
            fields[c["RZ_PF_" + k.upper()]] = v
        self.append(self.entry(c["RZ_T_PERSON"], c["RZ_OP_SET"], pid, fields), reveals)
        return pid

    def record_event(self, title, kind, day, minutes, mode):
        c = self.c
        eid = self.new_id()
        self.append(self.entry(c["RZ_T_EVENT"], c["RZ_OP_SET"], eid,
                               {c["RZ_EF_KIND"]: kind, c["RZ_EF_TITLE"]: title,
                                c["RZ_EF_DATE"]: day, c["RZ_EF_DURATION"]: minutes,
                                c["RZ_EF_MODE"]: mode}))
        return eid

    def record_attendance(self, eid, pid, present=True):
        c = self.c
        self.append(self.entry(c["RZ_T_ATTENDANCE"], c["RZ_OP_SET"], eid + pid,
                               {c["RZ_AF_PRESENT"]: present}))

    def record_delete(self, table, key):
        c = self.c
        self.append(self.entry(table, c["RZ_OP_DELETE"], key, {}))

    def record_clock(self, server_ms, local_ms):
        c = self.c
        self.append(self.entry(c["RZ_T_CLOCK"], c["RZ_OP_SET"], b"",
                               {c["RZ_CF_SERVER_MS"]: server_ms, c["RZ_CF_LOCAL_MS"]: local_ms}))

    def ends_with_clock(self):
        return bool(self.log) and msgpack.unpackb(self.log[-1][0], strict_map_key=False)[2] == self.c["RZ_T_CLOCK"]

    # §4, §4.2
    def batch(self, first, last, entries=None, sign_last=None):
        c = self.c
        ents = [self.log[s - 1][0] for s in range(first, last + 1)] if entries is None else entries
        reveals = []
        for i, s in enumerate(range(first, last + 1)):
            if entries is None:
                for fid, salt, data in sorted(self.log[s - 1][1]):
                    reveals.append([i, fid, salt, data.decode("utf-8")])
        lseq = last if sign_last is None else sign_last
        signed = b"RZ-BATCH-1" + self.node_id + be32(self.epoch) + be64(lseq) + self.hash_at(lseq)
        sig = self.signer.sign(signed).signature
        return pack([c["RZ_WIRE_SIGNATURE"], c["RZ_PROTO_VERSION"], c["RZ_MSG_BATCH"],
                     self.node_id, self.epoch, first, self.hash_at(first - 1), ents, reveals, sig])

    def hello(self, node_id=None):
        c = self.c
        return pack([c["RZ_WIRE_SIGNATURE"], c["RZ_PROTO_VERSION"], c["RZ_MSG_HELLO"],
                     node_id or self.node_id, c["RZ_SCHEMA_MAX"]])


class Check:
    def __init__(self):
        self.passed = self.failed = 0

    def __call__(self, ok, what, why=""):
        if ok:
            self.passed += 1
            print(f"PASS {what}")
        else:
            self.failed += 1
            print(f"FAIL {what}: {why}")
        sys.stdout.flush()
        return ok


class Conn:
    """One DEALER connection with CURVE, the server's key pinned (§3)."""

    def __init__(self, ctx, node, endpoint, server_curve, timeout_ms=20000):
        self.s = ctx.socket(zmq.DEALER)
        self.s.curve_serverkey = server_curve
        self.s.curve_publickey = node.curve_pk
        self.s.curve_secretkey = node.curve_sk
        self.s.setsockopt(zmq.LINGER, 0)
        self.s.setsockopt(zmq.RCVTIMEO, timeout_ms)
        self.s.setsockopt(zmq.MAXMSGSIZE, node.c["RZ_MAX_FRAME"])
        self.s.connect(endpoint)

    def ask(self, frame):
        self.s.send(frame)
        return self.recv()

    def recv(self):
        parts = self.s.recv_multipart()
        if len(parts) != 1:
            raise ValueError(f"reply of {len(parts)} frames")
        m = msgpack.unpackb(parts[0], raw=False)
        if not isinstance(m, list) or len(m) < 4 or m[0] != 0x525A:
            raise ValueError("reply is not a Rozgar Sync message")
        return m

    def close(self):
        self.s.close()


def run(args):
    spec = rzspec.load(args.spec)
    c = spec
    node = Node(args.dir, spec)
    server_pk = bytes.fromhex(args.server_key)
    server_curve = zmq.utils.z85.encode(nb.crypto_sign_ed25519_pk_to_curve25519(server_pk))
    verifier = nacl.signing.VerifyKey(server_pk)
    ctx = zmq.Context()
    check = Check()
    stats = {"sent": 0, "receipts": 0, "batches": 0}

    def is_type(m, name):
        return m[2] == c[name]

    def error_code(m):
        return m[4] if is_type(m, "RZ_MSG_ERROR") else None

    def welcome(conn, what):
        m = conn.ask(node.hello())
        if not check(is_type(m, "RZ_MSG_WELCOME") and len(m) == 8, what, repr(m)[:200]):
            raise SystemExit(1)
        server_ms, epoch, head_seq, head_hash, quarantined = m[3:8]
        node.epoch = epoch
        return server_ms, head_seq, head_hash, quarantined

    def verify_ack(m, first, last, applied, what):
        if not check(is_type(m, "RZ_MSG_ACK") and len(m) == 10,
                     what + ": ACK", repr(m)[:200]):
            return False
        server_ms, epoch, a_first, a_last, head, receipt, a_applied = m[3:10]
        ok = (epoch, a_first, a_last, head) == (node.epoch, first, last, node.hash_at(last))
        check(ok, what + f": ACK covers {first}..{last}",
              f"got {a_first}..{a_last} epoch {epoch}")
        check(a_applied == applied, what + f": applied {applied}", f"got {a_applied}")
        signed = (b"RZ-RECEIPT-1" + node.node_id + be32(epoch) + be64(a_first) + be64(a_last) +
                  head + be64(server_ms))
        try:
            verifier.verify(signed, receipt)
            good = True
        except Exception as e:  # nacl.exceptions.BadSignatureError
            good, why = False, str(e)
        if check(good, what + ": receipt verifies with the server key", "bad receipt"):
            node.receipts.append((epoch, a_first, a_last, head, server_ms, receipt))
            stats["receipts"] += 1
        return ok and good and a_applied == applied

    def sync(conn, what, per_batch=500, window=2):
        """One conversation: fold, clock entry, batches in flight, receipts (§4.4, §4.6)."""
        server_ms, head_seq, head_hash, _ = welcome(conn, what + ": HELLO answered with WELCOME")
        local = int(time.time() * 1000)
        node.fold(server_ms)
        check(head_seq <= node.head() and head_hash == node.hash_at(head_seq),
              what + ": WELCOME head is a prefix of our log", f"server holds {head_seq}")
        if head_seq < node.head() and not node.ends_with_clock():
            node.record_clock(server_ms, local)
        ranges = []
        s = head_seq + 1
        while s <= node.head():
            e = min(node.head(), s + per_batch - 1)
            ranges.append((s, e))
            s = e + 1
        inflight = []
        for first, last in ranges:
            conn.s.send(node.batch(first, last))
            inflight.append((first, last))
            stats["sent"] += last - first + 1
            stats["batches"] += 1
            if len(inflight) == window:
                f, l = inflight.pop(0)
                verify_ack(conn.recv(), f, l, l - f + 1, what + f" batch {f}..{l}")
        for f, l in inflight:
            verify_ack(conn.recv(), f, l, l - f + 1, what + f" batch {f}..{l}")
        return len(ranges)

    today = int(time.strftime("%Y%m%d", time.gmtime((time.time() * 1000 + PKT) / 1000)))

    # 1. Record: people, an event, attendances (codes from the spec's tables).
    p1 = node.record_person("Ayesha Khan", cnic="3520212345671", phone="+923001234567",
                            gender=c["RZ_G_FEMALE"], birth_year=2001, district="Lahore",
                            area=c["RZ_AREA_URBAN"], skill=c["RZ_SK_WHITE"],
                            skills="graphic design", platforms="fiverr", reg_date=today)
    p2 = node.record_person("Bilal Ahmed", gender=c["RZ_G_MALE"], birth_year=1998,
                            district="Multan", area=c["RZ_AREA_RURAL"], skill=c["RZ_SK_BLUE"],
                            reg_date=today)
    p3 = node.record_person("Sana Baloch", gender=c["RZ_G_FEMALE"], birth_year=1995,
                            district="Quetta", area=c["RZ_AREA_URBAN"], skill=c["RZ_SK_PRO"],
                            reg_date=today)
    e1 = node.record_event("Freelancing and taxes", c["RZ_EK_FINLIT"], today, 120,
                           c["RZ_MODE_IN_PERSON"])
    for p in (p1, p2, p3):
        node.record_attendance(e1, p)

    # 2. The conversation order: a BATCH before HELLO is msgtype, nothing applied (§4.5).
    conn = Conn(ctx, node, args.endpoint, server_curve)
    m = conn.ask(node.batch(1, node.head()))
    check(error_code(m) == spec["RZ_E_MSGTYPE"],
          "BATCH before HELLO refused with msgtype", repr(m)[:200])
    conn.close()

    # 3. First sync: everything, with the clock entry at the end.
    conn = Conn(ctx, node, args.endpoint, server_curve)
    sync(conn, "first sync")
    first_batch = node.batch(1, node.head())
    first_last = node.head()

    # 4. Re-send on the same conversation: acknowledged again, nothing applied (§4.7).
    verify_ack(conn.ask(first_batch), 1, first_last, 0, "exact re-send")

    # 5. Overlap: the last 2 stored entries plus 3 new ones; the receipt covers the whole range.
    p4 = node.record_person("Zainab Qureshi", gender=c["RZ_G_FEMALE"], birth_year=2003,
                            district="Karachi", area=c["RZ_AREA_URBAN"], skill=c["RZ_SK_WHITE"],
                            reg_date=today)
    node.record_attendance(e1, p4)
    node.record_delete(c["RZ_T_ATTENDANCE"], e1 + p2)  # Bilal's attendance withdrawn
    first = first_last - 1
    verify_ack(conn.ask(node.batch(first, node.head())), first, node.head(), 3,
               "overlapping batch")
    conn.close()

    # 6. A second conversation of 3 batches, 2 in flight; only the last has the clock entry.
    for k in range(10):
        node.record_person(f"Trainee {k}", gender=c["RZ_G_OTHER"] if k == 0 else c["RZ_G_MALE"],
                           birth_year=1990 + k, district="Peshawar", area=c["RZ_AREA_RURAL"],
                           skill=c["RZ_SK_BLUE"], reg_date=today)
    conn = Conn(ctx, node, args.endpoint, server_curve)
    n = sync(conn, "second sync", per_batch=4)
    check(n == 3, "second sync used 3 batches", f"{n}")

    # 7. Refusals the spec defines; each leaves the server's head where it was.
    head = node.head()
    sig = [c["RZ_WIRE_SIGNATURE"], c["RZ_PROTO_VERSION"]]

    def hostile_entry(fields_raw):
        # [schema, hlc, table, op, key, fields] with a raw fields map
        return (b"\x96" + pack(c["RZ_SCHEMA_CURRENT"]) + pack(node.tick()) +
                pack(c["RZ_T_PERSON"]) + pack(c["RZ_OP_SET"]) + pack(node.new_id()) + fields_raw)

    def signed_batch(entries, first=None, prev=None):
        first = head + 1 if first is None else first
        prev = node.hash_at(head) if prev is None else prev
        h = prev
        for i, e in enumerate(entries):
            h = hashlib.blake2b(b"RZ-ENTRY-1" + node.node_id + be32(node.epoch) +
                                be64(first + i) + h + e, digest_size=32).digest()
        last = first + len(entries) - 1
        signed = b"RZ-BATCH-1" + node.node_id + be32(node.epoch) + be64(last) + h
        return pack(sig + [c["RZ_MSG_BATCH"], node.node_id, node.epoch, first, prev,
                           entries, [], node.signer.sign(signed).signature])

    float_value = hostile_entry(b"\x81" + pack(c["RZ_PF_BIRTH_YEAR"]) + b"\xcb" + struct.pack(">d", 2001.0))
    beyond = max(v for k, v in c.items() if k.startswith("RZ_PF_")) + 1  # no such person field
    unknown_field = hostile_entry(b"\x81" + pack(beyond) + pack(1))
    clock = pack([c["RZ_SCHEMA_CURRENT"], node.tick(), c["RZ_T_CLOCK"], c["RZ_OP_SET"], b"",
                  {c["RZ_CF_SERVER_MS"]: 1, c["RZ_CF_LOCAL_MS"]: 1}])
    long_str = hostile_entry(b"\x81" + pack(c["RZ_PF_DISTRICT"]) + pack("D" * (c["RZ_MAX_STR"] + 1)))
    cases = [
        ("float value", signed_batch([float_value]), "RZ_E_DECODE"),
        ("unknown person field id", signed_batch([unknown_field]), "RZ_E_DECODE"),
        ("string of RZ_MAX_STR + 1 bytes", signed_batch([long_str]), "RZ_E_TOOBIG"),
        ("empty BATCH", pack(sig + [c["RZ_MSG_BATCH"], node.node_id, node.epoch, head + 1,
                                    node.hash_at(head), [], [], bytes(64)]), "RZ_E_DECODE"),
        ("first_seq 0", pack(sig + [c["RZ_MSG_BATCH"], node.node_id, node.epoch, 0, bytes(32),
                                    [node.log[0][0]], [], bytes(64)]), "RZ_E_DECODE"),
        ("gap: first_seq = head + 2", signed_batch([clock], head + 2, os.urandom(32)),
         "RZ_E_CHAIN"),
        ("WELCOME sent by a node", pack(sig + [c["RZ_MSG_WELCOME"], 1, 0, 0, bytes(32), False]),
         "RZ_E_MSGTYPE"),
        ("protocol version 2", pack([c["RZ_WIRE_SIGNATURE"], 2, c["RZ_MSG_HELLO"], node.node_id,
                                     1]), "RZ_E_VERSION"),
        ("HELLO naming another node", node.hello(bytes(8)), "RZ_E_AUTH"),
    ]
    conn = Conn(ctx, node, args.endpoint, server_curve)
    welcome(conn, "refusals: HELLO answered with WELCOME")
    for what, frame, code in cases:
        m = conn.ask(frame)
        got = error_code(m)
        check(got == spec[code],
              f"{what} refused with {code[5:].lower()} ({spec[code]})", repr(m)[:160])
    conn.s.send_multipart([node.hello(), node.hello()])
    m = conn.recv()
    check(error_code(m) == spec["RZ_E_DECODE"],
          "two-frame message refused with decode", repr(m)[:160])
    _, head_seq, head_hash, quarantined = welcome(conn, "refusals left the head unchanged: HELLO")
    check(head_seq == head and head_hash == node.hash_at(head) and not quarantined,
          f"server head is still {head}", f"server holds {head_seq}")
    conn.close()
    ctx.term()
    print(f"pynode: {check.passed} passed, {check.failed} failed; {stats['sent']} entries sent in "
          f"{stats['batches']} batches, {stats['receipts']} receipts verified, head {node.head()}")
    with open(os.path.join(args.dir, "head"), "w", encoding="utf-8") as f:
        f.write(f"{node.head()} {node.hash_at(node.head()).hex()}\n")
    return 1 if check.failed else 0


def keygen(directory):
    os.makedirs(directory, mode=0o700, exist_ok=True)
    seed, node_id = os.urandom(32), os.urandom(8)
    pk, _ = nb.crypto_sign_seed_keypair(seed)
    path = os.path.join(directory, "node.json")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump({"seed": seed.hex(), "node_id": node_id.hex()}, f)
    print(f"enroll-token: rz1:{node_id.hex()}:{pk.hex()}")
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    k = sub.add_parser("keygen")
    k.add_argument("dir")
    r = sub.add_parser("run")
    r.add_argument("dir")
    r.add_argument("--endpoint", required=True)
    r.add_argument("--server-key", required=True)
    r.add_argument("--spec", required=True)
    args = ap.parse_args()
    return keygen(args.dir) if args.cmd == "keygen" else run(args)


if __name__ == "__main__":
    sys.exit(main())
