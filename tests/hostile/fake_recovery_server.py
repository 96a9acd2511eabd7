#!/usr/bin/env python3
"""fake_recovery_server: a hostile server for the node's recovery (PROTOCOL §12).

It speaks RZSYNC/1 with its own CURVE key (the node under test is configured
with it) and serves the log of an old node it makes up itself, signed with
that old node's key, either honestly or with one defect:

  honest            everything right (the node must take it)
  value             a personal value altered (does not open its commitment)
  value-missing     a commitment left unanswered
  value-extra       a value for a field without a commitment
  entry             an entry's bytes altered after signing
  sig               a batch signature made with another key
  head-unsigned     the signature at the head left out
  head-hash         the head the CHUNKs report is not where the chain ends
  other-node        the CHUNK names another old node
  keys-change       the key list changes between CHUNKs
  gap               the second CHUNK skips an entry
  epoch-back        the CHUNKs after the first claim epoch 0 for entries of epoch 1
  old-server        a server from before §12: FETCH is an unknown message type

  fake_recovery_server.py DIR --endpoint EP --mode MODE --spec PROTOCOL.md
      writes DIR/server.hex (Ed25519 public key for the node), DIR/old.hex
      (the old node's id) and DIR/ready, serves until SIGTERM, and writes
      DIR/confirmed when a FETCH_DONE came (which a refusing node never sends).
"""
import argparse
import hashlib
import os
import signal
import sys
import time

import msgpack
import nacl.bindings as nb
import nacl.signing
import zmq
import zmq.utils.z85

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pynode"))
import rzspec  # noqa: E402


def be32(n):
    return n.to_bytes(4, "big")


def be64(n):
    return n.to_bytes(8, "big")


def pack(o):
    return msgpack.packb(o, use_bin_type=True)


class OldLog:
    """A made-up old node: 700 entries (persons with three personal values,
    an event, attendance) in two epochs, batches of 100, signed."""

    def __init__(self, c):
        self.c = c
        self.node_id = os.urandom(8)
        self.key = nacl.signing.SigningKey(os.urandom(32))
        self.entries = []  # (epoch, bytes, {field: (salt, value)}, hash)
        self.sigs = {}  # last_seq -> (epoch, sig)
        hlc = int(time.time() * 1000) << 16
        prev = bytes(32)
        for i in range(700):
            epoch = 0 if i < 400 else 1
            hlc += 1
            pid = be64(hlc) + self.node_id
            vals, fields = {}, {}
            for f, v in ((c["RZ_PF_CNIC"], "35202%07d2" % (1000000 + i)),
                         (c["RZ_PF_NAME"], "Fake Person %03d" % i),
                         (c["RZ_PF_PHONE"], "+92300%07d" % (1000000 + i))):
                salt = os.urandom(16)
                fields[f] = hashlib.blake2b(b"RZ-PII-1" + salt + v.encode(), digest_size=16).digest()
                vals[f] = (salt, v)
            fields[c["RZ_PF_GENDER"]] = 1
            e = pack([1, hlc, c["RZ_T_PERSON"], c["RZ_OP_SET"], pid, dict(sorted(fields.items()))])
            seq = i + 1
            h = hashlib.blake2b(b"RZ-ENTRY-1" + self.node_id + be32(epoch) + be64(seq) + prev + e,
                                digest_size=32).digest()
            prev = h
            self.entries.append((epoch, e, vals, h))
            if seq % 100 == 0:
                self.sigs[seq] = (epoch, self.sign(epoch, seq, h))

    def sign(self, epoch, seq, h, key=None):
        m = b"RZ-BATCH-1" + self.node_id + be32(epoch) + be64(seq) + h
        return (key or self.key).sign(m).signature

    def head(self):
        return len(self.entries), self.entries[-1][3]


