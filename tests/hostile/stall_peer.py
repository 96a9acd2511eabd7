#!/usr/bin/env python3
"""stall_peer: holds connections in the middle of a frame (memory exhaustion).

usage: stall_peer.py HOST PORT COUNT SECONDS --key NODE_JSON --server-key HEX
                     [--frame BYTES] [--unsent BYTES] [--preauth]

Speaks ZMTP 3.1 and the CurveZMQ handshake (ZeroMQ RFC 23, RFC 26) itself,
with a node key that may be enrolled (node.json from tests/pynode/pynode.py
keygen), so that it can do what libzmq never does: after the handshake, send
the header of a MESSAGE frame of --frame bytes (default just under the
server's 1 MiB + 33 limit) and all of its body but the last --unsent bytes
(default 300), then hold.  COUNT connections one after the other, held for
SECONDS.  Prints "stall: holding" once all were tried, then:
  stall: tried=N admitted=A refused=R stalled-bytes=B closed-by-server=C
         first-close-s=F last-close-s=L
(admitted: handshake completed with READY; refused: ERROR or a close during
the handshake; close times are seconds after the frame was stalled).  With
--preauth the frame is stalled right after the greeting, in place of the
CurveZMQ HELLO: no key is needed, and "admitted" counts greetings answered.
Test tool only (tests/hostile/test_exhaustion.sh).
"""
import argparse
import json
import os
import resource
import select
import signal
import socket
import struct
import sys
import time

import nacl.bindings as nb


def frame(body, command):
    flags = 0x04 if command else 0x00
    if len(body) > 255:
        return bytes([flags | 0x02]) + struct.pack(">Q", len(body)) + body
    return bytes([flags, len(body)]) + body


def recv_exact(s, n):
    out = b""
    while len(out) < n:
        chunk = s.recv(n - len(out))
        if not chunk:
            raise ConnectionError("closed")
        out += chunk
    return out


def recv_frame(s):
    flags = recv_exact(s, 1)[0]
    size = struct.unpack(">Q", recv_exact(s, 8))[0] if flags & 0x02 else recv_exact(s, 1)[0]
    if size > 65536:
        raise ConnectionError("unexpected large frame")
    return flags, recv_exact(s, size)


def metadata(props):
    out = b""
    for k, v in props.items():
        out += bytes([len(k)]) + k.encode() + struct.pack(">I", len(v)) + v
    return out


def greet(s):
    """ZMTP 3.1 greeting for the CURVE mechanism; True when the server answers in kind."""
    s.sendall(b"\xff" + bytes(8) + b"\x7f" + b"\x03\x01" + b"CURVE".ljust(20, b"\0") + b"\x00" +
              bytes(31))
    g = recv_exact(s, 64)
    return g[0] == 0xFF and g[9] == 0x7F and g[12:17] == b"CURVE"


def handshake(s, c_pk, c_sk, s_pk):
    """CurveZMQ client handshake; returns (our transient sk, server transient pk) or None."""
    if not greet(s):
        return None
    t_pk, t_sk = nb.crypto_box_keypair()
    nonce = 1
    hello_box = nb.crypto_box(bytes(64), b"CurveZMQHELLO---" + struct.pack(">Q", nonce), s_pk, t_sk)
    s.sendall(frame(b"\x05HELLO" + b"\x01\x00" + bytes(72) + t_pk + struct.pack(">Q", nonce) +
                    hello_box, True))
    _, w = recv_frame(s)
    if not w.startswith(b"\x07WELCOME") or len(w) != 168:
        return None
    plain = nb.crypto_box_open(w[24:], b"WELCOME-" + w[8:24], s_pk, t_sk)
    st_pk, cookie = plain[:32], plain[32:128]
    vnonce = os.urandom(16)
    vouch = vnonce + nb.crypto_box(t_pk + s_pk, b"VOUCH---" + vnonce, st_pk, c_sk)
    nonce += 1
    box = nb.crypto_box(c_pk + vouch + metadata({"Socket-Type": b"DEALER"}),
                        b"CurveZMQINITIATE" + struct.pack(">Q", nonce), st_pk, t_sk)
    s.sendall(frame(b"\x08INITIATE" + cookie + struct.pack(">Q", nonce) + box, True))
    _, r = recv_frame(s)
    if not r.startswith(b"\x05READY"):
        return None
    return t_sk, st_pk


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("host")
    ap.add_argument("port", type=int)
    ap.add_argument("count", type=int)
    ap.add_argument("seconds", type=float)
    ap.add_argument("--key", required=True)
    ap.add_argument("--server-key", required=True)
    ap.add_argument("--frame", type=int, default=1024 * 1024 + 33 - 256)
    ap.add_argument("--unsent", type=int, default=300)
    ap.add_argument("--preauth", action="store_true")
    a = ap.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < a.count + 64:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, a.count + 64), hard))
    with open(a.key, encoding="utf-8") as f:
        seed = bytes.fromhex(json.load(f)["seed"])
    pk, sk = nb.crypto_sign_seed_keypair(seed)
    c_pk = nb.crypto_sign_ed25519_pk_to_curve25519(pk)
    c_sk = nb.crypto_sign_ed25519_sk_to_curve25519(sk)
    s_pk = nb.crypto_sign_ed25519_pk_to_curve25519(bytes.fromhex(a.server_key))
    body = os.urandom(a.frame - a.unsent)
    # A long data frame (the MESSAGE command), or before authentication a long command frame.
    header = bytes([0x06 if a.preauth else 0x02]) + struct.pack(">Q", a.frame)
    held, admitted, refused, sent = [], 0, 0, 0
    for _ in range(a.count):
        s = socket.create_connection((a.host, a.port), timeout=15)
        try:
            ok = greet(s) if a.preauth else handshake(s, c_pk, c_sk, s_pk)
        except (OSError, ConnectionError, nacl_error()):
            ok = None
        if not ok:
            refused += 1
            s.close()
            continue
        admitted += 1
        s.sendall(header + body)
        sent += len(header) + len(body)
        s.setblocking(False)
        held.append([s, time.monotonic(), None])
    print("stall: holding", flush=True)
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    end = time.monotonic() + a.seconds
    while time.monotonic() < end and not stop and any(h[2] is None for h in held):
        live = [h[0] for h in held if h[2] is None]
        readable, _, _ = select.select(live, [], [], 0.2)
        for s in readable:
            try:
                data = s.recv(65536)
            except OSError:
                data = b""
            if not data:
                for h in held:
                    if h[0] is s:
                        h[2] = time.monotonic() - h[1]
    closes = sorted(h[2] for h in held if h[2] is not None)
    print(f"stall: tried={a.count} admitted={admitted} refused={refused} stalled-bytes={sent} "
          f"closed-by-server={len(closes)} first-close-s={closes[0] if closes else -1:.1f} "
          f"last-close-s={closes[-1] if closes else -1:.1f}", flush=True)
    for h in held:
        h[0].close()
    return 0


def nacl_error():
    import nacl.exceptions
    return nacl.exceptions.CryptoError


if __name__ == "__main__":
    sys.exit(main())
