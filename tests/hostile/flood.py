#!/usr/bin/env python3
"""flood: holds many idle TCP connections to a server (descriptor starvation).

usage: flood.py HOST PORT COUNT SECONDS [--source ADDR] [--reconnect]

Opens COUNT connections (non-blocking, so a full accept queue does not stop
it), sends nothing and holds them for SECONDS.  With --reconnect every
connection the server closes or refuses is opened again at once, which keeps
the pressure on a server that times idle connections out.  Prints "flood:
ready" when all COUNT were attempted, then one summary line:
  flood: attempts=A established=E closed-by-server=C refused=R held-at-end=H
Test tool only (tests/hostile/test_starvation.sh).
"""
import argparse
import errno
import resource
import selectors
import signal
import socket
import sys
import time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("host")
    ap.add_argument("port", type=int)
    ap.add_argument("count", type=int)
    ap.add_argument("seconds", type=float)
    ap.add_argument("--source")
    ap.add_argument("--reconnect", action="store_true")
    a = ap.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = a.count + 64
    if soft < want:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (want, max(hard, want)))
        except (ValueError, OSError):  # not root: as far as the hard limit goes
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    sel = selectors.DefaultSelector()
    stats = {"attempts": 0, "established": 0, "closed": 0, "refused": 0}

    def open_one():
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if a.source:
            s.bind((a.source, 0))
        s.setblocking(False)
        stats["attempts"] += 1
        rc = s.connect_ex((a.host, a.port))
        if rc not in (0, errno.EINPROGRESS):
            stats["refused"] += 1
            s.close()
            return False
        sel.register(s, selectors.EVENT_WRITE, "connecting")
        return True

    for _ in range(a.count):
        open_one()
    print("flood: ready", flush=True)
    end = time.monotonic() + a.seconds
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    while time.monotonic() < end and not stop:
        for key, _ in sel.select(timeout=0.2):
            s = key.fileobj
            if key.data == "connecting":
                err = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                if err:
                    stats["refused"] += 1
                    sel.unregister(s)
                    s.close()
                    if a.reconnect:
                        open_one()
                    continue
                stats["established"] += 1
                sel.modify(s, selectors.EVENT_READ, "held")
            else:
                try:
                    data = s.recv(4096)
                except OSError:
                    data = b""
                if data:
                    continue  # the server's greeting: keep holding
                stats["closed"] += 1
                sel.unregister(s)
                s.close()
                if a.reconnect:
                    open_one()
    held = sum(1 for k in sel.get_map().values() if k.data == "held")
    print(f"flood: attempts={stats['attempts']} established={stats['established']} "
          f"closed-by-server={stats['closed']} refused={stats['refused']} held-at-end={held}",
          flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
