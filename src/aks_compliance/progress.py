"""A progress line while a long scan evaluates its targets: ``aks-compliance: 1,200 / 5,000 targets scanned,
410/s, about 9 s left``.

On a terminal it appears once the scan has run a couple of seconds and is rewritten in place (then
erased); in a CI log (not a terminal) nothing is written unless asked (``--aksc-progress always``: one
line every few seconds, no carriage returns).
"""

from __future__ import annotations

import time
from typing import Any, Callable

DELAY = 2.0  # seconds of scanning before a line appears: short scans stay quiet
TTY_EVERY = 0.2  # seconds between rewrites on a terminal
LOG_EVERY = 5.0  # seconds between lines in a log


class Progress:
    """Called by the scan: ``start(total)``, ``update(done)`` as often as it likes, ``finish(total)``."""

    def __init__(self, write: Callable[[str], None], erase: Callable[[], None] | None, *,
                 delay: float = DELAY, clock: Callable[[], float] = time.monotonic) -> None:
        self.write = write  # one line (a log), or the line rewritten in place (a terminal: erase is given)
        self.erase = erase
        self.delay = delay
        self.clock = clock
        self.every = TTY_EVERY if erase is not None else LOG_EVERY
        self.total = 0
        self.started = 0.0
        self.last = 0.0
        self.shown = False

    def start(self, total: int) -> None:
        self.total = total
        self.started = self.last = self.clock()
        self.shown = False

    def line(self, done: int, now: float) -> str:
        elapsed = max(now - self.started, 1e-9)
        rate = done / elapsed
        left = f", about {(self.total - done) / rate:.0f} s left" if rate and done < self.total else ""
        # short enough for an 80-column terminal at 100,000s of targets (a rewritten line is cut at its width)
        return f"aks-compliance: {done:,} / {self.total:,} targets scanned, {rate:,.0f}/s{left}"

    def update(self, done: int) -> None:
        now = self.clock()
        if now - self.started < self.delay or now - self.last < self.every:
            return
        self.last = now
        self.shown = True
        self.write(self.line(done, now))

    def finish(self, done: int) -> None:
        if not self.shown:
            return
        if self.erase is not None:
            self.erase()
        else:
            now = self.clock()
            self.write(f"aks-compliance: {done:,} targets scanned in {now - self.started:.1f} s")


def progress_for(config: Any) -> Progress | None:
    """The progress line of a pytest run, per ``--aksc-progress``: None when nothing is to be shown."""
    if hasattr(config, "workerinput"):
        return None  # a pytest-xdist worker has no terminal of its own
    mode = config.getoption("aksc_progress", "auto")
    tr = config.pluginmanager.get_plugin("terminalreporter")
    if mode == "never" or tr is None or config.option.verbose < -1:
        return None
    # The scan runs while pytest collects, when pytest captures output (what a collector prints is shown only
    # if collecting fails): each write steps out of the capture, as pytest's own collection line does.
    capman = config.pluginmanager.get_plugin("capturemanager")

    def uncaptured(write: Callable[..., None]) -> Callable[..., None]:
        if capman is None:
            return write

        def out(*args: Any, **kwargs: Any) -> None:
            with capman.global_and_fixture_disabled():
                write(*args, **kwargs)
        return out

    if getattr(tr, "isatty", False):
        rewrite = uncaptured(tr.rewrite)
        return Progress(lambda text: rewrite(text, erase=True), lambda: rewrite("", erase=True), delay=DELAY)
    if mode == "always":
        return Progress(uncaptured(tr.write_line), None, delay=DELAY)
    return None
