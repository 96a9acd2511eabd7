"""A small Chrome DevTools Protocol client over Debian's python3-websocket:
starts Debian's chromium headless, evaluates JavaScript in the page, waits
for conditions, emulates a phone or desktop width and saves screenshots.
Nothing is downloaded; the browser talks only to the addresses it is given.
"""
import base64
import json
import os
import re
import shutil
import subprocess
import tempfile
import time
import urllib.request

import websocket  # Debian package python3-websocket


class CDPError(Exception):
    pass


class Browser:
    def __init__(self, timeout=60):
        exe = shutil.which("chromium") or shutil.which("chromium-browser")
        if not exe:
            raise CDPError("chromium is not installed")
        self.profile = tempfile.mkdtemp(prefix="rz-cdp-")
        self.proc = subprocess.Popen(
            [exe, "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic",
             "--no-first-run", "--no-default-browser-check", "--disable-background-networking",
             "--disable-component-update", "--disable-sync", "--disable-extensions",
             "--disable-default-apps", "--mute-audio", "--disable-features=Translate,MediaRouter",
             "--ignore-certificate-errors", "--remote-allow-origins=*",
             "--remote-debugging-port=0", f"--user-data-dir={self.profile}",
             "--window-size=1280,900", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        port = None
        deadline = time.time() + timeout
        while time.time() < deadline and port is None:
            line = self.proc.stderr.readline()
            if not line:
                if self.proc.poll() is not None:
                    raise CDPError("chromium exited at start")
                continue
            m = re.search(r"DevTools listening on ws://[^:]+:(\d+)/", line)
            if m:
                port = int(m.group(1))
        if port is None:
            self.close()
            raise CDPError("chromium did not open its DevTools port")
        targets = json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10))
        page = next(t for t in targets if t.get("type") == "page")
        self.ws = websocket.create_connection(page["webSocketDebuggerUrl"], timeout=timeout,
                                              suppress_origin=True)
        self.next_id = 0
        self.call("Page.enable")
        self.call("Runtime.enable")

    def close(self):
        try:
            self.ws.close()
        except Exception:
            pass
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        shutil.rmtree(self.profile, ignore_errors=True)

    def call(self, method, **params):
        self.next_id += 1
        mid = self.next_id
        self.ws.send(json.dumps({"id": mid, "method": method, "params": params}))
        while True:
            msg = json.loads(self.ws.recv())
            if msg.get("id") == mid:
                if "error" in msg:
                    raise CDPError(f"{method}: {msg['error']}")
                return msg.get("result", {})

    def eval(self, expr):
        """Value of a JavaScript expression (promises awaited)."""
        r = self.call("Runtime.evaluate", expression=expr, awaitPromise=True, returnByValue=True)
        if "exceptionDetails" in r:
            d = r["exceptionDetails"]
            text = d.get("exception", {}).get("description") or d.get("text")
            raise CDPError(f"JavaScript failed: {text}\n  in: {expr[:200]}")
        return r.get("result", {}).get("value")

    def wait(self, expr, what, timeout=45):
        deadline = time.time() + timeout
        while time.time() < deadline:
            try:
                v = self.eval(f"!!({expr})")
            except CDPError:
                v = None
            if v:
                return v
            time.sleep(0.1)
        raise CDPError(f"timed out waiting for {what}")

    def goto(self, url):
        self.call("Page.navigate", url=url)
        self.wait("document.readyState === 'complete'", f"{url} to load")

    def width(self, w, h=900):
        self.call("Emulation.setDeviceMetricsOverride", width=w, height=h,
                  deviceScaleFactor=1, mobile=w < 500)

    def screenshot(self, path):
        """The whole page (not only the viewport) as PNG."""
        m = self.call("Page.getLayoutMetrics")
        size = m.get("cssContentSize") or m["contentSize"]
        vw = m.get("cssLayoutViewport", m.get("layoutViewport"))["clientWidth"]
        h = min(int(size["height"]) + 1, 6000)
        r = self.call("Page.captureScreenshot", format="png", captureBeyondViewport=True,
                      clip={"x": 0, "y": 0, "width": vw, "height": h, "scale": 1})
        with open(path, "wb") as f:
            f.write(base64.b64decode(r["data"]))
        return os.path.getsize(path)