def chunk(c, log, frm, mode, server_ms):
    """The CHUNK answering FETCH from frm (at most 250 entries, one epoch)."""
    head_seq, head_hash = log.head()
    old_id = log.node_id
    keys = [[1, log.key.verify_key.encode()]]
    if mode == "head-hash":
        head_hash = bytes(32)
    if mode == "other-node":
        old_id = os.urandom(8)
    if mode == "keys-change" and frm > 1:
        keys = [[1, nacl.signing.SigningKey(os.urandom(32)).verify_key.encode()]]
    if mode == "gap" and frm > 1:
        frm += 1
    epoch = log.entries[frm - 1][0] if frm <= head_seq else 1
    last = frm - 1
    while last < head_seq and last - frm + 1 < 250 and log.entries[last][0] == epoch:
        last += 1
    ents, values, sigs = [], [], []
    for seq in range(frm, last + 1):
        ep, e, vals, h = log.entries[seq - 1]
        i = seq - frm
        if mode == "entry" and seq == 123:
            e = e[:-1] + b"\x02"  # gender 1 -> 2: still a valid entry
        ents.append(e)
        for f in sorted(vals):
            salt, v = vals[f]
            if mode == "value" and seq == 321 and f == c["RZ_PF_NAME"]:
                v = "Mallory"
            if mode == "value-missing" and seq == 321 and f == c["RZ_PF_PHONE"]:
                continue
            values.append([i, f, salt, v])
        if mode == "value-extra" and seq == 321:
            values.append([i, c["RZ_PF_BIRTH_YEAR"], os.urandom(16), "1999"])
        if seq in log.sigs:
            sep, sig = log.sigs[seq]
            if mode == "sig" and seq == 200:
                sig = log.sign(sep, seq, h, nacl.signing.SigningKey(os.urandom(32)))
            if mode == "head-unsigned" and seq == head_seq:
                continue
            sigs.append([seq, sig])
    if mode == "epoch-back" and frm > 1:
        epoch = 0
    return pack([c["RZ_WIRE_SIGNATURE"], c["RZ_PROTO_VERSION"], c["RZ_MSG_CHUNK"], server_ms,
                 old_id, head_seq, head_hash, keys, epoch, frm, last == head_seq, ents,
                 values, sigs])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dir")
    ap.add_argument("--endpoint", required=True)
    ap.add_argument("--mode", required=True)
    ap.add_argument("--spec", required=True)
    a = ap.parse_args()
    c = rzspec.load(a.spec)
    log = OldLog(c)
    seed = os.urandom(32)
    pk, sk = nb.crypto_sign_seed_keypair(seed)
    ctx = zmq.Context()
    s = ctx.socket(zmq.ROUTER)
    s.curve_server = True
    s.curve_secretkey = zmq.utils.z85.encode(nb.crypto_sign_ed25519_sk_to_curve25519(sk))
    s.setsockopt(zmq.LINGER, 0)
    s.bind(a.endpoint)
    with open(os.path.join(a.dir, "server.hex"), "w") as f:
        f.write(pk.hex())
    with open(os.path.join(a.dir, "old.hex"), "w") as f:
        f.write(log.node_id.hex())
    open(os.path.join(a.dir, "ready"), "w").close()
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    hdr = [c["RZ_WIRE_SIGNATURE"], c["RZ_PROTO_VERSION"]]
    while not stop:
        if not s.poll(200):
            continue
        rid, frame = s.recv_multipart()
        m = msgpack.unpackb(frame, raw=False)
        now = int(time.time() * 1000)
        if m[2] == c["RZ_MSG_HELLO"]:
            out = pack(hdr + [c["RZ_MSG_WELCOME"], now, 0, 0, bytes(32), False])
        elif m[2] == c["RZ_MSG_FETCH"] and a.mode == "old-server":
            out = pack(hdr + [c["RZ_MSG_ERROR"], now, c["RZ_E_MSGTYPE"], "unknown message type 32"])
        elif m[2] == c["RZ_MSG_FETCH"]:
            out = chunk(c, log, m[5], a.mode, now)
        elif m[2] == c["RZ_MSG_FETCH_DONE"]:
            open(os.path.join(a.dir, "confirmed"), "w").close()
            out = pack(hdr + [c["RZ_MSG_FETCH_CLOSED"], now, m[4], m[5]])
        else:
            out = pack(hdr + [c["RZ_MSG_ERROR"], now, c["RZ_E_MSGTYPE"], "unexpected"])
        s.send_multipart([rid, out])
    s.close()
    ctx.term()


if __name__ == "__main__":
    main()
