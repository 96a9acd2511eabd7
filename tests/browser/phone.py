#!/usr/bin/env python3
"""The dashboard at a true 400-pixel phone width, through the DevTools protocol.

Headless chromium will not open a window narrower than 500 px, so a
--window-size of 400 is not a phone.  This drives chromium over its
DevTools protocol instead (a minimal WebSocket client, standard library
only): it sets the device metrics of a 400 x 900 phone (mobile, scale 1),
loads URL, waits until the page says it is ready, reads the page's width
and, when asked, saves a full-page PNG.

Usage: phone.py CHROMIUM URL [PNG]
Prints one JSON line {"state":..,"inner":..,"scroll":..,"overflow":[..]};
exit 0 when the page is ready and nothing is wider than the 400-px screen.
"""
import base64
import json
import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time
import urllib.request

WIDTH, HEIGHT = 400, 900


class Ws:
    """The client side of RFC 6455, enough for DevTools: text frames, masked."""

    def __init__(self, url):
        assert url.startswith("ws://")
        hostport, path = url[5:].split("/", 1)
        host, port = hostport.split(":")
        self.s = socket.create_connection((host, int(port)), timeout=30)
        key = base64.b64encode(os.urandom(16)).decode()
        self.s.sendall((f"GET /{path} HTTP/1.1\r\nHost: {hostport}\r\nUpgrade: websocket\r\n"
                        f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                        "Sec-WebSocket-Version: 13\r\n\r\n").encode())
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self.s.recv(4096)
            if not chunk:
                raise RuntimeError("websocket handshake failed")
            head += chunk
        if b" 101 " not in head.split(b"\r\n", 1)[0]:
            raise RuntimeError("websocket refused: %r" % head[:80])
        self.buf = head.split(b"\r\n\r\n", 1)[1]
        self.next_id = 0

    def _read(self, n):
        while len(self.buf) < n:
            chunk = self.s.recv(1 << 16)
            if not chunk:
                raise RuntimeError("websocket closed")
            self.buf += chunk
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def send(self, text):
        data = text.encode()
        mask = os.urandom(4)
        n = len(data)
        if n < 126:
            hdr = struct.pack("!BB", 0x81, 0x80 | n)
        elif n < 65536:
            hdr = struct.pack("!BBH", 0x81, 0x80 | 126, n)
        else:
            hdr = struct.pack("!BBQ", 0x81, 0x80 | 127, n)
        self.s.sendall(hdr + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(data)))

    def recv(self):
        parts = []
        while True:
            b0, b1 = self._read(2)
            n = b1 & 0x7F
            if n == 126:
                n = struct.unpack("!H", self._read(2))[0]
            elif n == 127:
                n = struct.unpack("!Q", self._read(8))[0]
            payload = self._read(n)
            if b0 & 0x0F == 0x9:  # ping: ignore (chromium does not require pongs here)
                continue
            parts.append(payload)
            if b0 & 0x80:
                return b"".join(parts).decode()

    def call(self, method, **params):
        self.next_id += 1
        mid = self.next_id
        self.send(json.dumps({"id": mid, "method": method, "params": params}))
        while True:
            msg = json.loads(self.recv())
            if msg.get("id") == mid:
                if "error" in msg:
                    raise RuntimeError(f"{method}: {msg['error']}")
                return msg.get("result", {})


def evaluate(ws, expr):
    r = ws.call("Runtime.evaluate", expression=expr, returnByValue=True)
    return r.get("result", {}).get("value")


def main():
    chromium, url = sys.argv[1], sys.argv[2]
    png = sys.argv[3] if len(sys.argv) > 3 else None
    prof = tempfile.mkdtemp(prefix="rz-phone.")
    proc = subprocess.Popen(
        [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-extensions", "--hide-scrollbars", "--remote-debugging-port=0",
         "--remote-debugging-address=127.0.0.1", f"--user-data-dir={prof}", "about:blank"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        port_file = os.path.join(prof, "DevToolsActivePort")
        for _ in range(300):
            if os.path.exists(port_file) and open(port_file).read().strip():
                break
            time.sleep(0.1)
        port = int(open(port_file).read().split()[0])
        targets = json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10))
        page = next(t for t in targets if t.get("type") == "page")
        ws = Ws(page["webSocketDebuggerUrl"])
        ws.call("Emulation.setDeviceMetricsOverride", width=WIDTH, height=HEIGHT,
                deviceScaleFactor=1, mobile=True)
        ws.call("Page.enable")
        ws.call("Page.navigate", url=url)
        state = None
        for _ in range(300):
            state = evaluate(ws, "document.body ? document.body.dataset.state : ''")
            if state in ("ready", "error"):
                break
            time.sleep(0.1)
        time.sleep(0.3)  # charts redraw on their resize observer
        inner = evaluate(ws, "window.innerWidth")
        scroll = evaluate(ws, "document.documentElement.scrollWidth")
        # Anything whose right edge passes the screen's, for the message.
        overflow = evaluate(ws, """Array.from(document.querySelectorAll('body *'))
            .filter(e => e.getBoundingClientRect().right > window.innerWidth + 1)
            .slice(0, 5).map(e => e.tagName + (e.id ? '#' + e.id : '') +
                             (e.className && typeof e.className === 'string' ? '.' + e.className : ''))""")
        if png:
            h = evaluate(ws, "document.documentElement.scrollHeight") or HEIGHT
            ws.call("Emulation.setDeviceMetricsOverride", width=WIDTH, height=min(int(h), 6000),
                    deviceScaleFactor=1, mobile=True)
            time.sleep(0.3)
            shot = ws.call("Page.captureScreenshot", format="png")
            with open(png, "wb") as f:
                f.write(base64.b64decode(shot["data"]))
        print(json.dumps({"state": state, "inner": inner, "scroll": scroll, "overflow": overflow}))
        return 0 if state == "ready" and inner == WIDTH and scroll <= WIDTH and not overflow else 1
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        shutil.rmtree(prof, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
