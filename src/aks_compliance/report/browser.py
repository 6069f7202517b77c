"""Open a report in headless Chromium and look at it: console errors, dialogs, DOM queries, screenshot.

Drives Debian's ``chromium`` over the DevTools protocol on a pipe (``--remote-debugging-pipe``: fd 3
in, fd 4 out, NUL-separated JSON), so it needs no Python dependency and no network port. Used by the
browser test, ``make demo`` (the screenshot) and the render benchmark (load time).

    python -m aks_compliance.report.browser reports/report.html --screenshot reports/report.png
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..atomic import write_bytes

FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-extensions", "--disable-default-apps", "--mute-audio", "--hide-scrollbars")
CANDIDATES = ("/usr/bin/chromium", "chromium", "chromium-browser")


def find_chromium() -> str | None:
    env = os.environ.get("AKSC_CHROMIUM")
    for c in ((env,) if env else ()) + CANDIDATES:
        path = c if os.path.isabs(c) else shutil.which(c)
        if path and os.access(path, os.X_OK):
            return path
    return None


class BrowserError(Exception):
    pass


@dataclass
class PageReport:
    url: str
    console: list[dict[str, Any]] = field(default_factory=list)  # every console message: type, text
    exceptions: list[str] = field(default_factory=list)  # uncaught script exceptions
    dialogs: list[str] = field(default_factory=list)  # alert/confirm/prompt opened by the page
    log: list[dict[str, Any]] = field(default_factory=list)  # browser log entries (CSP, network, ...)
    values: dict[str, Any] = field(default_factory=dict)  # results of the evaluated expressions
    load_seconds: float = 0.0

    @property
    def errors(self) -> list[str]:
        out = [f"console.{m['type']}: {m['text']}" for m in self.console if m["type"] in ("error", "assert")]
        out += [f"exception: {e}" for e in self.exceptions]
        out += [f"log.{e.get('level')}: {e.get('text')} ({e.get('source')})" for e in self.log
                if e.get("level") == "error"]
        return out


class Chromium:
    def __init__(self, executable: str | None = None, timeout: float = 60.0, window: tuple[int, int] = (1400, 1000)):
        exe = executable or find_chromium()
        if not exe:
            raise BrowserError("chromium is not installed")
        self.timeout = timeout
        self._profile = tempfile.mkdtemp(prefix="aksc-chromium-")
        to_child_r, self._to_child_w = os.pipe()
        self._from_child_r, from_child_w = os.pipe()

        def child_fds() -> None:  # runs in the child before exec: its fds 3 and 4 are the pipe ends
            a, b = os.dup(to_child_r), os.dup(from_child_w)
            os.dup2(a, 3)
            os.dup2(b, 4)

        self._proc = subprocess.Popen(
            [exe, *FLAGS, f"--user-data-dir={self._profile}", f"--window-size={window[0]},{window[1]}",
             "--remote-debugging-pipe", "about:blank"],
            preexec_fn=child_fds, pass_fds=(3, 4), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE)
        os.close(to_child_r)
        os.close(from_child_w)
        self._buf = b""
        self._id = 0
        self._events: list[dict[str, Any]] = []

    # -- protocol ------------------------------------------------------------------------------
    def _send(self, method: str, params: dict[str, Any] | None = None, session: str | None = None) -> int:
        self._id += 1
        msg: dict[str, Any] = {"id": self._id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        os.write(self._to_child_w, json.dumps(msg).encode("utf-8") + b"\0")
        return self._id

    def _recv(self, deadline: float) -> dict[str, Any]:
        import select
        while b"\0" not in self._buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise BrowserError("timed out waiting for chromium")
            ready, _, _ = select.select([self._from_child_r], [], [], left)
            if not ready:
                continue
            chunk = os.read(self._from_child_r, 1 << 20)
            if not chunk:
                err = self._proc.stderr.read().decode(errors="replace")[-2000:] if self._proc.stderr else ""
                raise BrowserError(f"chromium closed the DevTools pipe: {err}")
            self._buf += chunk
        raw, self._buf = self._buf.split(b"\0", 1)
        return json.loads(raw)

    def call(self, method: str, params: dict[str, Any] | None = None, session: str | None = None) -> dict[str, Any]:
        i = self._send(method, params, session)
        deadline = time.monotonic() + self.timeout
        while True:
            m = self._recv(deadline)
            if m.get("id") == i:
                if "error" in m:
                    raise BrowserError(f"{method}: {m['error']}")
                return m.get("result", {})
            self._events.append(m)

    # -- pages ---------------------------------------------------------------------------------
    def check(self, path: str | Path, expressions: dict[str, str] | None = None,
              screenshot: str | Path | None = None, settle: float = 0.3, pdf: str | Path | None = None) -> PageReport:
        """Load a file, collect console messages, exceptions, dialogs and log entries until load
        (plus ``settle`` seconds), evaluate ``expressions`` (name -> JS), optionally save a PNG and
        print to PDF (as a browser's "Save as PDF" does)."""
        url = Path(path).resolve().as_uri()
        report = PageReport(url=url)
        target = self.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        for domain in ("Page.enable", "Runtime.enable", "Log.enable"):
            self.call(domain, session=session)
        self._events.clear()
        start = time.monotonic()
        self.call("Page.navigate", {"url": url}, session=session)
        deadline = start + self.timeout
        loaded_at = None
        while True:
            if loaded_at is not None and time.monotonic() > loaded_at + settle:
                break
            try:
                m = self._events.pop(0) if self._events else self._recv(
                    min(deadline, (loaded_at + settle) if loaded_at else deadline))
            except BrowserError:
                if loaded_at is not None:
                    break
                raise
            self._event(m, report, session)
            if m.get("method") == "Page.loadEventFired" and m.get("sessionId") == session and loaded_at is None:
                loaded_at = time.monotonic()
                report.load_seconds = loaded_at - start
        for name, expr in (expressions or {}).items():
            res = self.call("Runtime.evaluate", {"expression": expr, "returnByValue": True}, session=session)
            if "exceptionDetails" in res:
                raise BrowserError(f"evaluating {name}: {res['exceptionDetails'].get('text')}")
            report.values[name] = res.get("result", {}).get("value")
        for m in self._events:  # anything that arrived during evaluation
            self._event(m, report, session)
        self._events.clear()
        if screenshot:
            shot = self.call("Page.captureScreenshot", {"format": "png"}, session=session)
            write_bytes(screenshot, base64.b64decode(shot["data"]))
        if pdf:
            printed = self.call("Page.printToPDF", {"printBackground": True, "preferCSSPageSize": False},
                                session=session)
            write_bytes(pdf, base64.b64decode(printed["data"]))
            for m in self._events:  # beforeprint/afterprint handlers may log
                self._event(m, report, session)
            self._events.clear()
        self.call("Target.closeTarget", {"targetId": target})
        return report

    def _event(self, m: dict[str, Any], report: PageReport, session: str) -> None:
        method, p = m.get("method"), m.get("params", {})
        if method == "Runtime.consoleAPICalled":
            text = " ".join(str(a.get("value", a.get("description", ""))) for a in p.get("args", []))
            report.console.append({"type": p.get("type"), "text": text})
        elif method == "Runtime.exceptionThrown":
            d = p.get("exceptionDetails", {})
            report.exceptions.append(d.get("exception", {}).get("description") or d.get("text", ""))
        elif method == "Log.entryAdded":
            e = p.get("entry", {})
            report.log.append({"level": e.get("level"), "text": e.get("text"), "source": e.get("source")})
        elif method == "Page.javascriptDialogOpening":
            report.dialogs.append(p.get("message", ""))
            self._send("Page.handleJavaScriptDialog", {"accept": True}, session=session)

    def close(self) -> None:
        try:
            if self._proc.poll() is None:
                try:
                    self._send("Browser.close")
                except OSError:
                    pass
                try:
                    self._proc.wait(10)
                except subprocess.TimeoutExpired:
                    self._proc.kill()
                    self._proc.wait(5)
        finally:
            for fd in (self._to_child_w, self._from_child_r):
                try:
                    os.close(fd)
                except OSError:
                    pass
            if self._proc.stderr:
                self._proc.stderr.close()
            shutil.rmtree(self._profile, ignore_errors=True)

    def __enter__(self) -> "Chromium":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m aks_compliance.report.browser",
                                 description="Load an HTML report in headless Chromium; report console errors.")
    ap.add_argument("html")
    ap.add_argument("--screenshot", metavar="PNG")
    ap.add_argument("--width", type=int, default=1400)
    ap.add_argument("--height", type=int, default=1600)
    args = ap.parse_args(argv)
    if not find_chromium():
        print("chromium is not installed: no screenshot (make test installs it when it can)", file=sys.stderr)
        return 0
    with Chromium(window=(args.width, args.height)) as browser:
        rep = browser.check(args.html, screenshot=args.screenshot)
    for e in rep.errors:
        print(e, file=sys.stderr)
    print(f"{args.html}: loaded in {rep.load_seconds:.2f} s, {len(rep.errors)} console error(s)"
          + (f"; screenshot {args.screenshot}" if args.screenshot else ""))
    return 1 if rep.errors or rep.dialogs else 0


if __name__ == "__main__":
    sys.exit(main())
